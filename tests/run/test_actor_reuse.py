"""Tune's actor reuse with the guard: idle processes are evicted after a failure, on real Ray Tune.
(The lost worker on a loopback cluster is in test_faults.py.)"""

from __future__ import annotations

import os
import time

import pytest

from orchestrator.run.actor_reuse import ReuseGuard, safe_reuse_scheduler

pytestmark = pytest.mark.ray


def test_the_guard_notices_a_machine_that_left_and_only_that():
    alive = [frozenset({"a", "b"})]
    guard = ReuseGuard(alive=lambda: alive[0], period_s=0.0)
    assert not guard.machines_changed()  # the first look learns the cluster
    alive[0] = frozenset({"a", "b", "c"})  # a machine joined: idle processes stay good
    assert not guard.machines_changed()
    alive[0] = frozenset({"a", "c"})
    assert guard.machines_changed()
    assert not guard.machines_changed()  # once per loss
    slow = ReuseGuard(alive=lambda: alive[0], period_s=3600)
    assert not slow.machines_changed()
    alive[0] = frozenset({"c"})
    assert not slow.machines_changed()  # not looked again within its period


def _run(tmp_path, guarded: bool) -> dict[str, int]:
    """Trials ``slow`` (fails once) and ``quick`` at once on 2 CPUs, ``last`` only after ``slow``
    is done: while ``slow`` runs, ``quick``'s finished process waits idle for reuse."""
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler
    from ray.tune.search import Searcher

    def trainable(config):  # defined here: pickled by value for the workers
        from ray import tune

        marker = config["fail_marker"]
        time.sleep(config["sleep"])
        if marker and not os.path.exists(marker):  # fail the first attempt only
            open(marker, "w").close()
            raise RuntimeError("first attempt fails")
        tune.report({"pid": os.getpid(), "name": config["name"]})

    marker = str(tmp_path / f"failed-{guarded}")
    configs = {
        "slow": {"name": "slow", "sleep": 4.0, "fail_marker": marker},
        "quick": {"name": "quick", "sleep": 0.1, "fail_marker": ""},
        "last": {"name": "last", "sleep": 0.1, "fail_marker": ""},
    }

    class Chain(Searcher):
        def __init__(self):
            super().__init__(metric="pid", mode="max")
            self.queue, self.done, self.names = ["slow", "quick"], set(), {}

        def suggest(self, trial_id):
            if self.queue:
                self.names[trial_id] = self.queue[0]
                return configs[self.queue.pop(0)]
            if "slow" in self.done and "last" not in self.names.values():
                self.names[trial_id] = "last"
                return configs["last"]
            return Searcher.FINISHED if "last" in self.done else None

        def on_trial_complete(self, trial_id, result=None, error=False):
            self.done.add(self.names.get(trial_id, trial_id))  # failed for good: done as well

    scheduler = safe_reuse_scheduler(FIFOScheduler)() if guarded else FIFOScheduler()
    grid = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        tune_config=tune.TuneConfig(
            search_alg=Chain(), scheduler=scheduler, num_samples=10, reuse_actors=True
        ),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path / f"tune-{guarded}"),
            failure_config=tune.FailureConfig(max_failures=1),
            verbose=0,
        ),
    ).fit()
    pids = {r.metrics["name"]: r.metrics["pid"] for r in grid if r.metrics}
    if guarded:
        assert scheduler.guard.evictions, "the failure evicted the idle processes"
    return pids


def test_a_retry_after_a_failure_gets_a_new_process_not_an_idle_one(tmp_path):
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        unguarded = _run(tmp_path, guarded=False)
        guarded = _run(tmp_path, guarded=True)
    finally:
        ray.shutdown()
    # the scenario is the one the guard is for: without it, the retry is handed the idle process
    assert unguarded["slow"] == unguarded["quick"]
    assert set(guarded) == {"slow", "quick", "last"}
    assert guarded["slow"] != guarded["quick"]
