"""Waiting for a batch job's Ray workers, and where a training ran (orchestrator.run.cluster)."""

from __future__ import annotations

import pytest

from orchestrator.run import cluster
from tests.conftest import TEST_SWEEPS


def _node(cpus: float, gpus: float = 0) -> dict:
    return {"Alive": True, "Resources": {"CPU": cpus, "GPU": gpus}}


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_waits_until_the_workers_have_joined():
    seen = iter([[_node(0)], [_node(0)], [_node(0), _node(8, 1)], [_node(0), _node(8, 1)]])
    clock = FakeClock()
    found = cluster.wait_for_nodes(
        2, timeout=60, nodes=lambda: next(seen), clock=clock, sleep=clock.sleep
    )
    assert len(found) == 2 and clock.now == 2.0  # two polls without the worker
    assert cluster.describe(found) == "2 Ray node(s), 8 CPU(s), 1 GPU(s)"


def test_a_worker_that_never_comes_is_an_error_naming_what_is_there():
    clock = FakeClock()
    with pytest.raises(cluster.MissingNodes, match=r"1 Ray node\(s\).*3 node\(s\) were asked"):
        cluster.wait_for_nodes(
            3, timeout=10, nodes=lambda: [_node(4)], clock=clock, sleep=clock.sleep
        )
    assert clock.now >= 10


def test_a_training_note_says_which_slurm_job_node_and_step_ran_it(monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "812")
    monkeypatch.setenv("SLURMD_NODENAME", "gpu07")
    monkeypatch.setenv("SLURM_STEP_ID", "1")
    w = cluster.where()
    assert (w["slurm_job"], w["slurm_node"], w["slurm_step"]) == ("812", "gpu07", "1")
    assert w["host"]
    for var in ("SLURM_JOB_ID", "SLURMD_NODENAME", "SLURM_STEP_ID"):
        monkeypatch.delenv(var)
    assert not any(k.startswith("slurm") for k in cluster.where())


@pytest.mark.slow
@pytest.mark.ray
def test_run_stops_when_the_cluster_stays_smaller_than_min_nodes(tmp_path, cli):
    out = cli(
        "run",
        str(TEST_SWEEPS / "tiny_sim.yaml"),
        "--simulate",
        "--address",
        "local",
        "--num-cpus",
        "1",
        "--results",
        str(tmp_path / "results"),
        "--store",
        str(tmp_path / "store"),
        "--min-nodes",
        "2",
        "--min-nodes-timeout",
        "1",
        timeout=300,
    )
    assert out.returncode == 1, out.stderr[-2000:]
    assert "error: the cluster has 1 Ray node(s)" in out.stderr and "--min-nodes" in out.stderr
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())
