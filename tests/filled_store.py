"""A store and results folder of a sweep as a finished simulated run leaves them, made without
Ray: the simulated trainer and the trial's own payload writer, committed to a real store."""

from __future__ import annotations

import time
from pathlib import Path

from orchestrator.planning.nodes import Node
from orchestrator.planning.plan import plan_sweep
from orchestrator.results import row_files as results
from orchestrator.results.from_store import rows_from_store
from orchestrator.run.simulated_trainer import SimulatedTrainer
from orchestrator.run.trial import _write_node_files
from orchestrator.store import ArtifactStore, open_store
from orchestrator.sweep.spec import load_spec
from tests.conftest import TEST_SWEEPS


def fill(tmp_path: Path, sweep: str = "tiny_sim") -> tuple[ArtifactStore, str, dict[str, Node]]:
    """Every node of ``tests/sweeps/<sweep>.yaml`` committed with its rows; returns the store,
    the results folder and the nodes by label."""
    plan = plan_sweep(load_spec(TEST_SWEEPS / f"{sweep}.yaml"), simulate=True)
    store = open_store(str(tmp_path / "store"))
    res = str(tmp_path / "results")
    for n in plan.nodes:
        out = tmp_path / "payloads" / n.id
        out.mkdir(parents=True)
        spec = n
        task_results = SimulatedTrainer(speed=1e9).train(spec, str(out))
        _write_node_files(str(out), spec, task_results, time.time(), "run-1")
        store.commit(n.id, str(out), meta={"simulated": True})
        rows = rows_from_store(store, n, run_id="run-1", sweep=plan.sweep)
        results.write_node_rows(res, plan.sweep, n.id, rows)
    return store, res, {n.label: n for n in plan.nodes}
