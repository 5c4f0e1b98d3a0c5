"""``run SWEEP.yaml``: run a sweep as one Ray Tune experiment."""

from __future__ import annotations

import sys

from orchestrator.commands.args import (
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from orchestrator.commands.plan import add_max_nodes
from orchestrator.run.tracking import TRACKERS


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a sweep on Ray Tune (a local Ray instance by default)")
    p.add_argument("sweep", help="the sweep file (YAML)")
    p.add_argument("--results", default="results", help="results folder or URI (default ./results)")
    p.add_argument(
        "--store", default="artifacts", help="artifact store path or URI (default ./artifacts)"
    )
    _add_cluster_options(p)
    _add_simulation_options(p)
    p.add_argument(
        "--log-to",
        action="append",
        choices=TRACKERS,
        default=None,
        help="log each trained node to an experiment tracker (repeatable): one run per node, "
        "its hyperparameters as config, its per-epoch dev metrics as curves",
    )
    p.add_argument("--verbose", action="store_true", help="show the trials' own logs")
    add_max_nodes(p)


def _add_simulation_options(p) -> None:
    p.add_argument(
        "--simulate",
        action="store_true",
        help="sleep for the cost model's time instead of training",
    )
    p.add_argument(
        "--speed",
        type=positive_float,
        default=1.0,
        help="with --simulate: divide durations by this",
    )
    p.add_argument(
        "--simulate-failures",
        default=None,
        metavar="GLOB",
        help="with --simulate: make the nodes matching GLOB (ids or method/task/sSEED labels, "
        "comma-separated) fail, to rehearse retries and blocked nodes",
    )


def _add_cluster_options(p) -> None:
    p.add_argument(
        "--address",
        default=None,
        help="Ray cluster address; 'local' starts a fresh local instance "
        "(default: a running cluster, else a local instance)",
    )
    p.add_argument(
        "--num-cpus", type=positive_int, default=None, help="CPUs of a local Ray instance"
    )
    p.add_argument(
        "--fresh-actors",
        action="store_true",
        help="start every trial in a new process, also where a finished trial's process could "
        "serve the next (trials that share no GPU); seconds slower per trial",
    )
    p.add_argument(
        "--min-nodes",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="wait until the cluster has N Ray nodes before starting (a batch job whose workers "
        "start beside the driver: deploy/slurm, deploy/k8s); exit status 1 if they do not come",
    )
    p.add_argument(
        "--min-nodes-timeout",
        type=non_negative_float,
        default=600.0,
        metavar="S",
        help="with --min-nodes: seconds to wait (default 600)",
    )


def _run(args, checked):
    from orchestrator.run.runner import RunOptions, run_sweep

    options = RunOptions(
        results=args.results,
        store=args.store,
        address=args.address,
        simulate=args.simulate,
        speed=args.speed,
        verbose=args.verbose,
        num_cpus=args.num_cpus,
        simulate_failures=args.simulate_failures,
        reuse_actors=False if args.fresh_actors else None,
        min_nodes=args.min_nodes,
        min_nodes_timeout=args.min_nodes_timeout,
        log_to=tuple(args.log_to or ()),
    )
    return run_sweep(checked.spec, options)


def main(args) -> int:
    from orchestrator.planning.preflight import check_sweep
    from orchestrator.problems import Report
    from orchestrator.run.cluster import MissingNodes
    from orchestrator.run.prepare import absolute
    from orchestrator.run.session import address_problem
    from orchestrator.run.tracking import missing_packages

    report = Report()
    problem = address_problem(args.address)
    if problem:
        report.add("--address", "", problem)
    for missing in missing_packages(args.log_to or []):
        report.add("", "", missing)
    checked = check_sweep(
        args.sweep,
        absolute(args.store),
        results=args.results,
        max_nodes=args.max_nodes,
        simulate=args.simulate,
        report=report,
    )
    spec = checked.spec
    try:
        summary = _run(args, checked)
    except MissingNodes as e:  # --min-nodes: the cluster did not come up whole
        print(f"error: {e}", file=sys.stderr)
        return 1
    c = summary.counts
    print(
        f"\nrun {summary.run_id} of {summary.sweep} finished in {summary.wall_s:.0f}s: "
        f"{c.get('done', 0)} done, {c.get('cached', 0)} cached, {c.get('failed', 0)} failed, "
        f"{c.get('blocked', 0)} blocked, {summary.retried} trial(s) retried"
    )
    for node_id, err in summary.failed.items():
        print(f"  failed  {node_id}: {err}", file=sys.stderr)
    for node_id in summary.blocked:
        print(f"  blocked {node_id}", file=sys.stderr)
    from orchestrator.analysis.tables import build_table, render
    from orchestrator.results import row_files as results
    from orchestrator.uri import join

    df = results.load(join(args.results, spec.name))
    table = build_table(df)
    if table.methods:
        print("\nresults (test score, mean over seeds):")
        print(render(table))
    if spec.probing is not None or spec.fewshot is not None:
        from orchestrator.analysis.experiment_tables import render_fewshot, render_probing

        print()
        print(render_probing(df) if spec.probing is not None else render_fewshot(df))
    return 0 if summary.ok else 1
