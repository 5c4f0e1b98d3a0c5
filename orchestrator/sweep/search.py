"""The ``search:`` block of a method: a validated search space, sampler, metric and pruner.

A search on (method, task) becomes nodes (``orchestrator.planning.nodes``): ``samples`` sample nodes
(each under the search's seeds) whose hyperparameters Optuna proposes when the node is handed out,
and the method's ordinary seed nodes, which train with the best configuration found and depend on
every sample. Their ids hash the search's definition, not the values it finds, so the DAG is fixed
at plan time and a stage-two search can stand on stage-one adapters that an earlier search chose."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from orchestrator.contract import hparams as hp
from orchestrator.contract.hparams import is_int, is_number, show
from orchestrator.contract.node import content_hash
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
        if _check_distribution(c, name, dist, dkey):
            space[name] = dict(dist)
    samples = raw.get("samples")
    if not is_int(samples) or samples < 1:
        c.add(f"{key}.samples", f"expected a positive integer, got {show(samples)}")
        samples = 1
    sampler = raw.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        c.add(f"{key}.sampler", f"expected one of {', '.join(SAMPLERS)}, got {show(sampler)}")
    seed = raw.get("seed", 0)
    if not c.seed(seed, f"{key}.seed"):
        seed = 0
    seeds = c.seeds(raw["seeds"], f"{key}.seeds") if "seeds" in raw else [0]
    metric = raw.get("metric", "dev_score")
    if not isinstance(metric, str) or metric not in METRICS:
        c.add(f"{key}.metric", f"expected one of {', '.join(METRICS)}, got {show(metric)}")
    pruner = raw.get("pruner", "none")
    if pruner not in PRUNERS:
        c.add(f"{key}.pruner", f"expected one of {', '.join(PRUNERS)}, got {show(pruner)}")
    return SearchSpec(space, samples, sampler, seed, seeds or [0], metric, pruner)


def space_types(name: str) -> tuple[str, ...]:
    """The distributions that can search hyperparameter ``name``: by the kind of its values."""
    legal = hp.FIELDS[name].legal
    if legal.choices or legal.kind in (str, bool):
        return ("categorical",)
    if legal.kind is int:
        return ("int", "categorical")
    return ("loguniform", "uniform", "categorical")


def _check_distribution(c: Checker, name: str, dist: dict, dkey: str) -> bool:
    """Whether ``dist`` searches ``name`` only over its legal values (``hparams.check_value``)."""
    kind = dist.get("type")
    if kind not in SPACE_TYPES:
        c.add(f"{dkey}.type", f"expected one of {', '.join(SPACE_TYPES)}, got {show(kind)}")
        return False
    allowed = space_types(name)
    if kind not in allowed:
        what = hp.FIELDS[name].legal.describe()
        c.add(
            f"{dkey}.type",
            f"{name} takes {what}: search it with {' or '.join(allowed)}, not {kind}",
        )
        return False
    if kind == "categorical":
        c.known_keys(dist, {"type", "choices"}, dkey)
        choices = dist.get("choices")
        if not isinstance(choices, list) or not choices:
            c.add(f"{dkey}.choices", f"expected a non-empty list, got {show(choices)}")
            return False
        ok = True
        for i, choice in enumerate(choices):
            problem = hp.check_value(name, choice)
            if problem:
                c.add(f"{dkey}.choices[{i}]", f"{problem}; a search tries only legal {name} values")
                ok = False
        shown = [repr(v) for v in choices]
        if ok and len(set(shown)) != len(shown):
            c.add(f"{dkey}.choices", f"choices repeat: {choices}")
            ok = False
        return ok
    c.known_keys(dist, {"type", "low", "high"}, dkey)
    low, high = dist.get("low"), dist.get("high")
    check = is_int if kind == "int" else is_number
    if not check(low) or not check(high) or not low < high:
        what = "integers" if kind == "int" else "numbers"
        hint = hp.number_hint(low) or hp.number_hint(high)
        c.add(dkey, f"expected {what} low < high, got low={show(low)}, high={show(high)}{hint}")
        return False
    if kind == "loguniform" and low <= 0:
        c.add(f"{dkey}.low", f"a log-uniform range must be positive, got {low}")
        return False
    ok = True
    for bound, value in (("low", low), ("high", high)):
        problem = hp.check_value(name, value)
        if problem:
            c.add(f"{dkey}.{bound}", f"{problem}; a search tries only legal {name} values")
            ok = False
    return ok


def group_id(identity: dict) -> str:
    """The id of a search group: a hash of what defines the search."""
    return "search-" + content_hash(identity, 16)
