"""The shipped SLURM batch script, ``deploy/slurm/scalearn.sbatch``, submitted for real to a SLURM
cluster that this script starts on this machine: two SLURM nodes of 2 CPUs each on loopback (one
slurmd per node), munge for authentication, everything under a temporary folder.

    python benchmarks/slurm_rehearsal.py --json             # as root, slurm-wlm and munge installed
    python benchmarks/slurm_rehearsal.py --json --install   # apt-get installs them first (CI)

The same ``sbatch`` command, a simulated ``tests/sweeps/tiny_sim.yaml``, three times:

1. cancelled: ``scancel`` once the first nodes are committed;
2. resumed: submitted again; it shows every node committed by (1) as cached, runs the rest and
   completes;
3. again: submitted once more; everything is cached.

Checks (exit status 1 if one fails): the jobs end CANCELLED, COMPLETED, COMPLETED; every planned
node is committed; (2) caches exactly what (1) committed and trains none of it again; every
training ran in a Ray worker process of its job's own ``srun`` steps (its note in
``<results>/<sweep>/trainings/`` names the job, the SLURM node and the step), some on the worker
node, not the head's; no process of a job outlives it. Takes about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.planning.plan import plan_sweep  # noqa: E402
from orchestrator.results import row_files as results  # noqa: E402
from orchestrator.store import open_store  # noqa: E402
from orchestrator.sweep.spec import load_spec  # noqa: E402
from orchestrator.testing.local_cluster import LOOPBACK, free_port  # noqa: E402

SCRIPT = ROOT / "deploy" / "slurm" / "scalearn.sbatch"
SWEEP = ROOT / "tests" / "sweeps" / "tiny_sim.yaml"
NODES = ("n1", "n2")  # the first is the head (the batch script's first node)
CPUS_PER_NODE = 2
PARTITION = "rehearsal"
BINARIES = ("sbatch", "scancel", "scontrol", "sinfo", "slurmctld", "slurmd", "munged")
PACKAGES = ("slurm-wlm", "munge")

# What a loopback cluster needs that a real one does not: no dashboard (its port may be taken on a
# shared machine), a small object store.
HEAD_ARGS = "--include-dashboard=false --object-store-memory=200000000"
WORKER_ARGS = f"--node-ip-address={LOOPBACK} --object-store-memory=200000000"


def slurm_conf(work: Path, host: str, ports: dict) -> str:
    """slurm.conf of a two-node cluster on loopback; every file of it under ``work``."""
    nodes = "\n".join(
        f"NodeName={n} NodeHostname={host} NodeAddr={LOOPBACK} Port={ports[n]} "
        f"CPUs={CPUS_PER_NODE} State=UNKNOWN"
        for n in NODES
    )
    return f"""\
ClusterName=rehearsal
SlurmctldHost={host}({LOOPBACK})
SlurmctldPort={ports["ctld"]}
SlurmdPort={ports[NODES[0]]}
CommunicationParameters=NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={work}/munge/munge.sock
StateSaveLocation={work}/spool/ctld
SlurmdSpoolDir={work}/spool/%n
SlurmctldPidFile={work}/spool/slurmctld.pid
SlurmdPidFile={work}/spool/slurmd-%n.pid
SlurmctldLogFile={work}/log/slurmctld.log
SlurmdLogFile={work}/log/slurmd-%n.log
# Tracks a step's processes by parentage: no cgroups needed, Ray's processes are the step's
# descendants (ray start --block stays their parent).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# Two nodes of 2 CPUs whatever this machine has: the configuration, not the hardware, counts.
SlurmdParameters=config_overrides
MpiDefault=none
KillWait=5
{nodes}
PartitionName={PARTITION} Nodes={",".join(NODES)} Default=YES MaxTime=INFINITE State=UP
"""


def install() -> None:
    """Install SLURM and munge from the distribution's packages (Debian's apt, as root)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        check=True,
        env=env,
    )


def job_processes(job_id: int) -> list[int]:
    """Processes running with the job's environment (SLURM_JOB_ID), i.e. started by the job."""
    marker = f"SLURM_JOB_ID={job_id}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            pids.append(int(proc.name))
    return pids


class LoopbackSlurm:
    """munged, slurmctld and one slurmd per node, in the foreground, as children of this process."""

    def __init__(self, work: Path):
        self.work = work
        self.conf = work / "slurm.conf"
        self.procs: list[subprocess.Popen] = []

    @property
    def env(self) -> dict:
        return dict(os.environ, SLURM_CONF=str(self.conf))

    def cmd(self, *args: str) -> str:
        """Run a SLURM client command against this cluster; its stdout."""
        out = subprocess.run(
            args, env=self.env, capture_output=True, text=True, timeout=60, check=False
        )
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def _daemon(self, *args: str) -> None:
        log = open(self.work / "log" / f"{Path(args[0]).name}-{len(self.procs)}.out", "w")
        self.procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))

    def start(self) -> LoopbackSlurm:
        w = self.work
        for d in ("munge", "spool/ctld", "log"):
            (w / d).mkdir(parents=True, exist_ok=True)
        (w / "munge").chmod(0o700)
        key = w / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))  # a key for this rehearsal only
        key.chmod(0o400)
        self._daemon(
            "munged",
            "--foreground",
            "--force",
            f"--key-file={key}",
            f"--socket={w}/munge/munge.sock",
            f"--pid-file={w}/munge/munged.pid",
            f"--log-file={w}/munge/munged.log",
            f"--seed-file={w}/munge/munged.seed",
        )
        _wait(lambda: (w / "munge" / "munge.sock").exists(), 30, "munged did not start")
        ports = {"ctld": free_port(), **{n: free_port() for n in NODES}}
        # slurmctld finds itself in SlurmctldHost by this machine's short name
        self.conf.write_text(slurm_conf(w, socket.gethostname().split(".")[0], ports))
        self._daemon("slurmctld", "-D", "-f", str(self.conf))
        for node in NODES:
            self._daemon("slurmd", "-D", "-N", node, "-f", str(self.conf))

        def idle() -> bool:
            try:
                states = self.cmd("sinfo", "-h", "-N", "-o", "%N %T").split("\n")
            except RuntimeError:
                return False
            return sum(line.endswith(" idle") for line in states) == len(NODES)

        _wait(idle, 90, "the SLURM nodes did not come up idle")
        return self

    def sbatch(self, *args: str, env: dict) -> int:
        """Submit; the job id."""
        out = subprocess.run(
            ["sbatch", "--parsable", *args],
            env={**self.env, **env},
            cwd=ROOT,  # as a user would: from the project's folder
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return int(out.stdout.strip().split(";")[0])

    def job(self, job_id: int) -> dict:
        """The job's fields (``scontrol show job -o``): JobState, ExitCode, NodeList, ..."""
        line = self.cmd("scontrol", "show", "job", "-o", str(job_id)).strip()
        return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)

    def wait_job(self, job_id: int, timeout: float) -> dict:
        """Wait until the job has ended (not pending, running or completing); its fields."""
        end = time.time() + timeout
        while True:
            job = self.job(job_id)
            if job["JobState"] not in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING"):
                return job
            if time.time() > end:
                raise TimeoutError(f"job {job_id} still {job['JobState']} after {timeout:g} s")
            time.sleep(0.5)

    def stop(self) -> None:
        try:
            self.cmd("scancel", "--partition", PARTITION)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            pass
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


def _wait(cond, timeout: float, what: str) -> None:
    end = time.time() + timeout
    while not cond():
        if time.time() > end:
            raise TimeoutError(what)
        time.sleep(0.3)


def plan_counts(log: str) -> tuple[int, int, int] | None:
    """(nodes, cached, to run) of the line ``sweep S: N nodes, M cached, K to run`` of a run."""
    m = re.search(r"(\d+) nodes, (\d+) cached, (\d+) to run", log)
    return tuple(int(g) for g in m.groups()) if m else None


def where_trained(notes: list[dict], jobs: dict[str, str], head: str) -> dict:
    """Where the trainings of ``notes`` ran: per job (``jobs``: job id -> name) by SLURM node; how
    many on the head's Ray node, on workers' and outside the jobs' Ray nodes (a note without a
    job of ours, or written by the batch step itself rather than by a Ray node's step)."""
    inside = [
        n
        for n in notes
        if n.get("slurm_job") in jobs and n.get("slurm_step", "batch") not in ("batch", "extern")
    ]
    by_job: dict[str, Counter] = {}
    for n in inside:
        by_job.setdefault(jobs[n["slurm_job"]], Counter())[n.get("slurm_node")] += 1
    by_node = sum(by_job.values(), Counter())
    return {
        "trials_by_job_and_slurm_node": {j: dict(sorted(c.items())) for j, c in by_job.items()},
        "trials_on_head": by_node.get(head, 0),
        "trials_on_workers": sum(c for node, c in by_node.items() if node != head),
        "trials_outside_allocation": len(notes) - len(inside),
        "ray_nodes_used": len({n.get("ray_node") for n in inside}),
    }


def rehearse(work: Path) -> dict:
    """Start SLURM, submit, cancel, submit again twice; the figures and checks."""
    shared = work / "shared"
    spec = load_spec(SWEEP)
    planned = {n.id for n in plan_sweep(spec, simulate=True).nodes}
    store = open_store(str(shared / "artifacts"))
    jobs: dict[str, dict] = {}
    figures: dict = {"nodes_planned": len(planned)}
    slurm = LoopbackSlurm(work).start()
    try:

        def submit(name: str, speed: float) -> int:
            env = {
                "SCALEARN_SHARED": str(shared),
                "SCALEARN_VENV": sys.prefix,
                "SCALEARN_HEAD_IP": LOOPBACK,
                "SCALEARN_RAY_PORT": str(free_port()),
                "SCALEARN_RAY_HEAD_ARGS": HEAD_ARGS,
                "SCALEARN_RAY_TMP": str(work / "ray"),  # Ray's session files in our folder
                "SCALEARN_RAY_WORKER_ARGS": WORKER_ARGS,
                "SCALEARN_WAIT_S": "120",
                # this checkout's code, also where the project is installed elsewhere
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.getenv("PYTHONPATH")])),
            }
            # What differs from the script's #SBATCH lines on this machine: the partition, CPUs,
            # no GPUs and no memory limit (the rehearsal's nodes declare none), a short time.
            job_id = slurm.sbatch(
                f"--partition={PARTITION}",
                f"--nodes={len(NODES)}",
                f"--cpus-per-task={CPUS_PER_NODE}",
                "--gpus-per-node=0",
                "--mem=0",
                "--time=10",
                f"--output={work}/job-%j.out",
                str(SCRIPT),
                str(SWEEP.relative_to(ROOT)),
                "--simulate",
                "--speed",
                str(speed),
                env=env,
            )
            jobs[name] = {"id": job_id, "submitted_at": time.time()}
            return job_id

        def finish(name: str, timeout: float) -> str:
            job_id = jobs[name]["id"]
            job = slurm.wait_job(job_id, timeout)
            # A job's processes must end with it: SLURM ends its steps, the steps end Ray.
            try:
                _wait(lambda: not job_processes(job_id), 30, "")
            except TimeoutError:
                pass
            left = job_processes(job_id)
            for pid in left:  # ours (they carry our job's id): end them, and report them
                os.kill(pid, signal.SIGKILL)
            log = (work / f"job-{job_id}.out").read_text(errors="replace")
            jobs[name].update(
                state=job["JobState"],
                exit_code=job.get("ExitCode"),
                wall_s=round(time.time() - jobs[name].pop("submitted_at"), 1),
                leftover_processes=len(left),
                plan=plan_counts(log),
            )
            return log

        # 1. Cancelled once its first nodes are committed.
        first = submit("cancelled", speed=1)

        def some_committed() -> bool:
            if store.committed_ids():
                return True
            if slurm.job(first)["JobState"] not in ("PENDING", "CONFIGURING", "RUNNING"):
                raise RuntimeError(f"job {first} ended before it committed a node")
            return False

        _wait(some_committed, 240, f"job {first} committed no node")
        slurm.cmd("scancel", str(first))
        finish("cancelled", 60)
        committed = set(store.committed_ids()) & planned
        figures["committed_when_cancelled"] = len(committed)

        # 2. Submitted again: resumes.
        submit("resumed", speed=4)
        finish("resumed", 300)
        plan2 = jobs["resumed"]["plan"] or (None, None, None)
        figures["cached_on_resubmit"], figures["to_run_on_resubmit"] = plan2[1], plan2[2]

        # 3. Once more: all cached.
        submit("again", speed=4)
        finish("again", 120)
        figures["cached_on_third"] = (jobs["again"]["plan"] or (None, None))[1]
    finally:
        slurm.stop()

    notes = results.trainings(str(shared / "results" / spec.name))
    done = set(store.committed_ids()) & planned
    resumed_id = str(jobs["resumed"]["id"])
    retrained = {n["node_id"] for n in notes if n.get("slurm_job") == resumed_id} & committed
    figures.update(
        nodes_done=len(done),
        nodes_lost=len(planned - done),
        retrained_after_commit=len(retrained),
        nodes_trained_twice=sum(c > 1 for c in Counter(n["node_id"] for n in notes).values()),
        leftover_processes=sum(j["leftover_processes"] for j in jobs.values()),
        **where_trained(notes, {str(j["id"]): name for name, j in jobs.items()}, head=NODES[0]),
    )
    checks = {
        "cancelled job ends CANCELLED": jobs["cancelled"]["state"] == "CANCELLED",
        "resubmitted jobs complete": all(
            jobs[j]["state"] == "COMPLETED" for j in ("resumed", "again")
        ),
        "some nodes committed before the cancel, some left": 0 < len(committed) < len(planned),
        "every node committed before the cancel is cached": figures["cached_on_resubmit"]
        == len(committed),
        "the resubmission trains none of them again": not retrained,
        "every planned node is committed": figures["nodes_lost"] == 0,
        "a third submission is all cached": figures["cached_on_third"] == len(planned),
        "every training ran inside its job's Ray nodes": figures["trials_outside_allocation"] == 0,
        "trainings ran on the worker node": figures["trials_on_workers"] > 0,
        "no process outlives its job": figures["leftover_processes"] == 0,
    }
    return {"jobs": jobs, **figures, "checks": checks, "ok": all(checks.values())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--install", action="store_true", help="apt-get install slurm-wlm and munge if missing"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("error: slurmd runs jobs as their user and must run as root", file=sys.stderr)
        return 2
    if args.install and not all(shutil.which(b) for b in BINARIES):
        install()
    missing = [b for b in BINARIES if not shutil.which(b)]
    if missing:
        print(
            f"error: {', '.join(missing)} missing: apt-get install {' '.join(PACKAGES)}"
            " (or --install)",
            file=sys.stderr,
        )
        return 2
    work = Path(tempfile.mkdtemp(prefix="slurm-reh-"))
    start = time.time()
    try:
        figures = rehearse(work)
    except Exception as e:  # a daemon or job that did not come: say where to look
        logs = sorted(work.glob("job-*.out")) + sorted((work / "log").glob("*"))
        tails = {p.name: p.read_text(errors="replace")[-2000:] for p in logs if p.is_file()}
        print(json.dumps({"error": repr(e), "logs": tails}, indent=1), file=sys.stderr)
        print(f"work folder kept: {work}", file=sys.stderr)
        return 1
    figures = {"wall_s": round(time.time() - start, 1), **figures}
    if args.keep or not figures["ok"]:
        print(f"work folder kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        for name, ok in figures["checks"].items():
            print(f"{'ok  ' if ok else 'FAIL'} {name}")
        print(f"wall time {figures['wall_s']} s")
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
