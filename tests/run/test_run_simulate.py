"""Whole runs through real Ray Tune (a local instance) with the simulated trainable."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.planning.plan import plan_sweep
from orchestrator.results import row_files as results
from orchestrator.store import ATTEMPTS, MARKER, open_store
from orchestrator.sweep.spec import load_spec
from tests.conftest import ROOT, TEST_SWEEPS, simulated_run_args

pytestmark = [pytest.mark.ray, pytest.mark.slow]
SWEEP = TEST_SWEEPS / "tiny_sim.yaml"


def run_args(tmp_path, speed: str, own: bool = False) -> list[str]:
    return simulated_run_args(SWEEP, tmp_path, speed, own_ray=own)


def expected_rows(plan) -> int:
    return sum(len(n.tasks) if n.kind == "joint" else 1 for n in plan.nodes)


def test_simulated_run_follows_the_dag_and_a_rerun_is_all_cached(tmp_path, cli):
    out = cli(*run_args(tmp_path, "20"), timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert "nodes: pending" in out.stderr  # progress while it runs
    # the time left, calibrated once a node has finished, while nodes are left; at the end, how
    # far the estimates were off
    assert re.search(r"done \S+ score [\d.]+ \(left ~\d+", out.stderr), out.stderr[-3000:]
    assert "time-left estimates: the first" in out.stderr
    assert "trial processes: reused" in out.stderr
    plan = plan_sweep(load_spec(SWEEP), simulate=True)
    df = results.load(str(tmp_path / "results" / "tiny_sim"))
    assert len(df) == expected_rows(plan) and set(df["status"]) == {"done"}
    assert df["simulated"].all()
    finished = df.groupby("node_id")["finished_at"].max()
    transfer = df[df["kind"] == "transfer"]
    assert len(transfer) == 2
    for _, t in transfer.iterrows():
        assert len(t["sources"]) == 2
        assert all(t["started_at"] >= finished[s] for s in t["sources"]), (
            "a transfer trial never starts before its sources are committed"
        )
    store = open_store(str(tmp_path / "store"))
    for n in plan.nodes:
        assert store.record(n.id)["simulated"] is True
    # Tune's bookkeeping is what retries need only (orchestrator.run.tune_bookkeeping): no logger
    # files and no checkpoint of a completed trial
    tune_dir = tmp_path / "results" / "tiny_sim" / "_tune"
    trial_dirs = [p for p in tune_dir.glob("*/*") if p.is_dir()]
    assert len(trial_dirs) == len(plan.nodes)
    leftovers = [
        p.name
        for d in trial_dirs
        for p in d.iterdir()
        if p.name in ("progress.csv", "result.json")
        or p.name.startswith(("events.", "checkpoint_"))
    ]
    assert leftovers == []
    assert len(list(tune_dir.glob("*/experiment_state-*.json"))) == 1
    assert "Could not fetch metrics" not in out.stderr, "Tune's reading of absent logger files"

    again = cli(*run_args(tmp_path, "20"), timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{len(plan.nodes)} cached, 0 to run" in again.stderr
    assert len(results.load(str(tmp_path / "results" / "tiny_sim"))) == len(df)


def test_a_killed_driver_loses_nothing_and_trains_nothing_twice(tmp_path):
    plan = plan_sweep(load_spec(SWEEP), simulate=True)
    store_dir = tmp_path / "store"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    log = open(tmp_path / "first.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *run_args(tmp_path, "0.5", own=True)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.time() + 240
    committed_before: set[str] = set()
    while time.time() < deadline:
        if store_dir.exists():
            committed_before = set(open_store(str(store_dir)).committed_ids())
        if len(committed_before) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the first run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    committed_before = set(open_store(str(store_dir)).committed_ids())
    assert 2 <= len(committed_before) < len(plan.nodes)
    time.sleep(2)

    second = subprocess.run(
        [sys.executable, "-m", "orchestrator", *run_args(tmp_path, "4", own=True)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert second.returncode == 0, second.stderr[-4000:]
    header = next(line for line in second.stderr.splitlines() if line.startswith("sweep "))
    cached = int(header.split(" cached")[0].split(", ")[-1])
    assert cached >= len(committed_before), header

    store = open_store(str(store_dir))
    assert set(store.committed_ids()) == {n.id for n in plan.nodes}
    for n in plan.nodes:
        entry = Path(store_dir) / n.id
        assert (entry / MARKER).exists()
        record = json.loads((entry / MARKER).read_text())
        assert (entry / ATTEMPTS / record["attempt"]).is_dir()
    df = results.load(str(tmp_path / "results" / "tiny_sim"))
    assert len(df) == expected_rows(plan)
    per_node = Counter(df["node_id"])
    assert all(per_node[n.id] == (len(n.tasks) if n.kind == "joint" else 1) for n in plan.nodes)
    runs = df.groupby("node_id")["run_id"].first()
    first_run = {runs[i] for i in committed_before}
    assert len(first_run) == 1, "rows of nodes committed before the kill come from the first run"
    assert all(runs[n.id] not in first_run for n in plan.nodes if n.id not in committed_before), (
        "only nodes not committed before the kill were trained by the second run"
    )
