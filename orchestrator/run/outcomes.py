"""A run's outcome: rows for the nodes that did not finish, and the run's summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from orchestrator.contract.node import NodeStatus
from orchestrator.contract.rows import ResultRow, TaskResult
from orchestrator.planning.nodes import Node
from orchestrator.results.from_store import ensure_done_rows
from orchestrator.results.row_files import write_node_rows
from orchestrator.run.prepare import PreparedRun
from orchestrator.run.tuner import TunerSetup
from orchestrator.store import DamagedEntry


@dataclass
class RunSummary:
    """What a run did, node by node state."""

    run_id: str
    sweep: str
    counts: dict
    failed: dict = field(default_factory=dict)  # node id -> error
    blocked: list = field(default_factory=list)
    wall_s: float = 0.0
    retried: int = 0  # trials Ray Tune restarted after a failure or a lost worker

    @property
    def ok(self) -> bool:
        """True when no node failed or was blocked."""
        return not self.failed and not self.blocked


def record_outcomes(run: PreparedRun, setup: TunerSetup) -> RunSummary:
    """Rows for the nodes that failed, were pruned or blocked; the run's summary."""
    searcher, nodes, settings = setup.searcher, setup.nodes, run.settings
    status = searcher.status
    failed = {
        i: setup.errors.get(i) or searcher.reasons.get(i, "trial failed")
        for i, s in status.items()
        if s == NodeStatus.FAILED
    }
    now = time.time()

    def write(node: Node, outcome: NodeStatus, error: str, hparams: dict | None = None) -> None:
        if _done_rows_from_store(run, node):
            return  # a committed node's row is its done row, never a failure written over it
        spec = node.with_hparams(hparams) if hparams else node
        rows = [
            ResultRow.build(
                spec,
                TaskResult(task),
                sweep=settings.sweep,
                run_id=settings.run_id,
                status=outcome,
                started_at=now,
                finished_at=now,
                error=error,
            )
            for task in spec.scored_tasks
        ]
        write_node_rows(settings.results, settings.sweep, node.id, rows)

    for i, err in failed.items():
        write(nodes[i], NodeStatus.FAILED, err)
    for i in (i for i, s in status.items() if s == NodeStatus.PRUNED):
        write(
            nodes[i], NodeStatus.PRUNED, "stopped early by the search's pruner", searcher.hparams(i)
        )
    blocked = [i for i, s in status.items() if s == NodeStatus.BLOCKED]
    for i in blocked:
        cause = ", ".join(d for d in nodes[i].deps if d in failed) or "a failed dependency"
        write(nodes[i], NodeStatus.BLOCKED, f"blocked by {cause}")
    return RunSummary(
        settings.run_id,
        run.spec.name,
        {s.value: c for s, c in searcher.counts().items()},
        failed,
        blocked,
        wall_s=time.time() - run.started,
        retried=setup.progress.retried,
    )


def _done_rows_from_store(run: PreparedRun, node: Node) -> bool:
    """Give a node committed in the store (by this run's trial before it failed, or by another
    sweep) its done rows; False when it is not committed."""
    try:
        if not run.store.is_committed(node.id):
            return False
        s = run.settings
        ensure_done_rows(run.store, node, s.results, s.sweep, s.run_id)
        return True
    except KeyError:  # moved aside meanwhile
        return False
    except DamagedEntry as e:
        run.store.set_aside(node.id, e.reason)
        return False
