"""A multi-node Ray cluster on one machine, on loopback: a head and worker raylets started with
``ray start``, each with its own resources. Used to rehearse lost workers before a real cluster.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
# The `ray` command of this interpreter's environment, whether or not it is on PATH.
RAY_CLI = [sys.executable, "-m", "ray.scripts.scripts"]
# A loopback rehearsal cluster needs no token authentication; drivers connecting to it must run
# with the same setting (``cluster_env()``).
# It also notices a dead node within seconds rather than Ray's default half minute.
CLUSTER_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


def cluster_env() -> dict:
    """The environment for processes that start or join a LocalCluster."""
    return dict(os.environ, **CLUSTER_ENV)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@dataclass
class LocalCluster:
    """``ray start --head`` plus ``ray start --address`` workers on 127.0.0.1."""

    workers: int = 2
    cpus_per_worker: int = 2
    head_cpus: int = 0  # the head runs the driver only, so trials land on workers
    object_store_bytes: int = 200_000_000  # small: a rehearsal moves little data
    port: int = field(default_factory=free_port)
    worker_ports: list[int] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The cluster's address for ``run --address``."""
        return f"{LOOPBACK}:{self.port}"

    def _ray(self, *args: str) -> None:
        subprocess.run(
            [*RAY_CLI, *args],
            check=True,
            capture_output=True,
            text=True,
            env=cluster_env(),
            timeout=120,
        )

    def start(self) -> LocalCluster:
        """Start the head and the workers; returns self."""
        self._ray(
            "start",
            "--head",
            f"--node-ip-address={LOOPBACK}",
            f"--port={self.port}",
            f"--num-cpus={self.head_cpus}",
            "--num-gpus=0",
            "--include-dashboard=false",
            f"--object-store-memory={self.object_store_bytes}",
            "--disable-usage-stats",
        )
        for i in range(self.workers):
            port = free_port()
            self.worker_ports.append(port)
            self._ray(
                "start",
                f"--address={self.address}",
                f"--node-ip-address={LOOPBACK}",
                f"--num-cpus={self.cpus_per_worker}",
                "--num-gpus=0",
                f"--object-store-memory={self.object_store_bytes}",
                f"--node-manager-port={port}",
                f"--resources={json.dumps({f'worker{i}': 1})}",
                "--disable-usage-stats",
            )
        return self

    def raylet_pid(self, worker: int) -> int:
        """The process id of a worker's raylet (read from /proc: Linux)."""
        flag = f"--node_manager_port={self.worker_ports[worker]}"
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"raylet") and flag.encode() in cmd:
                return int(proc.name)
        raise LookupError(f"no raylet for worker {worker} ({flag})")

    def running_trials(self, worker: int) -> int:
        """How many Tune trials a worker is running now: its raylet's children titled
        ``ray::ImplicitFunc.train`` (a function trainable inside ``train``), not idle processes."""
        return self.trial_processes(worker)[0]

    def trial_processes(self, worker: int) -> tuple[int, int]:
        """(running, idle) trial processes of a worker: its raylet's children titled
        ``ray::ImplicitFunc.train`` and ``ray::ImplicitFunc`` (a finished trial's process that
        Tune keeps for reuse)."""
        raylet = str(self.raylet_pid(worker))
        running = idle = 0
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                parent = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
                title = (proc / "cmdline").read_bytes().split(b"\0")[0]
            except (OSError, IndexError):
                continue
            if parent == raylet:
                running += title.startswith(b"ray::ImplicitFunc.train")
                idle += title.rstrip() == b"ray::ImplicitFunc"
        return running, idle

    def kill_worker(self, worker: int) -> int:
        """SIGKILL a worker's raylet (its trials die with it); returns the pid killed."""
        pid = self.raylet_pid(worker)
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        """Stop this cluster's processes and only them (other Ray instances on the machine, a
        sweep's private one or another rehearsal, go on): everything of its session folder,
        children first."""
        session = self._session_dir()
        if session is None:
            return
        procs = _processes()
        roots = {pid for pid, (_, cmd) in procs.items() if session.encode() in cmd}
        doomed = _with_descendants(roots, procs)
        for sig, grace in ((signal.SIGTERM, 3), (signal.SIGKILL, 10)):
            for pid in sorted(doomed, reverse=True):
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.time() + grace
            while time.time() < deadline and any(_exists(p) for p in doomed):
                time.sleep(0.2)
        address_file = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        try:
            if address_file.read_text().strip().endswith(f":{self.port}"):
                address_file.unlink()
        except OSError:
            pass

    def _session_dir(self) -> str | None:
        """The session folder of this cluster's GCS (``--log_dir=<session>/logs``)."""
        flag = f"--gcs_server_port={self.port}".encode()
        for _, cmd in _processes().values():
            args = cmd.split(b"\0")
            if args and args[0].endswith(b"gcs_server") and flag in args:
                for a in args:
                    if a.startswith(b"--log_dir="):
                        return os.path.dirname(a.split(b"=", 1)[1].decode().rstrip("/"))
        return None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every process (read from /proc: Linux)."""
    out = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            out[int(proc.name)] = (parent, (proc / "cmdline").read_bytes())
        except (OSError, IndexError, ValueError):
            continue
    return out


def _with_descendants(roots: set[int], procs: dict[int, tuple[int, bytes]]) -> set[int]:
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, (parent, _) in procs.items() if parent in frontier} - found
        found |= frontier
    return found


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers; it is gone for our purpose
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
