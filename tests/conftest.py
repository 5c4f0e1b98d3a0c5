"""Shared fixtures: paths, the shipped sweeps, and a CLI runner."""

from __future__ import annotations

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


def simulated_run_args(sweep: Path, work: Path, speed: str) -> list[str]:
    """``run SWEEP --simulate`` arguments on a fresh 2-CPU local Ray instance, results and store
    under ``work``."""
    return [
        "run",
        str(sweep),
        "--simulate",
        "--speed",
        speed,
        "--address",
        "local",
        "--num-cpus",
        "2",
        "--results",
        str(work / "results"),
        "--store",
        str(work / "store"),
    ]


@pytest.fixture
def cli():
    return run_cli
