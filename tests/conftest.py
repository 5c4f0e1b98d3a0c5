"""Shared fixtures: paths, the shipped sweeps, a CLI runner, one Ray instance for the session."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SWEEPS = ROOT / "sweeps"
TEST_SWEEPS = Path(__file__).resolve().parent / "sweeps"
SHARED_DATA = ROOT.parent / "shared" / "data"


def run_cli(*args: str, cwd: str | None = None, timeout: float = 600, env: dict | None = None):
    """Run ``python -m orchestrator ARGS`` in a fresh process; returns the CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


class _SharedRay:
    """One Ray instance on loopback (2 CPUs) that the tests' runs join, started on first use and
    stopped when the session ends: a run that joins it starts in seconds less than one that starts
    its own instance. Its trial processes have the environment the instance started with, so a
    test that gives a run environment variables its trials must see, kills a driver, or is about a
    fresh local instance (scaling requests down) asks for its own (``ray_args(own=True)``)."""

    cluster = None

    def address(self) -> str:
        if self.cluster is None:
            from orchestrator.testing.local_cluster import CLUSTER_ENV, LocalCluster

            # drivers that join must speak the instance's (disabled) authentication
            os.environ.update({k: CLUSTER_ENV[k] for k in ("RAY_AUTH_MODE",)})
            self.cluster = LocalCluster(workers=0, head_cpus=2).start()
            # at the session's end, by pid: pytest loads this file as ``conftest`` and the tests
            # import it as ``tests.conftest``, two modules, so a session hook here would see the
            # other module's instance
            atexit.register(self.stop)
        return self.cluster.address

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None


SHARED_RAY = _SharedRay()


def ray_args(own: bool = False) -> list[str]:
    """The Ray options of a test's ``run``: join the session's shared instance, or (``own``) start
    a fresh 2-CPU local instance of the run's own."""
    if own:
        return ["--address", "local", "--num-cpus", "2"]
    return ["--address", SHARED_RAY.address()]


def simulated_run_args(sweep: Path, work: Path, speed: str, own_ray: bool = False) -> list[str]:
    """``run SWEEP --simulate`` arguments on the shared Ray instance (``own_ray``: a fresh 2-CPU
    local one), results and store under ``work``."""
    return [
        "run",
        str(sweep),
        "--simulate",
        "--speed",
        speed,
        *ray_args(own_ray),
        "--results",
        str(work / "results"),
        "--store",
        str(work / "store"),
    ]


@pytest.fixture
def cli():
    return run_cli
