"""The time a running sweep has left: the cost model calibrated by finished nodes, running nodes'
epochs, dependencies and slots, and each estimate's error against what happened."""

from __future__ import annotations

import pytest

from orchestrator.contract.hparams import HParams
from orchestrator.contract.methods import Kind
from orchestrator.contract.node import NodeStatus
from orchestrator.estimate.makespan import remaining_makespan
from orchestrator.estimate.time_left import RunClock, duration, error_summary
from orchestrator.planning.nodes import Node

P, R, D = NodeStatus.PENDING, NodeStatus.RUNNING, NodeStatus.DONE


def _node(i: str, cost: float, deps=()) -> Node:
    return Node(
        id=i,
        kind=Kind.STL,
        method="adapter",
        benchmark="glue",
        task=i,
        tasks=[i],
        seed=0,
        backbone="tiny-roberta",
        hparams=HParams(),
        data={},
        deps=list(deps),
        cost=cost,
    )


@pytest.fixture
def clock():
    nodes = [_node("a", 10), _node("b", 30), _node("c", 20), _node("d", 40, deps=["c"])]
    return RunClock({n.id: n for n in nodes}, start=0.0)


def test_no_estimate_before_a_node_has_finished(clock):
    clock.trial_started("a", now=0.0)
    assert clock.calibration() is None
    assert clock.estimate({"a": R, "b": P, "c": P, "d": P}, now=5.0) is None
    assert clock.estimates == []


def test_calibrated_by_finished_nodes_epochs_and_dependencies(clock):
    clock.trial_started("a", now=0.0)
    clock.trial_started("b", now=0.0)
    clock.trial_finished("a", now=5.0)  # 10 cost-model seconds took 5 here
    assert clock.calibration() == 0.5
    clock.reported("b", {"epoch": 1, "epochs_total": 3})
    assert clock.running_epochs() == [("adapter/b/s0", 1, 3)]
    # b: 15 s calibrated, a third done -> 10 left; c then d (d waits for c): 10 + 20, on two slots
    status = {"a": D, "b": R, "c": P, "d": P}
    assert clock.estimate(status, now=6.0) == pytest.approx(30.0)
    # one slot: everything in turn
    clock.most_running = 1
    assert clock.estimate(status, now=6.0) == pytest.approx(40.0)
    # a running node without epochs: its calibrated time less its time so far
    clock.epochs.clear()
    assert clock.estimate({"a": D, "b": R}, now=9.0) == pytest.approx(15.0 - 9.0)
    assert [e.done for e in clock.estimates] == [1, 1, 1]
    # a finished node still running to the searcher counts as done; nothing left: no estimate
    assert clock.estimate({"a": R}, now=9.0) is None and len(clock.estimates) == 3


def test_with_a_refresh_share_estimates_are_recomputed_only_that_often(clock):
    clock.refresh_share = 0.1
    clock.trial_started("a", now=0.0)
    clock.trial_finished("a", now=10.0)  # calibration 1.0
    status = {"a": D, "b": P}
    assert clock.estimate(status, now=10.0) == pytest.approx(30.0)
    clock._last_compute_s = 1.0  # as if it took a second: the next one in 10 s at the earliest
    status["c"] = P  # more work, not seen before the next recompute
    assert clock.estimate(status, now=13.0) == pytest.approx(27.0)
    assert len(clock.estimates) == 1
    clock.most_running = 1
    assert clock.estimate(status, now=20.0) == pytest.approx(50.0)  # b then c, one slot
    assert len(clock.estimates) == 2


def test_each_estimate_is_set_against_what_happened(clock):
    clock.trial_started("a", now=0.0)
    clock.trial_finished("a", now=10.0)  # calibration 1.0
    clock.estimate({"a": D, "b": P}, now=10.0)  # says 30 s left
    errors = clock.errors(end=50.0)  # 40 s were left
    assert [round(err, 6) for _, err in errors] == [-10.0]
    text = error_summary(clock, end=50.0)
    assert "said 30s, it took 40s: off by -10s (-25%)" in text
    assert "mean absolute error over 1 estimate(s) 10s" in text
    assert error_summary(RunClock({}), end=1.0) is None


def test_a_failed_or_reused_trial_calibrates_nothing(clock):
    clock.trial_started("a", now=0.0)
    clock.trial_ended("a")
    assert clock.calibration() is None and clock.started == {}


def test_remaining_makespan_keeps_dependencies_within_the_nodes_left():
    c, d = _node("c", 0), _node("d", 0, deps=["c", "gone"])
    assert remaining_makespan([c, d], {"c": 5.0, "d": 7.0}, slots=4) == 12.0
    assert remaining_makespan([_node("x", 0), _node("y", 0)], {"x": 5, "y": 5}, slots=2) == 5.0
    assert remaining_makespan([], {}, slots=1) == 0.0
    assert duration(42) == "42s" and duration(185) == "3m05s" and duration(3720) == "1h02m"
