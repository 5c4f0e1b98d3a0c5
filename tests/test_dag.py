"""The DAG: order, priorities, readiness and the searcher that walks it."""

from __future__ import annotations

import pytest

from orchestrator.dag import CycleError, Dag
from orchestrator.dag_searcher import DagSearcher
from orchestrator.plan import Node


def node(i, deps=(), cost=1.0):
    return Node(
        id=i,
        kind="stl",
        method="adapter",
        benchmark="b",
        task=i,
        tasks=[i],
        seed=0,
        backbone="x",
        hparams={},
        data={},
        deps=list(deps),
        cost=cost,
    )


def chain():
    #  a(1) -> c(5) ; b(3) -> c ; b -> d(1)
    return [node("a", cost=1), node("b", cost=3), node("c", ["a", "b"], 5), node("d", ["b"], 1)]


def test_priority_is_the_longest_remaining_chain_of_work():
    dag = Dag(chain())
    assert dag.priority == {"a": 6, "b": 8, "c": 5, "d": 1}
    assert dag.critical_path() == 8
    assert dag.ready(["a", "b", "c", "d"], set()) == ["b", "a"]
    assert dag.ready(["c", "d"], {"b"}) == ["d"]
    assert dag.descendants("b") == {"c", "d"}


def test_cycles_and_unknown_dependencies_are_refused():
    with pytest.raises(CycleError):
        Dag([node("a", ["b"]), node("b", ["a"])])
    with pytest.raises(KeyError, match="not in the plan"):
        Dag([node("a", ["ghost"])])


def test_searcher_releases_nodes_only_after_their_dependencies_commit():
    committed = set()
    s = DagSearcher(Dag(chain()), committed.__contains__)
    first, second = s.suggest("t1"), s.suggest("t2")
    assert [first["node_id"], second["node_id"]] == ["b", "a"]
    assert s.suggest("t3") is None  # c and d wait for b
    committed.add("b")
    s.on_trial_complete("t1")
    assert s.suggest("t4")["node_id"] == "d"
    assert s.suggest("t5") is None  # c still waits for a
    s.on_trial_complete("t2")  # a's trial ended but a is not committed: it failed
    assert s.status["a"] == "failed" and s.status["c"] == "blocked"
    committed.add("d")
    s.on_trial_complete("t4")
    assert s.suggest("t6") == DagSearcher.FINISHED
    assert s.counts() == {"done": 2, "failed": 1, "blocked": 1}


def test_searcher_save_and_restore(tmp_path):
    committed = {"b"}
    s = DagSearcher(Dag(chain()), committed.__contains__)
    s.suggest("t1")  # b
    s.suggest("t2")  # a
    s.on_trial_complete("t1")
    s.save(str(tmp_path / "state.pkl"))
    restored = DagSearcher(Dag(chain()), committed.__contains__)
    restored.restore(str(tmp_path / "state.pkl"))
    assert restored.status["b"] == "done"
    assert restored.status["a"] == "pending", "a trial lost with the driver runs again"
    assert restored.suggest("t9")["node_id"] == "a"


def test_cached_nodes_count_as_done():
    s = DagSearcher(Dag(chain()), lambda _i: False, cached={"a", "b"})
    assert s.suggest("t1")["node_id"] == "c"
