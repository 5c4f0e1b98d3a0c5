"""deploy/slurm/scalearn.sbatch: well-formed, the documented Ray-on-SLURM pattern, refusing to start
without its settings; and the pieces of benchmarks/slurm_rehearsal.py that read a rehearsal's
outcome. The rehearsal itself (a real SLURM cluster, about a minute) runs in .ci/run."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "deploy" / "slurm" / "scalearn.sbatch"
_spec = importlib.util.spec_from_file_location(
    "slurm_rehearsal", ROOT / "benchmarks" / "slurm_rehearsal.py"
)
rehearsal = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rehearsal)


@pytest.fixture(scope="module")
def text() -> str:
    return SCRIPT.read_text()


def test_the_script_parses(text):
    assert text.startswith("#!/bin/bash\n")
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def _sbatch(text: str) -> dict:
    return dict(
        re.match(r"#SBATCH --([\w-]+)(?:=(\S+))?", line).groups()
        for line in text.splitlines()
        if line.startswith("#SBATCH")
    )


def test_one_ray_node_per_machine_with_the_allocations_gpus(text):
    opts = _sbatch(text)
    assert opts["ntasks-per-node"] == "1" and "gpus-per-node" in opts and "exclusive" in opts
    # head on the first node, a worker on each other node, each a blocking step of its own
    assert re.search(
        r'srun --nodes=1 --ntasks=1 -w "\$head_node" \\\n\s+ray start --head --block', text
    )
    assert re.search(r'for node in "\$\{nodes\[@\]:1\}"', text)
    assert re.search(
        r'srun --nodes=1 --ntasks=1 -w "\$node" \\\n\s+ray start --address="\$address" --block',
        text,
    )
    assert text.count('--num-gpus="$gpus"') == 2  # head and workers: the GPUs SLURM gave
    # the driver waits for all of them and writes to the shared folder
    assert '--min-nodes "${#nodes[@]}"' in text
    assert '--results "$SHARED/results"' in text and '--store "$SHARED/artifacts"' in text


def test_the_cluster_is_closed(text):
    assert "export RAY_AUTH_MODE=token" in text and "export RAY_AUTH_TOKEN" in text
    assert "--dashboard-host=127.0.0.1" in text and "0.0.0.0" not in text


def _run_outside_slurm(tmp_path, **env):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "SCALEARN"))} | {
        "SLURM_SUBMIT_DIR": str(tmp_path),
        "SLURM_JOB_ID": "1",
        **env,
    }
    return subprocess.run(
        ["bash", str(SCRIPT), "sweeps/demo.yaml"],
        env=full,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_will_not_start_without_a_shared_folder_or_an_environment(tmp_path):
    out = _run_outside_slurm(tmp_path)
    assert out.returncode == 2 and "set SCALEARN_SHARED" in out.stderr
    out = _run_outside_slurm(tmp_path, SCALEARN_SHARED=str(tmp_path / "shared"))
    assert out.returncode == 2 and f"no virtualenv at {tmp_path}/.venv" in out.stderr
    assert not (tmp_path / "shared").exists()  # nothing done before the checks pass


def test_it_wants_a_sweep(tmp_path):
    out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "usage: sbatch deploy/slurm/scalearn.sbatch" in out.stderr


def test_the_rehearsal_reads_the_runs_plan_line():
    line = "sweep tiny_sim: 7 nodes, 2 cached, 5 to run (simulated); run id 2026-abc"
    assert rehearsal.plan_counts(f"noise\n{line}\nmore") == (7, 2, 5)
    assert rehearsal.plan_counts("no such line") is None


def test_the_rehearsal_counts_only_trainings_inside_the_jobs_ray_nodes():
    note = {"node_id": "a", "ray_node": "r1", "slurm_job": "5", "slurm_node": "n1"}
    notes = [
        dict(note, slurm_step="0"),  # the head's step
        dict(note, slurm_step="1", slurm_node="n2", ray_node="r2"),  # a worker's
        dict(note, slurm_step="1", slurm_node="n2", ray_node="r2", slurm_job="6"),
        dict(note, slurm_job="9", slurm_step="0"),  # another job's
        {k: v for k, v in note.items() if k != "slurm_step"},  # the batch step, not a Ray node
        {"node_id": "b", "host": "laptop"},  # no SLURM at all
    ]
    got = rehearsal.where_trained(notes, {"5": "first", "6": "second"}, head="n1")
    assert got["trials_by_job_and_slurm_node"] == {"first": {"n1": 1, "n2": 1}, "second": {"n2": 1}}
    assert (got["trials_on_head"], got["trials_on_workers"]) == (1, 2)
    assert got["trials_outside_allocation"] == 3
    assert got["ray_nodes_used"] == 2


def test_the_rehearsal_cluster_is_two_nodes_on_loopback(tmp_path):
    ports = {"ctld": 1, "n1": 2, "n2": 3}
    conf = rehearsal.slurm_conf(tmp_path, "host", ports)
    nodes = re.findall(r"^NodeName=(\w+) .*NodeAddr=127\.0\.0\.1 Port=(\d+) CPUs=2", conf, re.M)
    assert nodes == [("n1", "2"), ("n2", "3")]
    assert (
        f"AuthInfo=socket={tmp_path}/munge/munge.sock" in conf
    )  # its own munged, not the system's


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_is_clean():
    subprocess.run(["shellcheck", str(SCRIPT)], check=True)
