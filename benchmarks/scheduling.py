"""Scheduling on real Ray: the measured makespan of a simulated sweep against the estimate.

    python benchmarks/scheduling.py --json                       # sweeps/demo.yaml, 4 slots
    python benchmarks/scheduling.py --slots 8 --speed 0.5 --sweep sweeps/demo.yaml

Starts a local Ray instance with ``--slots`` CPUs (the demo's nodes each ask for one CPU and no
GPU, so each CPU is a slot; simulated trials only sleep, so slots may exceed the cores), runs the
sweep with ``run --simulate`` semantics in this process (``orchestrator.run.runner.run_sweep``) once
per arm, each on a fresh instance and store:

- ``fresh`` (the baseline): every trial in a new Ray actor process, as Tune does without reuse;
- ``reused`` (the runner's default on a local instance unless trials share GPUs): Tune hands a
  finished trial's process to the next trial asking for the same resources;
- ``cluster-fresh`` and ``cluster`` (``--arms``): a loopback cluster of two workers
  (``orchestrator.testing.local_cluster``), a process per trial, and the runner's default there:
  processes reused, with the guard that evicts idle ones after a lost machine
  (``orchestrator.run.actor_reuse``).

For each arm it reports:

- makespan: first trial start to last commit, from the result rows (``started_at`` and
  ``finished_at``), against ``simulate_schedule`` of the same plan, slots and speed;
  goal: measured at most 1.2x the estimate;
- per-trial overhead: for each node, from the moment it could start (its sources committed and a
  slot free, assigning slots greedily in start order) to its trial's start inside the worker;
  goal: median under 2 s;
- in-trial overhead: a trial's wall time beyond its simulated duration (reports, checkpoints,
  commit).

Prints one JSON object (``--json``: the goals judged on the last arm, every arm's figures under
"arms", and the fresh / reused makespan ratio) and a short summary on stderr.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_MAKESPAN_RATIO = 1.2
GOAL_OVERHEAD_S = 2.0


def ready_times(nodes: dict, rows: dict, slots: int, run_start: float) -> dict[str, float]:
    """Each node's earliest possible start (sources done, a slot free), in seconds.

    ``rows`` maps node id -> (started_at, finished_at) in seconds. Nodes are taken in start order
    and each gets the slot that freed first, so queueing for a slot is not counted as overhead.
    """
    free = [run_start] * slots
    heapq.heapify(free)
    out = {}
    for node_id in sorted(rows, key=lambda i: rows[i][0]):
        started, finished = rows[node_id]
        slot_free = heapq.heappop(free)
        deps_done = max((rows[d][1] for d in nodes[node_id].deps if d in rows), default=run_start)
        out[node_id] = max(slot_free, deps_done, run_start)
        heapq.heappush(free, finished)
    return out


def start_overheads(nodes: dict, rows: dict, slots: int, run_start: float) -> dict[str, float]:
    """Seconds from each node's earliest possible start to its start (``ready_times``)."""
    ready = ready_times(nodes, rows, slots, run_start)
    return {i: rows[i][0] - ready[i] for i in rows}


def start_breakdown(ready: dict, rows: dict, process_start: dict) -> dict[str, list[float]]:
    """Where a trial's start-up goes: from its earliest possible start to the start of the
    process it runs in (Tune's scheduling, the placement group, the raylet starting a worker),
    and from then to the trial's start (the worker's imports, the trainable's set-up). A reused
    process started before the node was ready: all its wait counts as the second part."""
    to_process, in_process = [], []
    for i, (started, _) in rows.items():
        p = process_start.get(i)
        if p is None:
            continue
        spawned = min(max(p, ready[i]), started)
        to_process.append(spawned - ready[i])
        in_process.append(started - spawned)
    return {"until_process_start": to_process, "process_to_trial_start": in_process}


# fresh: a new trial process per trial (baseline); reused: the default on a local instance;
# cluster: a loopback two-node cluster with the runner's default there (processes reused, the
# lost-machine guard of orchestrator.run.actor_reuse); cluster-fresh: that cluster with a process
# per trial (the baseline on a cluster)
ARMS = ("fresh", "reused", "cluster-fresh", "cluster")
REUSE = {"fresh": False, "reused": True, "cluster-fresh": False, "cluster": None}
DEFAULT_ARMS = ("fresh", "reused")


def measure_arm(spec, plan, slots: int, speed: float, work: Path, arm: str) -> dict:
    """Run the simulated sweep once on a fresh local Ray instance, or a fresh loopback cluster
    for the ``cluster`` arm; its figures."""
    import contextlib

    import ray

    from orchestrator.results import row_files as results
    from orchestrator.run.runner import RunOptions, run_sweep
    from orchestrator.testing.local_cluster import CLUSTER_ENV, LocalCluster

    with contextlib.ExitStack() as stack:
        address = None
        if arm.startswith("cluster"):
            os.environ.update(CLUSTER_ENV)
            cluster = stack.enter_context(LocalCluster(workers=2, cpus_per_worker=slots // 2))
            address = cluster.address
        else:
            ray.init(
                address="local",  # a fresh instance, never a cluster some other process started
                num_cpus=slots,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="WARNING",
            )
        run_start = time.time()
        try:
            options = RunOptions(
                results=str(work / "results"),
                store=str(work / "store"),
                address=address,
                simulate=True,
                speed=speed,
                reuse_actors=REUSE[arm],
            )
            summary = run_sweep(spec, options)
        finally:
            run_end = time.time()
            ray.shutdown()

    nodes = plan.by_id()
    df = results.load(str(work / "results" / spec.name))
    df = df[df["status"] == "done"]
    spans = df.groupby("node_id").agg(
        started=("started_at", "min"), finished=("finished_at", "max")
    )
    rows = {i: (r.started.timestamp(), r.finished.timestamp()) for i, r in spans.iterrows()}
    measured = max(f for _, f in rows.values()) - min(s for s, _ in rows.values())
    overhead = start_overheads(nodes, rows, slots, run_start)
    in_trial = [f - s - nodes[i].cost for i, (s, f) in rows.items()]
    process_start = {
        t["node_id"]: t["process_started_at"]
        for t in results.trainings(str(work / "results" / spec.name))
        if t.get("process_started_at")
    }
    parts = start_breakdown(ready_times(nodes, rows, slots, run_start), rows, process_start)
    return {
        "reuse_actors": REUSE[arm] is not False,
        "nodes_done": len(rows),
        "run_ok": bool(summary.ok),
        "measured_makespan_s": measured,
        "run_wall_s": run_end - run_start,
        "first_trial_start_s": min(s for s, _ in rows.values()) - run_start,
        "overhead_median_s": statistics.median(overhead.values()),
        "overhead_p90_s": statistics.quantiles(overhead.values(), n=10)[-1],
        "overhead_max_s": max(overhead.values()),
        "in_trial_overhead_median_s": statistics.median(in_trial),
        **{f"overhead_{k}_median_s": statistics.median(v) if v else None for k, v in parts.items()},
        "work": str(work),
    }


def arm_in_child(argv: list[str], arm: str, work: Path) -> dict:
    """One arm's figures, measured by this script in a process of its own: Ray Tune registers the
    trainable once per process, and a later Ray session of the same process (a cluster after a
    local instance) does not find it."""
    import subprocess

    child = subprocess.run(
        [sys.executable, __file__, *argv, "--arms", arm, "--work", str(work), "--json"],
        capture_output=True,
        text=True,
    )
    sys.stderr.write(child.stderr[-3000:])
    if child.returncode not in (0, 1) or not child.stdout.strip():
        raise RuntimeError(f"the {arm} arm failed (exit status {child.returncode})")
    return json.loads(child.stdout)["arms"][arm]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--sweep", default=str(ROOT / "sweeps" / "demo.yaml"))
    parser.add_argument("--slots", type=int, default=4, help="CPUs of the local Ray instance")
    parser.add_argument("--speed", type=float, default=1.0, help="run --simulate's --speed")
    parser.add_argument("--work", default=None, help="results and store folder (default: temp)")
    parser.add_argument(
        "--arms",
        default=",".join(DEFAULT_ARMS),
        help="comma-separated: 'reused' (the runner's default on a local instance: Tune reuses "
        "a finished trial's process), 'fresh' (a new process per trial, the baseline), "
        "'cluster' (a loopback cluster of two workers of --slots / 2 CPUs, with the runner's "
        "default there: processes reused, guarded against lost machines) and 'cluster-fresh' "
        "(that cluster, a process per trial)",
    )
    args = parser.parse_args(argv)
    arms = [a for a in args.arms.split(",") if a]
    if not arms or set(arms) - set(ARMS):
        parser.error(f"--arms: choose from {', '.join(ARMS)}, not {args.arms!r}")

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    from orchestrator.estimate.makespan import simulate_schedule
    from orchestrator.planning.plan import plan_sweep
    from orchestrator.sweep.spec import load_spec

    spec = load_spec(args.sweep)
    plan = plan_sweep(spec, simulate=True)
    for node in plan.nodes:  # the estimate of what run --simulate --speed X sleeps
        node.cost /= args.speed
    estimate = simulate_schedule(plan, args.slots)
    estimate_s = estimate["makespan_h"] * 3600

    work = Path(args.work or tempfile.mkdtemp(prefix="scheduling-bench-"))
    figures = {}
    for arm in arms:
        if len(arms) == 1:
            f = measure_arm(spec, plan, args.slots, args.speed, work / arm, arm)
        else:
            f = arm_in_child(argv if argv is not None else sys.argv[1:], arm, work)
        f["makespan_ratio"] = f["measured_makespan_s"] / estimate_s
        figures[arm] = f
    ours = figures[arms[-1]]
    out = {
        "benchmark": "scheduling",
        "sweep": spec.name,
        "slots": args.slots,
        "speed": args.speed,
        "nodes": len(plan.nodes),
        "estimate_makespan_s": estimate_s,
        "estimate_lower_bound_s": estimate["lower_bound_h"] * 3600,
        "arm": arms[-1],
        "measured_makespan_s": ours["measured_makespan_s"],
        "makespan_ratio": ours["makespan_ratio"],
        "goal_makespan_ratio": GOAL_MAKESPAN_RATIO,
        "makespan_met": bool(ours["makespan_ratio"] <= GOAL_MAKESPAN_RATIO),
        "overhead_median_s": ours["overhead_median_s"],
        "goal_overhead_s": GOAL_OVERHEAD_S,
        "overhead_met": bool(ours["overhead_median_s"] < GOAL_OVERHEAD_S),
        "arms": figures,
    }
    for fresh, reused in (("fresh", "reused"), ("cluster-fresh", "cluster")):
        if {fresh, reused} <= set(figures):
            out[f"makespan_{fresh}_over_{reused}".replace("-", "_")] = (
                figures[fresh]["measured_makespan_s"] / figures[reused]["measured_makespan_s"]
            )
    if args.json:
        print(json.dumps(out, indent=1))
    lines = [
        f"scheduling, {spec.name}: {len(plan.nodes)} nodes on {args.slots} slots, "
        f"speed {args.speed:g}; estimate {estimate_s:.1f} s"
    ]
    for arm, f in figures.items():
        lines.append(
            f"  {arm:>13}: makespan {f['measured_makespan_s']:.1f} s = {f['makespan_ratio']:.2f}x "
            f"the estimate; start overhead median {f['overhead_median_s']:.2f} s, "
            f"p90 {f['overhead_p90_s']:.2f} s; in-trial overhead median "
            f"{f['in_trial_overhead_median_s']:.2f} s; {f['nodes_done']} nodes done; start-up "
            f"median until the process starts {f['overhead_until_process_start_median_s']:.2f} s, "
            f"process start to trial start {f['overhead_process_to_trial_start_median_s']:.2f} s"
        )
    lines.append(
        f"  goals ({arms[-1]}): makespan <= {GOAL_MAKESPAN_RATIO}x: "
        f"{'met' if out['makespan_met'] else 'NOT met'}; overhead < {GOAL_OVERHEAD_S} s: "
        f"{'met' if out['overhead_met'] else 'NOT met'}"
    )
    print("\n".join(lines), file=sys.stderr)
    return 0 if all(f["run_ok"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
