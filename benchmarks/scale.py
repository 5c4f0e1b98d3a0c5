"""The driver at scale: a simulated sweep of many nodes through real Ray Tune.

    python benchmarks/scale.py --json                  # 10,000 nodes
    python benchmarks/scale.py --nodes 1500 --json     # what 2 CPU cores finish in minutes

The sweep is the demo (``sweeps/demo.yaml``, 41 nodes per seed: stage one, transfer and joint)
with as many seeds as ``--nodes`` asks for, run with ``run --simulate`` semantics
(``orchestrator.run.runner.run_sweep``) in this process. Phases:

- ``driver``: a local instance, trial processes reused, trials that sleep about nothing
  (``--driver-speed``, default 1e6): what the driver itself sustains. Prints the node-finish rate
  of each tenth of the run (from the result rows' ``finished_at``); a rate that falls as the
  experiment grows is work that grows faster than the node count;
- ``cluster``: a loopback two-node cluster (``orchestrator.testing.local_cluster.LocalCluster``:
  a head that runs the driver only and two workers of ``--slots`` / 2 CPUs) with the runner's
  defaults there (trial processes reused, guarded against lost machines:
  ``orchestrator.run.actor_reuse``), at
  ``--speed`` (trials of a few seconds): the measured makespan (first trial start to last commit)
  against ``simulate_schedule`` of the same plan and slots;
- each run's driver peak memory (RSS high-water mark of this process; Ray runs beside it in
  other processes) and CPU seconds, then the time of ``status`` and ``table`` over the results
  and of a rerun of the sweep that finds every node cached.

Prints one JSON object with ``--json`` and a short summary on stderr. ``--phases`` picks phases.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # scheduling.py: the start overhead per trial

GOAL_MAKESPAN_RATIO = 1.1
PHASES = ("driver", "cluster")


def scaled_sweep(nodes: int, work: Path) -> tuple[Path, int]:
    """The demo sweep with enough seeds for about ``nodes`` nodes, written under ``work``;
    returns its path and its number of seeds."""
    import yaml

    from orchestrator.planning.plan import plan_sweep
    from orchestrator.sweep.spec import load_spec

    raw = yaml.safe_load((ROOT / "sweeps" / "demo.yaml").read_text())
    work.mkdir(parents=True, exist_ok=True)

    def write(seeds: int) -> Path:
        raw["sweep"] = f"scale{seeds}seeds"
        raw["benchmarks"]["synthetic"]["seeds"] = list(range(seeds))
        path = work / f"{raw['sweep']}.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    per_seed = len(plan_sweep(load_spec(write(1)), simulate=True).nodes)
    seeds = max(1, math.ceil(nodes / per_seed))
    return write(seeds), seeds


def finish_rates(finished: list[float], start: float, parts: int = 10) -> list[dict]:
    """Nodes per second over each of ``parts`` equal shares of the nodes, in finishing order."""
    finished = sorted(finished)
    n = len(finished)
    out, prev_t, prev_i = [], start, 0
    for k in range(1, parts + 1):
        i = round(n * k / parts)
        if i <= prev_i:
            continue
        t = finished[i - 1]
        out.append(
            {"nodes": f"{prev_i + 1}-{i}", "rate_per_s": (i - prev_i) / max(t - prev_t, 1e-9)}
        )
        prev_t, prev_i = t, i
    return out


def rate_between(finished: list[float], first: int, last: int) -> float | None:
    """Nodes per second from the ``first``-th to the ``last``-th node to finish (1-based)."""
    finished = sorted(finished)
    if len(finished) < last or first < 1:
        return None
    return (last - first) / max(finished[last - 1] - finished[first - 1], 1e-9)


def _usage() -> tuple[float, float]:
    """(CPU seconds, peak RSS in MiB) of this process so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def _cli(*args: str) -> float:
    """Seconds one ``python -m orchestrator`` command takes (output discarded)."""
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    t = time.time()
    subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        check=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
    )
    return time.time() - t


def run_phase(
    spec, work: Path, speed: float, address: str | None, reuse: bool, num_cpus: int | None
) -> dict:
    """One simulated run of the sweep; its figures."""
    from orchestrator.results import row_files as results
    from orchestrator.run.runner import RunOptions, run_sweep

    cpu0, _ = _usage()
    t0 = time.time()
    options = RunOptions(
        results=str(work / "results"),
        store=str(work / "store"),
        address=address,
        simulate=True,
        speed=speed,
        num_cpus=num_cpus,
        reuse_actors=reuse,
    )
    summary = run_sweep(spec, options)
    wall = time.time() - t0
    cpu1, peak = _usage()
    import ray

    ray.shutdown()
    df = results.load(str(work / "results" / spec.name))
    df = df[df["status"] == "done"]
    spans = df.groupby("node_id").agg(
        started=("started_at", "min"), finished=("finished_at", "max")
    )
    started = [r.started.timestamp() for r in spans.itertuples()]
    finished = [r.finished.timestamp() for r in spans.itertuples()]
    return {
        "run_ok": bool(summary.ok),
        "nodes_done": len(finished),
        "run_wall_s": wall,
        "measured_makespan_s": max(finished) - min(started) if finished else None,
        "driver_cpu_s": cpu1 - cpu0,
        "driver_peak_rss_mib": peak,
        "rates": finish_rates(finished, t0),
        "rate_first_230_per_s": rate_between(finished, 1, 230),
        "rate_250_540_per_s": rate_between(finished, 250, 540),
        "_started": t0,
        "_spans": {i: (r.started.timestamp(), r.finished.timestamp()) for i, r in spans.iterrows()},
    }


def after_run(sweep_path: Path, work: Path, name: str) -> dict:
    """Seconds of ``status``, ``table`` and a rerun that finds every node cached."""
    res, store = str(work / "results"), str(work / "store")
    folder = f"{res}/{name}"
    return {
        "status_s": _cli("status", folder),
        "table_s": _cli("table", folder),
        "cached_rerun_s": _cli(
            "run", str(sweep_path), "--simulate", "--results", res, "--store", store
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--nodes", type=int, default=10_000, help="about this many nodes")
    parser.add_argument("--slots", type=int, default=8, help="CPUs of the cluster's two workers")
    parser.add_argument("--speed", type=float, default=1.0, help="cluster phase's --speed")
    parser.add_argument("--driver-speed", type=float, default=1e6, help="driver phase's --speed")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="comma-separated: " + ", ".join(PHASES)
    )
    parser.add_argument("--work", default=None, help="results and store folder (default: temp)")
    args = parser.parse_args(argv)
    phases = [p for p in args.phases.split(",") if p]
    if not phases or set(phases) - set(PHASES):
        parser.error(f"--phases: choose from {', '.join(PHASES)}, not {args.phases!r}")

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    from orchestrator.estimate.makespan import simulate_schedule
    from orchestrator.planning.plan import plan_sweep
    from orchestrator.sweep.spec import load_spec

    work = Path(args.work or tempfile.mkdtemp(prefix="scale-bench-"))
    sweep_path, seeds = scaled_sweep(args.nodes, work)
    spec = load_spec(sweep_path)
    t = time.time()
    plan = plan_sweep(spec, simulate=True)
    plan_s = time.time() - t
    out: dict = {
        "benchmark": "scale",
        "sweep": spec.name,
        "nodes": len(plan.nodes),
        "plan_s": plan_s,
        "phases": {},
    }
    lines = [f"scale: {len(plan.nodes)} simulated nodes (the demo with {seeds} seeds)"]
    if "driver" in phases:
        f = run_phase(spec, work / "driver", args.driver_speed, "local", True, args.slots)
        f["speed"] = args.driver_speed
        f.update(after_run(sweep_path, work / "driver", spec.name))
        f.pop("_started"), f.pop("_spans")
        out["phases"]["driver"] = f
        rates = ", ".join(f"{r['rate_per_s']:.1f}" for r in f["rates"])
        lines.append(
            f"  driver (local, reused, speed {args.driver_speed:g}): {f['nodes_done']} nodes in "
            f"{f['run_wall_s']:.0f} s; nodes/s per tenth: {rates}; driver CPU "
            f"{f['driver_cpu_s']:.0f} s, peak RSS {f['driver_peak_rss_mib']:.0f} MiB; status "
            f"{f['status_s']:.1f} s, table {f['table_s']:.1f} s, cached rerun "
            f"{f['cached_rerun_s']:.1f} s"
        )
    if "cluster" in phases and len(phases) > 1:
        # Ray Tune registers the trainable once per process; a second Ray session of the same
        # process (the cluster after the local instance) does not find it
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                *(argv if argv is not None else sys.argv[1:]),
                "--phases",
                "cluster",
                "--work",
                str(work),
                "--json",
            ],
            capture_output=True,
            text=True,
        )
        if not child.stdout.strip():
            sys.stderr.write(child.stderr[-3000:])
            raise RuntimeError(f"the cluster phase failed (exit status {child.returncode})")
        out["phases"]["cluster"] = json.loads(child.stdout)["phases"]["cluster"]
        lines.append(child.stderr.strip().splitlines()[-1])
    elif "cluster" in phases:
        from orchestrator.testing.local_cluster import CLUSTER_ENV, LocalCluster

        for node in plan.nodes:  # the estimate of what run --simulate --speed X sleeps
            node.cost /= args.speed
        estimate_s = simulate_schedule(plan, args.slots)["makespan_h"] * 3600
        os.environ.update(CLUSTER_ENV)
        with LocalCluster(workers=2, cpus_per_worker=args.slots // 2) as cluster:
            f = run_phase(spec, work / "cluster", args.speed, cluster.address, None, None)
        from scheduling import start_overheads

        overhead = start_overheads(plan.by_id(), f.pop("_spans"), args.slots, f.pop("_started"))
        f["start_overhead_median_s"] = statistics.median(overhead.values())
        f["start_overhead_p90_s"] = statistics.quantiles(overhead.values(), n=10)[-1]
        f.update(speed=args.speed, slots=args.slots, estimate_makespan_s=estimate_s)
        f["makespan_ratio"] = (f["measured_makespan_s"] or math.inf) / estimate_s
        f["goal_makespan_ratio"] = GOAL_MAKESPAN_RATIO
        f["makespan_met"] = bool(f["makespan_ratio"] <= GOAL_MAKESPAN_RATIO)
        f["mean_trial_s"] = statistics.mean(n.cost for n in plan.nodes)
        out["phases"]["cluster"] = f
        lines.append(
            f"  cluster (2 loopback workers, {args.slots} slots, speed {args.speed:g}, trials "
            f"{f['mean_trial_s']:.1f} s on average): makespan {f['measured_makespan_s']:.0f} s = "
            f"{f['makespan_ratio']:.2f}x the estimate {estimate_s:.0f} s; start overhead "
            f"median {f['start_overhead_median_s']:.2f} s; driver CPU "
            f"{f['driver_cpu_s']:.0f} s, peak RSS {f['driver_peak_rss_mib']:.0f} MiB"
        )
    if args.json:
        print(json.dumps(out, indent=1))
    print("\n".join(lines), file=sys.stderr)
    return 0 if all(f["run_ok"] for f in out["phases"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
