"""Hyperparameter search inside the DAG: the ``search:`` block of a method and its Optuna studies.

A search on (method, task) becomes nodes: ``samples`` sample nodes (each under the search's seeds)
whose hyperparameters Optuna proposes when the node is handed out, and the method's ordinary seed
nodes, which train with the best configuration found and depend on every sample. Their ids hash
the search's definition, not the values it finds, so the DAG is fixed at plan time and a stage-two
search can stand on stage-one adapters that an earlier search chose.

One Optuna study per search group, driven through ask/tell and persisted in a journal file beside
the results, so a killed and rerun sweep continues the same study: finished samples are neither
lost nor repeated, and a sample that was in flight gets the parameters it had been given.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from orchestrator.spec_checks import Checker, is_int, is_number, show

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


def _distributions(space: dict[str, dict]):
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out = {}
    for name, d in space.items():
        if d["type"] == "categorical":
            out[name] = CategoricalDistribution(d["choices"])
        elif d["type"] == "int":
            out[name] = IntDistribution(d["low"], d["high"])
        else:
            out[name] = FloatDistribution(
                float(d["low"]), float(d["high"]), log=d["type"] == "loguniform"
            )
    return out


class SearchStudies:
    """The Optuna studies of a run's search groups: ask, tell, prune, best configuration."""

    def __init__(self, groups: dict[str, dict], folder: str):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        Path(folder).mkdir(parents=True, exist_ok=True)
        self.groups = groups  # group id -> {"spec": SearchSpec dict, ...}
        self.studies = {}
        self.trial_numbers: dict[tuple[str, int], int] = {}
        self.live: dict[tuple[str, int], object] = {}  # optuna.Trial objects asked in this run
        for gid, g in groups.items():
            spec = g["spec"]
            storage = JournalStorage(JournalFileBackend(str(Path(folder) / f"{gid}.journal")))
            sampler = (
                optuna.samplers.TPESampler(seed=spec["seed"])
                if spec["sampler"] == "tpe"
                else optuna.samplers.RandomSampler(seed=spec["seed"])
            )
            pruner = (
                optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
                if spec["pruner"] == "median"
                else optuna.pruners.NopPruner()
            )
            study = optuna.create_study(
                study_name=gid,
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                load_if_exists=True,
                direction=METRICS[spec["metric"]],
            )
            self.studies[gid] = study
            for t in study.get_trials(deepcopy=False):
                if "index" in t.user_attrs:
                    self.trial_numbers[(gid, t.user_attrs["index"])] = t.number

    def params(self, gid: str, index: int) -> dict:
        """The parameters of sample ``index``: the ones it was given before, or newly asked."""
        study = self.studies[gid]
        number = self.trial_numbers.get((gid, index))
        if number is not None:
            return dict(study.trials[number].params)
        trial = study.ask(_distributions(self.groups[gid]["spec"]["space"]))
        trial.set_user_attr("index", index)
        self.trial_numbers[(gid, index)] = trial.number
        self.live[(gid, index)] = trial
        return dict(trial.params)

    def _state(self, gid: str, index: int):
        number = self.trial_numbers.get((gid, index))
        return None if number is None else self.studies[gid].trials[number].state

    def tell(self, gid: str, index: int, value: float | None, pruned: bool = False) -> None:
        """Record a sample's outcome (once: a finished sample keeps its value)."""
        import optuna

        state = self._state(gid, index)
        if state is None or state.is_finished():
            return
        study = self.studies[gid]
        number = self.trial_numbers[(gid, index)]
        if pruned:
            study.tell(number, state=optuna.trial.TrialState.PRUNED)
        elif value is None or not math.isfinite(value):
            study.tell(number, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(number, value)

    def add_finished(self, gid: str, index: int, params: dict, value: float) -> None:
        """Record a sample finished in an earlier run whose study trial is missing."""
        import optuna

        if self._state(gid, index) is not None:
            return
        trial = optuna.trial.create_trial(
            params=params,
            distributions=_distributions(self.groups[gid]["spec"]["space"]),
            value=value,
            user_attrs={"index": index},
        )
        self.studies[gid].add_trial(trial)
        self.trial_numbers[(gid, index)] = len(self.studies[gid].trials) - 1

    def report(self, gid: str, index: int, value: float, step: int) -> bool:
        """Report an intermediate value; True when the pruner says to stop the sample.

        Only samples asked in this run can be pruned; one resumed from an earlier run trains on.
        """
        trial = self.live.get((gid, index))
        if trial is None or self._state(gid, index).is_finished():
            return False
        trial.report(value, step)
        return trial.should_prune()

    def best(self, gid: str) -> dict | None:
        """The best finished sample's parameters, or None when no sample finished."""
        study = self.studies[gid]
        done = [t for t in study.trials if t.state.name == "COMPLETE"]
        if not done:
            return None
        return dict(study.best_trial.params)

    def summary(self, gid: str) -> list[dict]:
        """Every sample: index, state, parameters, value."""
        return [
            {
                "index": t.user_attrs.get("index"),
                "state": t.state.name,
                "params": dict(t.params),
                "value": t.value,
            }
            for t in self.studies[gid].trials
        ]
