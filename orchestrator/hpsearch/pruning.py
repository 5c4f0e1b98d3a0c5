"""A Tune scheduler that stops the search samples the Optuna pruner gives up on, and no others."""

from __future__ import annotations

from ray.tune.schedulers import FIFOScheduler, TrialScheduler


class PruningScheduler(FIFOScheduler):
    """FIFO for every trial; STOP for a trial the searcher marked for pruning."""

    def __init__(self, searcher):
        super().__init__()
        self.searcher = searcher

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        if trial.trial_id in self.searcher.to_prune:
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE
