"""``plan SWEEP.yaml [--json] [--estimate --gpus N]``: what a sweep will run, and how long."""

from __future__ import annotations

import json
from collections import Counter

from orchestrator.commands.args import positive_float, positive_int
from orchestrator.contract.methods import Kind
from orchestrator.estimate.makespan import LOOP_PER_GPU, TWO_WAVES, compare_schedules
from orchestrator.planning.plan import Plan
from orchestrator.planning.preflight import check_sweep
from orchestrator.planning.size import DEFAULT_MAX_NODES


def add_parser(sub) -> None:
    p = sub.add_parser("plan", help="show the nodes a sweep will run")
    p.add_argument("sweep", help="the sweep file (YAML)")
    p.add_argument(
        "--store",
        default="artifacts",
        help="artifact store (path or URI) to check for cached nodes",
    )
    p.add_argument("--json", action="store_true", help="print the whole plan (or estimate) as JSON")
    p.add_argument("--estimate", action="store_true", help="estimate the run time on --gpus GPUs")
    p.add_argument(
        "--gpus", type=positive_float, default=1.0, help="GPUs for --estimate (default 1)"
    )
    p.add_argument(
        "--simulate", action="store_true", help="plan the simulated nodes of run --simulate"
    )
    add_max_nodes(p)


def add_max_nodes(p) -> None:
    """The plan-size guard's option (``plan`` and ``run``)."""
    p.add_argument(
        "--max-nodes",
        type=positive_int,
        default=DEFAULT_MAX_NODES,
        metavar="N",
        help=f"stop when the sweep makes more than N nodes (default {DEFAULT_MAX_NODES:,})",
    )


def main(args) -> int:
    plan = check_sweep(
        args.sweep, args.store, max_nodes=args.max_nodes, simulate=args.simulate
    ).plan
    if args.estimate:
        est = compare_schedules(plan, args.gpus)
        if args.json:
            print(json.dumps({"sweep": plan.sweep, "estimate": est}, indent=1))
        else:
            print(format_estimate(plan, est))
        return 0
    if args.json:
        print(json.dumps(plan.to_dict(), indent=1, default=str))
    else:
        print(format_plan(plan, args.sweep))
    return 0


# Dependency groups the summary lists one by one (a probing sweep has one per source and seed).
MAX_GROUPS = 12


def format_plan(plan: Plan, path: str) -> str:
    """The human summary: counts by kind, method and task, cached nodes, dependencies."""
    nodes = plan.nodes
    cached = sum(n.id in plan.cached for n in nodes)
    lines = [
        f"sweep {plan.sweep} ({path}): {len(nodes)} nodes, {cached} cached, "
        f"{len(nodes) - cached} to run",
        "",
    ]
    by_method = Counter((n.kind, n.method) for n in nodes)
    cached_by = Counter((n.kind, n.method) for n in nodes if n.id in plan.cached)
    lines.append(f"{'kind':<9} {'method':<22} {'nodes':>6} {'cached':>7}")
    for kind in Kind:
        for (k, m), c in sorted(by_method.items()):
            if k == kind:
                lines.append(f"{k.value:<9} {m:<22} {c:>6} {cached_by[(k, m)]:>7}")
    lines.append("")
    by_task = Counter(n.task or f"{n.benchmark} (joint)" for n in nodes)
    lines.append("nodes per task: " + ", ".join(f"{t} {c}" for t, c in by_task.items()))
    lines.append("")
    ids = plan.by_id()
    standing = [n for n in nodes if n.kind.has_sources]
    if standing:
        groups = Counter((n.kind, tuple(s.node_id for s in n.sources)) for n in standing)
        shown = sorted(groups.items(), key=lambda g: -g[1])
        for (kind, deps), count in shown[:MAX_GROUPS]:
            names = ", ".join(ids[d].label for d in deps)
            lines.append(f"{count} {kind.value} nodes depend on {len(deps)} source nodes: {names}")
        if len(shown) > MAX_GROUPS:
            rest = sum(c for _, c in shown[MAX_GROUPS:])
            lines.append(f"... and {rest} more in {len(shown) - MAX_GROUPS} other groups")
    else:
        lines.append("no dependencies: every node can start at once")
    searches: dict[str, list] = {}
    for n in nodes:
        if n.search:
            searches.setdefault(n.search.group, []).append(n)
    if searches:
        lines.append("")
        lines.append(f"{len(searches)} search group(s):")
    for gid, group in searches.items():
        spec = group[0].search.spec
        samples = [n for n in group if n.search.role == "sample"]
        best = [n for n in group if n.search.role == "best"]
        where = group[0].task or group[0].benchmark
        lines.append(
            f"  {gid}: {group[0].method} on {where}: {len(samples)} samples "
            f"({spec['samples']} x seeds {spec['seeds']}) over {', '.join(group[0].search.keys)}"
            f" by {spec['metric']} ({spec['sampler']}); then {len(best)} seed node(s) with the best"
        )
    return "\n".join(lines)


def format_estimate(plan: Plan, est: dict) -> str:
    """The human summary of an estimate."""
    return "\n".join(
        [
            f"sweep {plan.sweep}: {est['nodes']} nodes to run on {est['gpus']:g} GPU(s)",
            f"  total work       {est['total_work_gpu_h']:10.1f} GPU-hours",
            f"  critical path    {est['critical_path_h']:10.1f} h",
            f"  lower bound      {est['lower_bound_h']:10.1f} h"
            "  (max of critical path, work / GPUs)",
            f"  makespan         {est['makespan_h']:10.1f} h"
            f"  ({est['makespan_over_bound']:.3f} x bound)",
            f"  utilisation      {100 * est['utilisation']:10.1f} %",
            "  (cost model: orchestrator/planning/cost_model.py)",
            *_format_baselines(est),
        ]
    )


_BASELINE_NAMES = {
    TWO_WAVES: "all of stage one, then all of stage two",
    LOOP_PER_GPU: "one loop per GPU in the reference scripts' order",
}


def _format_baselines(est: dict) -> list[str]:
    """Makespans of the DAG schedule and the baselines side by side (``compare_schedules``)."""
    if "baselines" not in est:
        return []
    lines = ["", f"  {'schedule':<50} {'makespan h':>10} {'x bound':>8} {'util %':>7}"]
    rows = [("DAG, longest chain first (this run)", est)]
    rows += [(_BASELINE_NAMES[k], b) for k, b in est["baselines"].items()]
    for name, r in rows:
        lines.append(
            f"  {name:<50} {r['makespan_h']:10.1f} {r['makespan_over_bound']:8.3f}"
            f" {100 * r['utilisation']:7.1f}"
        )
    return lines
