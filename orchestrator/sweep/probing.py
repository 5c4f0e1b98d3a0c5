"""The ``probing:`` block of a sweep file: the paper's probing experiments.

Single-source probing: for every target task T, source task s, omega and seed, a new head is trained
on T over s's frozen stage-one adapter whose output is scaled by omega (0 is the plain backbone, 1
the adapter as trained). Pairwise probing: T's own adapter and a partner task's (the paper: MNLI),
each scaled by an omega of a grid, their outputs summed. A probe of seed k stands on the source
adapters of seed k (as the reference code copies them), planned with the paper's stage-one
hyperparameters (``source_training`` overrides them), so they are a full sweep's nodes.

```yaml
probing:
  sources: [cb, copa, rte, mrpc]      # single-source probing over these tasks' adapters ([]: none)
  omegas: [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
  targets: null                       # default: every task of the sweep
  pairwise: {with: mnli, targets: [cb, copa], omegas: [0.0, 0.5, 1.0]}  # optional grid
  source_training: {}                 # overrides of the source adapters' hyperparameters
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.contract.hparams import is_number, show

if TYPE_CHECKING:
    from orchestrator.sweep.checks import Checker

PROBING_KEYS = {"sources", "omegas", "targets", "pairwise", "source_training"}
PAIRWISE_KEYS = {"with", "targets", "omegas"}


@dataclass
class PairwiseSpec:
    """The pairwise grid: each target's own adapter and ``partner``'s, each over ``omegas``."""

    partner: str
    targets: list[str]
    omegas: list[float]


@dataclass
class ProbingSpec:
    """The probing settings of a sweep."""

    sources: list[str]
    omegas: list[float]
    targets: list[str]  # resolved: the sweep's tasks when the file gives none
    pairwise: PairwiseSpec | None = None
    source_training: dict = field(default_factory=dict)


def parse_probing(c: Checker, raw: Any, tasks: list[str]) -> ProbingSpec | None:
    """Validate the ``probing`` block against the sweep's ``tasks``; problems go to ``c``."""
    raw = c.mapping(raw, "probing")
    if raw is None:
        return None
    c.known_keys(raw, PROBING_KEYS, "probing")
    sources = (
        [] if raw.get("sources") == [] else _tasks(c, raw.get("sources"), "probing.sources", tasks)
    )
    targets = _tasks(c, raw.get("targets"), "probing.targets", tasks) or list(tasks)
    omegas = _omegas(c, raw.get("omegas"), "probing.omegas")
    pairwise = None
    if raw.get("pairwise") is not None:
        pw = c.mapping(raw["pairwise"], "probing.pairwise") or {}
        c.known_keys(pw, PAIRWISE_KEYS, "probing.pairwise")
        partner = pw.get("with")
        if partner not in tasks:
            c.add(
                "probing.pairwise.with",
                f"expected one of the tasks of the sweep's benchmarks ({', '.join(tasks)}), "
                f"got {show(partner)}",
            )
        pw_targets = _tasks(c, pw.get("targets"), "probing.pairwise.targets", tasks) or list(tasks)
        pw_omegas = _omegas(c, pw.get("omegas", omegas), "probing.pairwise.omegas")
        pairwise = PairwiseSpec(str(partner), pw_targets, pw_omegas)
    if not sources and pairwise is None:
        c.add("probing.sources", "no probes: give sources to probe, or a pairwise grid, or both")
    training = c.mapping(raw.get("source_training"), "probing.source_training") or {}
    source_training = c.hparams(training, "probing.source_training")
    return ProbingSpec(sources, omegas, targets, pairwise, source_training)


def _tasks(c: Checker, value: Any, key: str, tasks: list[str]) -> list:
    if value is None:
        return []
    if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
        c.add(key, f"expected a non-empty list of task names, got {show(value)}")
        return []
    unknown = [t for t in value if t not in tasks]
    if unknown:
        c.add(
            key,
            f"not tasks of this sweep: {', '.join(unknown)}; the tasks of its benchmarks: "
            f"{', '.join(tasks)}",
        )
    if len(set(value)) != len(value):
        c.add(key, f"tasks repeat: {value}")
    return [t for t in tasks if t in value]  # the sweep's order


def _omegas(c: Checker, value: Any, key: str) -> list[float]:
    ok = isinstance(value, list) and value and all(is_number(w) for w in value)
    if not ok or not all(math.isfinite(w) for w in value):
        c.add(key, f"expected a non-empty list of finite numbers, got {show(value)}")
        return []
    if len(set(value)) != len(value):
        c.add(key, f"omegas repeat: {value}")
    return [float(w) for w in value]
