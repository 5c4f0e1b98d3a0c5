"""Rows of a committed node are rebuilt from its stored metrics with the current scoring."""

from __future__ import annotations

import json

from orchestrator.contract.entry_files import NODE_FILE, ROWS_FILE
from orchestrator.planning.plan import plan_sweep
from orchestrator.results.from_store import rows_from_store, search_outcome
from orchestrator.store import open_store
from orchestrator.sweep.spec import parse_spec


def _multirc_node(simulate: bool = False):
    spec = parse_spec(
        {
            "sweep": "s",
            "backbone": "tiny-roberta",
            "benchmarks": {"superglue": {"seeds": [0], "tasks": ["multirc"]}},
            "methods": {"adapter": {"lr": 1e-3}},
        }
    )
    (node,) = plan_sweep(spec, simulate=simulate).nodes
    return node


def _commit(store, node, tmp_path, row: dict) -> None:
    payload = tmp_path / "payload"
    payload.mkdir()
    (payload / NODE_FILE).write_text(json.dumps(node.to_dict(), default=str))
    (payload / ROWS_FILE).write_text(json.dumps({"rows": [row], "started_at": 1.0}))
    store.commit(node.id, str(payload))


def test_a_committed_multirc_node_is_scored_by_f1a_without_retraining(tmp_path):
    store = open_store(str(tmp_path / "store"))
    node = _multirc_node()
    # written when MultiRC's score was the mean of F1a and exact match
    old = {
        "task": "multirc",
        "score": 60.0,
        "dev_score": 55.0,
        "metrics": {"f1a": 70.0, "exact_match": 50.0, "score": 60.0},
        "dev_metrics": {"f1a": 65.0, "exact_match": 45.0, "score": 55.0},
    }
    _commit(store, node, tmp_path, old)
    (row,) = rows_from_store(store, node, run_id="r", sweep="s")
    assert (row.score, row.dev_score) == (70.0, 65.0)
    assert row.metrics["exact_match"] == 50.0, "exact match stays in the metrics"
    _, value = search_outcome(store, node, "dev_score")
    assert value == 65.0


def test_rows_without_the_tasks_metrics_keep_their_scores(tmp_path):
    store = open_store(str(tmp_path / "store"))
    node = _multirc_node(simulate=True)
    fake = {"task": "multirc", "score": 42.0, "dev_score": 41.0, "metrics": {"simulated": 42.0}}
    _commit(store, node, tmp_path, fake)
    (row,) = rows_from_store(store, node, run_id="r", sweep="s")
    assert (row.score, row.dev_score) == (42.0, 41.0)
