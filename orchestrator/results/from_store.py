"""Result rows rebuilt from committed store entries.

The store is the ledger of finished work, the results folder its readable copy: a node with a
committed entry always gets its ``done`` rows from the entry (``rows.json``: what came out,
``node.json``: what trained), whatever its row file says or whether it has one.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.contract.entry_files import NODE_FILE, ROWS_FILE
from orchestrator.contract.methods import Kind
from orchestrator.contract.node import NodeSpec
from orchestrator.contract.rows import ResultRow, TaskResult
from orchestrator.planning.nodes import Node
from orchestrator.results.row_files import has_done_rows, write_node_rows
from orchestrator.store import ArtifactStore, DamagedEntry
from trainables.tasks.registry import headline_score


def stored_hparams(store: ArtifactStore, node: Node) -> dict:
    """The hyperparameters a committed node really trained with (a search's are chosen at run
    time), over the plan's (entries written before a key existed lack it)."""
    return {**node.hparams.to_dict(), **store.read_json(node.id, NODE_FILE)["hparams"]}


def rows_from_store(
    store: ArtifactStore,
    node: Node | None,
    *,
    run_id: str,
    sweep: str,
    node_id: str | None = None,
) -> list[ResultRow]:
    """Result rows rebuilt from a committed entry (a node finished elsewhere or earlier).

    Without the plan's ``node`` (``orchestrator verify``), what trained is read from the entry's
    ``node.json``. KeyError when the node is not committed; DamagedEntry when its entry's files
    do not describe a result.
    """
    node_id = node.id if node is not None else str(node_id)
    rec = store.record(node_id)
    if rec is None:
        raise KeyError(f"{node_id} is not committed in {store.uri}")
    saved = store.read_json(node_id, ROWS_FILE)
    try:
        if node is not None:
            spec = node.with_hparams(stored_hparams(store, node))
        else:
            spec = NodeSpec.from_dict(store.read_json(node_id, NODE_FILE))
        rows = [
            ResultRow.build(
                spec,
                rescored(TaskResult.from_dict(r)),
                sweep=sweep,
                run_id=saved.get("run_id", run_id),
                started_at=saved["started_at"],
                finished_at=rec["committed_at"],
                artifact_uri=store.payload_uri(node_id),
            )
            for r in saved["rows"]
        ]
    except DamagedEntry:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DamagedEntry(node_id, f"{ROWS_FILE} or {NODE_FILE} describes no result ({e})") from e
    if not rows:
        raise DamagedEntry(node_id, f"{ROWS_FILE} holds no rows")
    return rows


def rescored(result: TaskResult) -> TaskResult:
    """The result with its score and dev score recomputed from its stored metrics by the task's
    current rule, so a committed node whose task is scored anew (MultiRC: F1a, not its mean with
    exact match) needs no retraining; results without the task's metrics keep theirs."""
    score = headline_score(result.task, result.metrics)
    dev_score = headline_score(result.task, result.dev_metrics)
    return replace(
        result,
        score=result.score if score is None else score,
        dev_score=result.dev_score if dev_score is None else dev_score,
    )


def entry_problem(store: ArtifactStore, node_id: str) -> str | None:
    """Why a committed entry cannot give result rows (its rows.json and node.json, read against
    their digests), or None."""
    try:
        saved = store.read_json(node_id, ROWS_FILE)
        trained = store.read_json(node_id, NODE_FILE)
    except DamagedEntry as e:
        return e.reason
    rows = saved.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        return f"{ROWS_FILE} holds no rows"
    if not isinstance(saved.get("started_at"), (int, float)):
        return f"{ROWS_FILE} has no start time"
    if not isinstance(trained.get("hparams"), dict):
        return f"{NODE_FILE} has no hyperparameters"
    return None


def ensure_done_rows(
    store: ArtifactStore, node: Node, results: str, sweep: str, run_id: str
) -> bool:
    """Give a committed node its ``done`` rows unless its file already holds them; True when
    they were (re)written. DamagedEntry when the entry cannot give them."""
    tasks = list(node.tasks) if node.kind == Kind.JOINT else [str(node.task)]
    if has_done_rows(results, sweep, node.id, tasks):
        return False
    write_node_rows(
        results, sweep, node.id, rows_from_store(store, node, run_id=run_id, sweep=sweep)
    )
    return True


def search_outcome(store: ArtifactStore, node: Node, metric: str) -> tuple[dict, float]:
    """A committed search sample's hyperparameters and its selection value (mean over tasks)."""
    hparams = stored_hparams(store, node)
    rows = store.read_json(node.id, ROWS_FILE)["rows"]
    if metric == "dev_loss":
        values = [(r.get("extra") or {}).get("dev_loss", r.get("dev_loss")) for r in rows]
    else:
        values = [rescored(TaskResult.from_dict(r)).dev_score for r in rows]
    values = [float(v) for v in values if v is not None]
    return hparams, (sum(values) / len(values) if values else float("nan"))
