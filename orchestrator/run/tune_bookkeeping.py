"""How much of Ray Tune's own bookkeeping a run keeps: only what retries within the run need.

The store is the ledger of finished work and a rerun plans against it (``prepare_run``), so a run
never restores Tune's experiment state; Tune keeps it for ``Tuner.restore`` all the same, and at
its defaults its cost grows with the square of the node count:

- ``CheckpointConfig(num_to_keep=K)`` makes Tune snapshot the whole experiment (every trial's
  state, as JSON) and wait for its upload whenever a trial has saved K checkpoints, so a sweep of
  N nodes of a few checkpoints each writes about N snapshots of up to N trials. The runner keeps
  every checkpoint as far as Tune knows (no ``num_to_keep``) and ``CheckpointPruner`` deletes a
  trial's checkpoint once a newer one exists or the trial has ended;
- the periodic snapshot (``TUNE_GLOBAL_CHECKPOINT_S``, by default every 10 s or more) is taken
  every ``SNAPSHOT_PERIOD_S`` instead, so its cost stays a small share of the run;
- Tune's CSV, JSON and TensorBoard loggers write every reported result of every trial, files
  nothing reads (the rows in ``<results>/<sweep>/trials`` are the results).

A trial retried after a failure or a lost worker still resumes from its last checkpoint: Tune
holds that in memory, not in the snapshot.
"""

from __future__ import annotations

import logging
import os

SNAPSHOT_PERIOD_S = 300
TUNE_ENV = {
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "TUNE_GLOBAL_CHECKPOINT_S": str(SNAPSHOT_PERIOD_S),
}


def apply_tune_env() -> dict[str, str]:
    """Set Tune's bookkeeping variables in this (the driver's) environment unless the user set
    them; returns the values in force."""
    for key, value in TUNE_ENV.items():
        os.environ.setdefault(key, value)
    if os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] == "1":
        # Tuner.fit() ends by reading every trial's logger files into its ResultGrid, which the
        # runner never reads; without the files it would warn once per trial
        logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    return {key: os.environ[key] for key in TUNE_ENV}


def checkpoint_pruner():
    """A Tune callback that keeps each trial's newest checkpoint only, and none once the trial
    completed (its node is committed to the store by then)."""
    from ray.tune import Callback

    class CheckpointPruner(Callback):
        def __init__(self):
            self.latest: dict[str, object] = {}  # trial id -> its newest checkpoint

        def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
            previous = self.latest.get(trial.trial_id)
            self.latest[trial.trial_id] = checkpoint
            if previous is not None and previous.path != checkpoint.path:
                _delete(previous)

        def on_trial_complete(self, iteration, trials, trial, **info):
            last = self.latest.pop(trial.trial_id, None)
            if last is not None:
                _delete(last)

    return CheckpointPruner()


def _delete(checkpoint) -> None:
    """Remove a checkpoint folder from its storage; one already gone is fine."""
    try:
        checkpoint.filesystem.delete_dir(checkpoint.path)
    except (FileNotFoundError, OSError):
        pass
