"""``table DIR``: the results as the paper's grid, optionally beside the paper's numbers."""

from __future__ import annotations

import sys

from orchestrator.analysis.significance import ALPHA, TESTS
from orchestrator.analysis.tables import build_table, mark_significance, render, search_table
from orchestrator.commands.args import positive_int, results_folder
from orchestrator.results import row_files as results
from trainables.tasks.registry import BENCHMARKS


def add_parser(sub) -> None:
    p = sub.add_parser("table", help="the results as the paper's grid")
    p.add_argument("dir", help="results/<sweep>")
    p.add_argument(
        "--benchmark", default=None, choices=sorted(BENCHMARKS), help="one benchmark of the sweep"
    )
    p.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    p.add_argument("--split", choices=("test", "dev"), default="test")
    p.add_argument("--std", action="store_true", help="show the std over seeds")
    p.add_argument("--k", type=positive_int, default=None, help="few-shot sweeps: the k to show")
    p.add_argument(
        "--search",
        action="store_true",
        help="show every search: the configurations tried, their dev scores, the winner",
    )
    p.add_argument(
        "--probing",
        action="store_true",
        help="probing results: score by each source adapter's fixed omega, and the pairwise grids",
    )
    p.add_argument(
        "--fewshot",
        action="store_true",
        help="few-shot results: each method's average score over a benchmark's tasks by k",
    )
    p.add_argument(
        "--compare-paper",
        action="store_true",
        help="put the paper's number and the difference beside each cell",
    )
    p.add_argument(
        "--significance",
        action="store_true",
        help="mark the cells that differ from the baseline row beyond chance over seeds",
    )
    p.add_argument(
        "--baseline",
        default=None,
        metavar="METHOD",
        help="the row every other is compared with (default: adapter, else the first row)",
    )
    p.add_argument("--test", choices=TESTS, default="welch", help="the test over seeds")
    p.add_argument(
        "--alpha", type=float, default=ALPHA, help="the family-wise threshold (Holm-corrected)"
    )


def main(args) -> int:
    folder = results_folder(args.dir)
    if args.search:
        print(search_table(results.load(folder)))
        return 0
    if args.probing or args.fewshot:
        from orchestrator.analysis.experiment_tables import render_fewshot, render_probing

        df = results.load(folder)
        print(render_probing(df) if args.probing else render_fewshot(df))
        return 0
    t = build_table(
        results.load(folder),
        benchmark=args.benchmark,
        split=args.split,
        compare_paper=args.compare_paper,
        k=args.k,
    )
    if args.significance:
        try:
            mark_significance(t, test=args.test, baseline=args.baseline, alpha=args.alpha)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    print(render(t, fmt=args.format, std=args.std))
    return 0
