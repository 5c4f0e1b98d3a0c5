"""Faults on real Ray: a lost worker, a failing trial, two sweeps on one store at once.
(The killed driver is in test_run_simulate.py.) The scenarios are benchmarks/faults.py's."""

from __future__ import annotations

import importlib.util

import pytest

from orchestrator import results
from tests.conftest import ROOT

pytestmark = pytest.mark.ray

_spec = importlib.util.spec_from_file_location("faults", ROOT / "benchmarks" / "faults.py")
faults = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(faults)


def test_a_killed_worker_loses_nothing(tmp_path):
    f = faults.worker_kill(tmp_path)
    assert f["exit_status"] == 0, f["log_tail"]
    assert f["workers_killed"] == 1
    assert f["trials_retried"] >= 1, "the trials on the dead worker ran again elsewhere"
    assert f["nodes_completed"] == f["nodes_planned"] and f["nodes_lost"] == 0
    assert f["nodes_trained_twice"] == 0
    # an idle process kept for reuse on the dead worker would be handed the retry and fail
    assert not f["processes_reused"]


def test_a_failing_trial_is_retried_then_failed_and_blocks_only_its_dependents(tmp_path):
    f = faults.trial_failure(tmp_path)
    assert f["exit_status"] == 1, "the exit status says some nodes failed"
    assert f["trials_retried"] == 1  # tiny_sim allows one retry
    assert f["nodes_failed"] == 1 and f["nodes_blocked"] == 2  # the two ScaLearn targets
    assert f["nodes_completed"] == f["nodes_planned"] - 3 and f["nodes_lost"] == 0
    assert "simulated failure of adapter-syn_sentiment-s0" in f["error"][0]
    df = results.load(str(tmp_path / "results" / "tiny_sim"))
    blocked = df[df.status == "blocked"]
    assert set(blocked.method) == {"scalearn"} and blocked.error.str.contains("blocked by").all()


def test_two_sweeps_sharing_adapters_train_each_shared_node_once(tmp_path):
    f = faults.concurrent_sweeps(tmp_path)
    assert f["exit_status"] == 0
    assert f["nodes_shared"] == 4
    assert f["nodes_completed"] == f["nodes_planned"] and f["nodes_trained_twice"] == 0
    for sweep in ("tiny_sim", "tiny_sim_b"):
        df = results.load(str(tmp_path / "results" / sweep))
        assert (df.status == "done").all() and not df.duplicated(["node_id", "task"]).any()
