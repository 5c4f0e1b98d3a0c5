"""Faults on real Ray: a lost worker, a failing trial, two sweeps on one store at once.
(The killed driver is in test_run_simulate.py.) The scenarios are benchmarks/faults.py's."""

from __future__ import annotations

import importlib.util

import pytest

from orchestrator.results import row_files as results
from tests.conftest import ROOT

pytestmark = [pytest.mark.ray, pytest.mark.slow]

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
    # finished trials' processes serve the next trials; the guard evicted the idle ones after
    # the loss, else one on the dead worker would be handed a retry and fail at once
    assert f["processes_reused"]
    assert f["retries_failed"] == 0, f["log_tail"]


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


def test_two_runs_at_once_on_the_embedded_default_both_complete_and_share_nodes(tmp_path):
    """Two `orchestrator run`s started at once on one machine, no --address, different sweeps,
    one store: each starts its own Ray instance (neither joins the other's), both complete, and
    a node both sweeps need trains once."""
    f = faults.concurrent_sweeps(tmp_path)
    assert f["exit_status"] == 0, f["log_tail"]
    assert f["ray_instances"] == 2, "the second run started its own instance, not joined"
    assert f["nodes_shared"] == 4
    assert f["nodes_completed"] == f["nodes_planned"] and f["nodes_trained_twice"] == 0
    for sweep in ("tiny_sim", "tiny_sim_b"):
        df = results.load(str(tmp_path / "results" / sweep))
        assert (df.status == "done").all() and not df.duplicated(["node_id", "task"]).any()


def test_entries_and_row_files_damaged_mid_sweep_are_repaired_and_nothing_trains_twice(tmp_path):
    f = faults.corruption(tmp_path)
    assert f["exit_status"] == 0, f["log_tail"]
    assert f["entries_damaged"] >= 2 and f["damaged_while_running"], f
    assert f["first_run_warned"] >= 1, "the end of the damaged run skipped the unreadable file"
    assert f["nodes_lost"] == 0 and f["nodes_completed"] == f["nodes_planned"]
    assert f["nodes_trained_twice"] == 0
    assert f["nodes_repaired"] == f["entries_damaged"]
    assert f["rows_not_done_after_rerun"] == 0
