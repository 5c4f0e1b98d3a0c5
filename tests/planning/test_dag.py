"""The DAG: order, priorities, readiness and the searcher that walks it."""

from __future__ import annotations

import pytest

from orchestrator.contract.hparams import HParams
from orchestrator.planning.dag import CycleError, Dag
from orchestrator.planning.plan import Node
from orchestrator.run.searcher import DagSearcher


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
        hparams=HParams(),
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


def layered(n_layers, width, seed=0):
    """A random DAG: each node of a layer depends on up to three nodes of the layer before."""
    import random

    rng = random.Random(seed)
    nodes, previous = [], []
    for layer in range(n_layers):
        current = [f"n{layer}-{k}" for k in range(width)]
        for i in current:
            deps = rng.sample(previous, min(len(previous), rng.randint(0, 3)))
            nodes.append(node(i, deps, cost=rng.choice([1.0, 2.0, 5.0])))
        previous = current
    return nodes


def reference_suggestion(dag, status):
    """What a full scan of every node picks: the ready node of highest priority."""
    done = {i for i, s in status.items() if s in ("done", "cached")}
    pending = [i for i, s in status.items() if s == "pending"]
    ready = dag.ready(pending, done)
    return ready[0] if ready else None


def test_incremental_readiness_hands_out_what_a_full_scan_would():
    import random

    rng = random.Random(1)
    dag = Dag(layered(6, 15))
    committed: set[str] = set()
    s = DagSearcher(dag, committed.__contains__, cached={"n0-0", "n0-1"})
    running, trial = [], 0
    while True:
        expected = reference_suggestion(dag, s.status)
        got = s.suggest(f"t{trial}")
        if got is None or got == DagSearcher.FINISHED:
            assert expected is None
            if got == DagSearcher.FINISHED:
                break
            # nothing ready: finish a running trial, committing it or not (a failure)
            t, i = running.pop(rng.randrange(len(running)))
            if rng.random() < 0.9:
                committed.add(i)
            s.on_trial_complete(t)
            continue
        assert got["node_id"] == expected
        running.append((f"t{trial}", got["node_id"]))
        trial += 1
        if rng.random() < 0.5 and running:
            t, i = running.pop(0)
            committed.add(i)
            s.on_trial_complete(t)
    counts = s.counts()
    assert counts["failed"] > 0 and counts["blocked"] > 0, "the walk exercised failures"
    assert sum(counts.values()) == len(dag.nodes) and "pending" not in counts
    assert counts["done"] == len(committed - {"n0-0", "n0-1"})


def test_readiness_work_grows_linearly_with_the_node_count(monkeypatch):
    """Readiness checks per node stay constant as the sweep grows (a rescan per suggestion
    would make them grow with the node count)."""
    calls = {"n": 0}
    original = DagSearcher._satisfies

    def counting(self, node_id):
        calls["n"] += 1
        return original(self, node_id)

    monkeypatch.setattr(DagSearcher, "_satisfies", counting)
    per_node = []
    for width in (50, 400):
        calls["n"] = 0
        dag = Dag(layered(5, width))
        s = DagSearcher(dag, lambda _i: True)
        trial = 0
        while s.suggest(f"t{trial}") != DagSearcher.FINISHED:
            s.on_trial_complete(f"t{trial}")
            trial += 1
        assert s.counts() == {"done": len(dag.nodes)}
        per_node.append(calls["n"] / len(dag.nodes))
    assert per_node[1] < 1.2 * per_node[0], per_node
