"""Preparing a run: the sweep planned against the store, cached nodes given their rows.

The store is the ledger: a node whose entry is committed and checks out is cached (it gets its
``done`` rows in this results folder and is not trained); a damaged entry is moved aside and its
node trains again, before any node that needs it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator import uri
from orchestrator.contract.node import TrialSettings
from orchestrator.planning.dag import Dag
from orchestrator.planning.nodes import Node, Plan
from orchestrator.planning.plan import plan_sweep
from orchestrator.results.from_store import ensure_done_rows
from orchestrator.results.row_files import quarantine_row_file, scan
from orchestrator.store import ArtifactStore, DamagedEntry, EntryCheck, open_store
from orchestrator.sweep.spec import SweepSpec


@dataclass
class PreparedRun:
    """A planned run: the plan against the store, its DAG, what is cached and what is left."""

    spec: SweepSpec
    plan: Plan
    dag: Dag
    store: ArtifactStore
    settings: TrialSettings
    cached: set[str]
    todo: list[Node]
    started: float
    repaired: list[str] = field(default_factory=list)  # damaged entries moved aside: train again


def absolute(location: str) -> str:
    """A store or results location as every machine of the cluster names it."""
    return location if uri.is_remote(location) else str(Path(location).expanduser().resolve())


def prepare_run(
    spec: SweepSpec,
    results: str,
    store_uri: str,
    simulate: bool,
    speed: float,
    fail: str | None,
) -> PreparedRun:
    """Plan the sweep against the store and give its cached nodes a row in this results folder."""
    started = time.time()
    results, store_uri = absolute(results), absolute(store_uri)
    store = open_store(store_uri)
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    clear_unusable_row_files(results, spec.name)
    plan, repaired = plan_against_store(spec, store, simulate, results, run_id)
    settings = TrialSettings(
        store=store_uri,
        results=results,
        sweep=spec.name,
        run_id=run_id,
        simulate=simulate,
        speed=speed,
        fail=fail if simulate else None,
    )
    return PreparedRun(
        spec=spec,
        plan=plan,
        dag=Dag(plan.nodes),
        store=store,
        settings=settings,
        cached=set(plan.cached),
        todo=[n for n in plan.nodes if n.id not in plan.cached],
        started=started,
        repaired=repaired,
    )


# Each pass moves at least one entry aside, and a plan has finitely many; this bounds a store
# that keeps changing under the planner.
MAX_PLAN_PASSES = 5


def plan_against_store(
    spec: SweepSpec, store: ArtifactStore, simulate: bool, results: str, run_id: str
) -> tuple[Plan, list[str]]:
    """Plan the sweep against the store; returns the plan and the nodes whose damaged entries
    were moved aside (they train again, like any node not committed).

    A cached node is one whose entry checks out and gives its ``done`` rows, which it gets in
    this results folder now; a cached source of a node to run has its digests checked too, so a
    damaged one trains again before its dependents rather than failing them.
    """
    repaired: list[str] = []
    for _ in range(MAX_PLAN_PASSES):
        plan, looked = _plan_looking(spec, store, simulate)
        for c in looked:
            if c.damaged and store.quarantine(c) is not None:
                repaired.append(c.node_id)
        needed = {d for n in plan.nodes if n.id not in plan.cached for d in n.deps}
        unusable = False
        for n in plan.nodes:
            if n.id not in plan.cached:
                continue
            reason = None
            if n.id in needed:
                deep = store.check(n.id, digests=True)
                reason = deep.reason if deep.damaged else None
            if reason is None:
                try:
                    ensure_done_rows(store, n, results, plan.sweep, run_id)
                except DamagedEntry as e:
                    reason = e.reason
            if reason is not None:
                unusable = True
                if store.set_aside(n.id, reason) is not None:
                    repaired.append(n.id)
        if not unusable:
            break
    return plan, repaired


def _plan_looking(spec: SweepSpec, store: ArtifactStore, simulate: bool):
    """The plan, and every store look it took (damaged entries among them)."""
    looked: dict[str, EntryCheck] = {}

    def committed(node_id: str) -> bool:
        looked[node_id] = store.check(node_id)
        return looked[node_id].committed

    return plan_sweep(spec, committed=committed, simulate=simulate), list(looked.values())


def clear_unusable_row_files(results: str, sweep: str) -> list[str]:
    """Move aside the sweep's node files that cannot be read (they are rebuilt from the store
    or rewritten by the node's trial); returns the node ids."""
    moved = []
    for f in scan(results, sweep):
        if f.problem and quarantine_row_file(results, sweep, f.node_id, f.problem):
            moved.append(f.node_id)
    return moved
