"""The ``fewshot:`` block of a sweep file: the paper's few-shot transfer protocol.

For every k, every target task T and seed: the stage-one methods train on k examples of T (the
source method's k-shot adapter of T with the source seed is stage two's target adapter), and each
transfer method trains on k examples of T over the full-data source adapters of the other tasks
plus T's k-shot adapter. ``fewshot.sources`` holds the hyperparameters of those full-data adapters
(defaults: the paper's full-data stage one), so they are the same nodes, with the same ids, as a
full sweep's, and a store that holds them needs no retraining.

```yaml
fewshot:
  k: [4, 16, 32, 100]     # train examples of the target task
  dev_limit: 5000         # dev examples kept (the reference code's max_eval_samples); null: all
  sources: {}             # overrides of the full-data source adapters' hyperparameters
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.contract import hparams as hp
from orchestrator.contract.hparams import show
from orchestrator.contract.methods import METHODS, Kind

if TYPE_CHECKING:
    from orchestrator.sweep.checks import Checker

FEWSHOT_KEYS = {"k", "dev_limit", "sources"}
DEFAULT_DEV_LIMIT = 5000


@dataclass
class FewShotSpec:
    """The few-shot settings of a sweep."""

    k: list[int]
    dev_limit: int | None = DEFAULT_DEV_LIMIT
    sources: dict = field(default_factory=dict)  # hparam overrides of the full-data sources

    def run_hparams(self, k: int) -> dict:
        """What a k-shot node adds to its hyperparameters (and so to its id)."""
        extra: dict[str, Any] = {"k": k}
        if self.dev_limit is not None:
            extra["dev_limit"] = self.dev_limit
        return extra


def parse_fewshot(c: Checker, raw: Any, methods: dict) -> FewShotSpec | None:
    """Validate the ``fewshot`` block; problems go to ``c`` under "fewshot.*" keys."""
    raw = c.mapping(raw, "fewshot")
    if raw is None:
        return None
    c.known_keys(raw, FEWSHOT_KEYS, "fewshot")
    # k and dev_limit are hyperparameters of the nodes: checked by their rules in HParams
    ks = raw.get("k")
    if not isinstance(ks, list) or not ks or any(k is None or hp.check_value("k", k) for k in ks):
        c.add("fewshot.k", f"expected a non-empty list of positive integers, got {show(ks)}")
        ks = []
    elif len(set(ks)) != len(ks):
        c.add("fewshot.k", f"values repeat: {ks}")
        ks = list(dict.fromkeys(ks))
    dev_limit = raw.get("dev_limit", DEFAULT_DEV_LIMIT)
    problem = hp.check_value("dev_limit", dev_limit)
    if problem:
        c.add("fewshot.dev_limit", problem)
        dev_limit = DEFAULT_DEV_LIMIT
    sources = c.hparams(c.mapping(raw.get("sources"), "fewshot.sources") or {}, "fewshot.sources")
    for name in methods:
        if name in METHODS and METHODS[name].kind == Kind.JOINT:
            c.add(
                f"methods.{name}",
                "joint methods have no few-shot protocol; remove it from a sweep with fewshot",
            )
    return FewShotSpec(k=list(ks), dev_limit=dev_limit, sources=sources)
