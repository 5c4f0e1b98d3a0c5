"""Fault scenarios, each run for real on Ray with the simulated trainable; prints what was lost.

    python benchmarks/faults.py --json            # every scenario
    python benchmarks/faults.py --only worker_kill

Scenarios:
- worker_kill: a local multi-node cluster on loopback (``ray start``); a worker's raylet is
  SIGKILLed while trials run on it. The sweep must complete, lost trials resume or rerun.
- driver_kill: the driver is SIGKILLed mid-run and the same command is run again.
- trial_failure: one node fails every try; it is retried, marked failed, its dependents blocked,
  and the rest of the sweep completes; the exit status says so.
- concurrent_sweeps: two sweeps sharing stage-one adapters run at once on one store, each with
  the embedded default (no ``--address``): each starts its own private Ray instance.
- corruption: while the sweep runs, committed entries are damaged (a truncated marker, an emptied
  payload file, a deleted attempt folder) and their row files emptied or truncated; the run ends,
  then the same command runs again and repairs them.

Figures per scenario and in total: nodes planned, workers killed, driver kills, trials retried,
nodes completed, nodes lost (must be 0), nodes trained to completion more than once (must be 0),
nodes repaired.

A node trained twice and a repaired node both have two training notes
(``<results>/<sweep>/trainings/``); what tells them apart is the store's quarantine
(``<store>/.quarantine/<node>/``): a damaged entry moved aside there is a training lost to the
damage, so a node with k entries moved aside may train 1 + k times. A node counts as trained twice
when it trained more often than that, and as repaired when it had an entry moved aside and now
has a valid one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
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
from orchestrator.store import MARKER, open_store  # noqa: E402
from orchestrator.sweep.spec import load_spec  # noqa: E402
from orchestrator.testing.local_cluster import LocalCluster, cluster_env  # noqa: E402

SWEEP_A = ROOT / "tests" / "sweeps" / "tiny_sim.yaml"
SWEEP_B = ROOT / "tests" / "sweeps" / "tiny_sim_b.yaml"


def run_cmd(sweep: Path, work: Path, speed: float, *extra: str) -> list[str]:
    """The ``orchestrator run --simulate`` command line of a scenario."""
    return [
        sys.executable,
        "-m",
        "orchestrator",
        "run",
        str(sweep),
        "--simulate",
        "--speed",
        str(speed),
        "--results",
        str(work / "results"),
        "--store",
        str(work / "store"),
        *extra,
    ]


def retried_from(stdout: str) -> int:
    """The retried-trials count of a run's closing line."""
    for line in stdout.splitlines():
        if "trial(s) retried" in line:
            return int(line.split(" trial(s) retried")[0].rsplit(" ", 1)[-1])
    return 0


def failed_retries(stdout: str) -> int:
    """Retries that failed again: a node retried more than once, or failed after its retries."""
    retried = Counter(
        line.split("retrying ", 1)[1].split(" (", 1)[0]
        for line in stdout.splitlines()
        if "retrying " in line
    )
    failed = sum(1 for line in stdout.splitlines() if "FAILED " in line)
    return failed + sum(c - 1 for c in retried.values())


def outcome(work: Path, sweeps: list[Path]) -> dict:
    """Nodes planned, completed, lost and trained more than once across the given sweeps."""
    store = open_store(str(work / "store"))
    planned: set[str] = set()
    for s in sweeps:
        planned |= {n.id for n in plan_sweep(load_spec(s), simulate=True).nodes}
    committed = set(store.committed_ids())
    trained: Counter = Counter()
    for s in sweeps:
        name = load_spec(s).name
        trained.update(t["node_id"] for t in results.trainings(str(work / "results" / name)))
    moved_aside = Counter(q["node_id"] for q in store.quarantined())
    return {
        "nodes_planned": len(planned),
        "nodes_completed": len(planned & committed),
        "nodes_lost": len(planned - committed),
        "nodes_trained_twice": sum(1 for i, c in trained.items() if c > 1 + moved_aside[i]),
        "nodes_repaired": len({i for i in moved_aside if i in committed}),
    }


# How long the worker kill waits for a moment with a running and an idle trial process on the
# worker before it kills at a moment with a running one only.
IDLE_WAIT_S = 4.0


def worker_kill(work: Path) -> dict:
    """Kill a worker's raylet while trials run on it; the sweep must still complete."""
    with LocalCluster(workers=2, cpus_per_worker=2) as cluster:
        cmd = run_cmd(SWEEP_A, work, 0.4, "--address", cluster.address)
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=cluster_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        store_dir = work / "store"
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if store_dir.exists() and len(open_store(str(store_dir)).committed_ids()) >= 1:
                break
            time.sleep(0.2)
        # Kill while a trial runs there (between waves the worker may be idle; a kill then tests
        # nothing), at best while an idle process Tune keeps for reuse waits there too: the
        # retry must not be handed that one.
        idle_deadline = time.time() + IDLE_WAIT_S
        idle_on_killed, running_since = 0, None
        while time.time() < deadline and proc.poll() is None:
            running, idle_on_killed = cluster.trial_processes(0)
            now = time.time()
            running_since = (running_since or now) if running else None
            # a trial seen running a while is into its training, not about to report its end
            into_training = running_since is not None and now - running_since >= 0.3
            if into_training and (idle_on_killed or now > idle_deadline):
                break
            time.sleep(0.05)
        cluster.kill_worker(0)
        out, _ = proc.communicate(timeout=600)
        return {
            **outcome(work, [SWEEP_A]),
            "workers_killed": 1,
            "driver_kills": 0,
            "trials_retried": retried_from(out),
            "exit_status": proc.returncode,
            "retries_failed": failed_retries(out),
            "processes_reused": "trial processes: reused" in out,
            "idle_processes_on_killed_worker": idle_on_killed,
            "log_tail": out[-1500:],
        }


def driver_kill(work: Path) -> dict:
    """SIGKILL the driver mid-run, then run the same command again."""
    env = cluster_env()
    proc = subprocess.Popen(
        run_cmd(SWEEP_A, work, 0.5, "--address", "local"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store_dir = work / "store"
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if store_dir.exists() and len(open_store(str(store_dir)).committed_ids()) >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    again = subprocess.run(
        run_cmd(SWEEP_A, work, 4, "--address", "local"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {
        **outcome(work, [SWEEP_A]),
        "workers_killed": 0,
        "driver_kills": 1,
        "trials_retried": retried_from(again.stdout),
        "exit_status": again.returncode,
    }


def trial_failure(work: Path) -> dict:
    """A node that fails on every try: retried, then failed; its dependents blocked."""
    out = subprocess.run(
        run_cmd(
            SWEEP_A,
            work,
            8,
            "--address",
            "local",
            "--simulate-failures",
            "adapter/syn_sentiment/s0",
        ),
        cwd=ROOT,
        env=cluster_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    df = results.load(str(work / "results" / "tiny_sim"))
    status = df.groupby("status")["node_id"].nunique().to_dict()
    figures = outcome(work, [SWEEP_A])
    failed_or_blocked = status.get("failed", 0) + status.get("blocked", 0)
    return {
        **figures,
        "workers_killed": 0,
        "driver_kills": 0,
        "trials_retried": retried_from(out.stdout),
        "exit_status": out.returncode,
        "nodes_failed": status.get("failed", 0),
        "nodes_blocked": status.get("blocked", 0),
        # failed and blocked nodes are reported, not lost
        "nodes_lost": figures["nodes_lost"] - failed_or_blocked,
        "error": df.loc[df.status == "failed", "error"].tolist(),
    }


def concurrent_sweeps(work: Path) -> dict:
    """Two sweeps sharing stage-one adapters run at the same time on one store, both with the
    embedded default: neither joins the other's private Ray instance."""
    # A Ray temp folder of their own, so neither joins a `ray start` cluster of this machine's
    # other users; both runs share it, as two runs of one user do.
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {k: v for k, v in cluster_env().items() if k != "RAY_ADDRESS"}
    env["RAY_TMPDIR"] = ray_tmp
    procs = [
        subprocess.Popen(
            run_cmd(s, work, 2, "--num-cpus", "2"),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for s in (SWEEP_A, SWEEP_B)
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    sessions = len(list((Path(ray_tmp) / "ray").glob("session_2*")))
    shutil.rmtree(ray_tmp, ignore_errors=True)
    figures = outcome(work, [SWEEP_A, SWEEP_B])
    shared = {n.id for n in plan_sweep(load_spec(SWEEP_A), simulate=True).nodes} & {
        n.id for n in plan_sweep(load_spec(SWEEP_B), simulate=True).nodes
    }
    return {
        **figures,
        "workers_killed": 0,
        "driver_kills": 0,
        "trials_retried": sum(retried_from(o) for o in outs),
        "exit_status": max(p.returncode for p in procs),
        "nodes_shared": len(shared),
        "ray_instances": sessions,
        "log_tail": "\n".join(o[-1500:] for o in outs),
    }


def _damage_entry(store_dir: Path, node_id: str, kind: str) -> None:
    entry = store_dir / node_id
    attempt = entry / "attempts" / json.loads((entry / MARKER).read_text())["attempt"]
    if kind == "truncated marker":
        (entry / MARKER).write_bytes((entry / MARKER).read_bytes()[:25])
    elif kind == "emptied payload file":
        (attempt / "rows.json").write_bytes(b"")
    else:  # deleted attempt folder
        shutil.rmtree(attempt)


def corruption(work: Path) -> dict:
    """Damage committed entries and their row files while the sweep runs; the run ends, the same
    command runs again and repairs them."""
    env = cluster_env()
    plan = plan_sweep(load_spec(SWEEP_A), simulate=True)
    needed = {d for n in plan.nodes for d in n.deps}
    leaves = [n.id for n in plan.nodes if n.id not in needed]  # nothing in flight reads them
    kinds = ["truncated marker", "emptied payload file", "deleted attempt folder"]
    proc = subprocess.Popen(
        run_cmd(SWEEP_A, work, 3, "--address", "local", "--num-cpus", "2"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    store_dir, trials = work / "store", work / "results" / "tiny_sim" / "trials"
    damaged: dict[str, str] = {}
    rows_damaged = 0
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and len(damaged) < len(kinds):
        store = open_store(str(store_dir))
        for node_id in leaves:
            row_file = trials / f"{node_id}.parquet"
            if node_id in damaged or not store.is_committed(node_id) or not row_file.exists():
                continue
            kind = kinds[len(damaged)]
            _damage_entry(store_dir, node_id, kind)
            data = row_file.read_bytes()
            row_file.write_bytes(b"" if len(damaged) % 2 == 0 else data[: len(data) // 2])
            damaged[node_id], rows_damaged = kind, rows_damaged + 1
            break
        time.sleep(0.2)
    damaged_while_running = proc.poll() is None
    first_out, _ = proc.communicate(timeout=600)
    again = subprocess.run(
        run_cmd(SWEEP_A, work, 8, "--address", "local", "--num-cpus", "2"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    figures = outcome(work, [SWEEP_A])
    df = results.load(str(work / "results" / "tiny_sim"))
    return {
        **figures,
        "workers_killed": 0,
        "driver_kills": 0,
        "trials_retried": retried_from(first_out) + retried_from(again.stdout),
        "exit_status": max(proc.returncode, again.returncode),
        "entries_damaged": len(damaged),
        "row_files_damaged": rows_damaged,
        "damaged_while_running": damaged_while_running,
        "damage": sorted(damaged.values()),
        "rows_done_after_rerun": int((df.status == "done").sum()),
        "rows_not_done_after_rerun": int((df.status != "done").sum()),
        "first_run_warned": first_out.count("warning: skipping"),
        "log_tail": first_out[-1500:] + again.stderr[-1500:],
    }


SCENARIOS = {
    "worker_kill": worker_kill,
    "driver_kill": driver_kill,
    "trial_failure": trial_failure,
    "concurrent_sweeps": concurrent_sweeps,
    "corruption": corruption,
}
TOTALS = (
    "nodes_planned",
    "workers_killed",
    "driver_kills",
    "trials_retried",
    "nodes_completed",
    "nodes_lost",
    "nodes_trained_twice",
    "nodes_repaired",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args()
    figures = {}
    for name in args.only or SCENARIOS:
        with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as tmp:
            start = time.time()
            figures[name] = SCENARIOS[name](Path(tmp))
            figures[name]["wall_s"] = round(time.time() - start, 1)
            figures[name].pop("log_tail", None)
        print(f"{name}: {json.dumps(figures[name])}", file=sys.stderr)
    total = {k: sum(f.get(k, 0) for f in figures.values()) for k in TOTALS}
    if args.json:
        print(json.dumps({"scenarios": figures, "total": total}, indent=1))
    else:
        for k, v in total.items():
            print(f"{k:>22}: {v}")
    return 0 if total["nodes_lost"] == 0 and total["nodes_trained_twice"] == 0 else 1


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
