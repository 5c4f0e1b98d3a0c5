"""Optuna studies of a run's searches, driven through ask/tell.

One study per search group, persisted in a journal with the results (``<results>/<sweep>/search/``,
also on a results URI: ``orchestrator.hpsearch.journal``), written after every update, so a killed
and rerun sweep, or one continued by a new head node, continues the same study: finished samples
are neither lost nor repeated, and a sample that was in flight gets the parameters it had been
given.
"""

from __future__ import annotations

import math

from orchestrator.sweep.search import METRICS
from orchestrator.uri import join


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
        """``folder``: where the journals are, a path or a results URI."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        from optuna.storages import JournalStorage

        from orchestrator.hpsearch.journal import ResultsJournal

        self.groups = groups  # group id -> {"spec": SearchSpec dict, ...}
        self.studies = {}
        self.trial_numbers: dict[tuple[str, int], int] = {}
        self.live: dict[tuple[str, int], object] = {}  # optuna.Trial objects asked in this run
        for gid, g in groups.items():
            spec = g["spec"]
            storage = JournalStorage(ResultsJournal(join(folder, f"{gid}.journal")))
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
