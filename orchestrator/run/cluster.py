"""The Ray nodes a sweep runs on: waiting for a batch job's workers to join before the sweep
starts, and where a trial ran, for its training note (``<results>/<sweep>/trainings/``).

A SLURM batch script or a Kubernetes RayJob starts the head and the workers side by side, so the
driver can come up before every worker has joined. The runner decides at start whether the
cluster has GPUs at all (without, GPU requests are dropped), so it must not look too early.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

# Where a trial's process was started, as the batch system tells it in the environment: a Ray
# worker inherits its raylet's environment, and the raylet was started by the job's own step.
SLURM_FIELDS = {
    "slurm_job": "SLURM_JOB_ID",
    "slurm_node": "SLURMD_NODENAME",
    "slurm_step": "SLURM_STEP_ID",
}


class MissingNodes(RuntimeError):
    """The cluster did not reach the asked-for number of nodes in time."""


def alive_nodes() -> list[dict]:
    """The cluster's live Ray nodes (``ray.nodes()`` entries); Ray must be initialised."""
    import ray

    return [n for n in ray.nodes() if n.get("Alive")]


def describe(nodes: list[dict]) -> str:
    """One line: how many nodes, CPUs and GPUs."""
    cpus = sum(n.get("Resources", {}).get("CPU", 0) for n in nodes)
    gpus = sum(n.get("Resources", {}).get("GPU", 0) for n in nodes)
    return f"{len(nodes)} Ray node(s), {cpus:g} CPU(s), {gpus:g} GPU(s)"


def wait_for_nodes(
    count: int,
    timeout: float,
    nodes: Callable[[], list[dict]] = alive_nodes,
    poll: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict]:
    """Return the live nodes once there are at least ``count``; MissingNodes after ``timeout`` s."""
    deadline = clock() + timeout
    while True:
        found = nodes()
        if len(found) >= count:
            return found
        if clock() >= deadline:
            raise MissingNodes(
                f"the cluster has {describe(found)} after {timeout:g} s, {count} node(s) were "
                "asked for (--min-nodes): did every worker start? see the job's log"
            )
        sleep(poll)


def process_started_at() -> float | None:
    """When this process started (epoch seconds, from /proc: Linux), else None: how long a
    trial's process took from its start to the trial's, imports and Tune's set-up included."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    # the age from the uptime clock (10 ms steps); the boot time /proc gives is whole seconds
    return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


def where() -> dict:
    """Where this process runs: host, Ray node id, and the SLURM job, node and step if any."""
    out = {"host": socket.gethostname()}
    try:
        import ray

        if ray.is_initialized():
            out["ray_node"] = ray.get_runtime_context().get_node_id()
    except ImportError:  # the notes are also written by tests without Ray
        pass
    out.update({k: os.environ[v] for k, v in SLURM_FIELDS.items() if os.environ.get(v)})
    return out
