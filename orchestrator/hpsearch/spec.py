"""The ``search:`` block of a method: a validated search space, sampler, metric and pruner.

A search on (method, task) becomes nodes (``orchestrator.nodes``): ``samples`` sample nodes (each
under the search's seeds) whose hyperparameters Optuna proposes when the node is handed out, and
the method's ordinary seed nodes, which train with the best configuration found and depend on every
sample. Their ids hash the search's definition, not the values it finds, so the DAG is fixed at
plan time and a stage-two search can stand on stage-one adapters that an earlier search chose.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from orchestrator.contract.hparams import is_int, is_number, show

if TYPE_CHECKING:
    from orchestrator.sweep.checks import Checker

SPACE_TYPES = ("loguniform", "uniform", "int", "categorical")
SAMPLERS = ("tpe", "random")
PRUNERS = ("none", "median")
METRICS = {"dev_score": "maximize", "dev_loss": "minimize"}
SEARCH_KEYS = {"space", "samples", "sampler", "seed", "seeds", "metric", "pruner"}


@dataclass
class SearchSpec:
    """A validated ``search:`` block."""

    space: dict[str, dict]
    samples: int
    sampler: str = "tpe"
    seed: int = 0
    seeds: list[int] = field(default_factory=lambda: [0])
    metric: str = "dev_score"
    pruner: str = "none"

    def to_dict(self) -> dict:
        """Plain data (for ids and the plan)."""
        return asdict(self)


def parse_search(c: Checker, raw, key: str, hparam_keys: set[str]) -> SearchSpec | None:
    """Validate a ``search:`` block; problems go to ``c``."""
    raw = c.mapping(raw, key)
    if raw is None:
        return None
    c.known_keys(raw, SEARCH_KEYS, key)
    space_raw = c.mapping(raw.get("space"), f"{key}.space") or {}
    if not space_raw:
        c.add(
            f"{key}.space",
            "missing or empty; e.g. space: {lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}}",
        )
    space = {}
    for name, dist in space_raw.items():
        dkey = f"{key}.space.{name}"
        if name not in hparam_keys:
            c.add(dkey, f"not a hyperparameter; searchable: {', '.join(sorted(hparam_keys))}")
            continue
        dist = c.mapping(dist, dkey)
        if dist is None:
            continue
        kind = dist.get("type")
        if kind not in SPACE_TYPES:
            c.add(f"{dkey}.type", f"expected one of {', '.join(SPACE_TYPES)}, got {show(kind)}")
            continue
        if kind == "categorical":
            c.known_keys(dist, {"type", "choices"}, dkey)
            choices = dist.get("choices")
            if not isinstance(choices, list) or not choices:
                c.add(f"{dkey}.choices", f"expected a non-empty list, got {show(choices)}")
                continue
        else:
            c.known_keys(dist, {"type", "low", "high"}, dkey)
            low, high = dist.get("low"), dist.get("high")
            check = is_int if kind == "int" else is_number
            if not check(low) or not check(high) or not low < high:
                what = "integers" if kind == "int" else "numbers"
                c.add(dkey, f"expected {what} low < high, got low={show(low)}, high={show(high)}")
                continue
            if kind == "loguniform" and low <= 0:
                c.add(f"{dkey}.low", f"a log-uniform range must be positive, got {low}")
                continue
        space[name] = dict(dist)
    samples = raw.get("samples")
    if not is_int(samples) or samples < 1:
        c.add(f"{key}.samples", f"expected a positive integer, got {show(samples)}")
        samples = 1
    sampler = raw.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        c.add(f"{key}.sampler", f"expected one of {', '.join(SAMPLERS)}, got {show(sampler)}")
    seed = raw.get("seed", 0)
    if not is_int(seed) or seed < 0:
        c.add(f"{key}.seed", f"expected a non-negative integer, got {show(seed)}")
    seeds = c.seeds(raw["seeds"], f"{key}.seeds") if "seeds" in raw else [0]
    metric = raw.get("metric", "dev_score")
    if metric not in METRICS:
        c.add(f"{key}.metric", f"expected one of {', '.join(METRICS)}, got {show(metric)}")
    pruner = raw.get("pruner", "none")
    if pruner not in PRUNERS:
        c.add(f"{key}.pruner", f"expected one of {', '.join(PRUNERS)}, got {show(pruner)}")
    return SearchSpec(space, samples, sampler, seed, seeds or [0], metric, pruner)


def group_id(identity: dict) -> str:
    """The id of a search group: a hash of what defines the search."""
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return "search-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
