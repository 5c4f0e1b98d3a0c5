"""A Tune scheduler that stops the search samples the Optuna pruner gives up on, and no others."""

from __future__ import annotations

import itertools

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler


class PruningScheduler(FIFOScheduler):
    """FIFO for every trial; STOP for a trial the searcher marked for pruning."""

    def __init__(self, searcher):
        super().__init__()
        self.searcher = searcher
        self._added: dict[str, int] = {}  # live trial id -> when Tune (re)queued it
        self._counter = itertools.count()

    def on_trial_add(self, tune_controller, trial):
        # Tune adds a retried trial again, at the end of its queue
        self._added[trial.trial_id] = next(self._counter)
        super().on_trial_add(tune_controller, trial)

    def on_trial_complete(self, tune_controller, trial, result):
        self._added.pop(trial.trial_id, None)
        super().on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller, trial):
        self._added.pop(trial.trial_id, None)
        super().on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller):
        """FIFO's choice, the longest-queued pending trial (else paused one), found among the
        live trials: Tune's FIFO scans every trial of the experiment, finished ones included,
        at every step, which grows with the node count; the live ones are at most the running
        and the pending trials."""
        live = tune_controller.get_live_trials()
        for status in (Trial.PENDING, Trial.PAUSED):
            found = [t for t in live if t.status == status]
            if found:
                return min(found, key=lambda t: self._added.get(t.trial_id, -1))
        return None

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        if trial.trial_id in self.searcher.to_prune:
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE
