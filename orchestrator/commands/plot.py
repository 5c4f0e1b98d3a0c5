"""``plot DIR --out FILE``: Figure 1 and the grid heatmap, or learned omegas of a target."""

from __future__ import annotations

import sys

from orchestrator.analysis.plots import KINDS
from orchestrator.commands.args import results_to_draw
from orchestrator.contract.methods import HEADLINE
from orchestrator.problems import UsageError
from trainables.tasks.registry import BENCHMARKS


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="draw results (png, pdf or svg)")
    p.add_argument("dir", help="results/<sweep>")
    p.add_argument("--out", required=True, help="the figure file: .png, .pdf or .svg")
    p.add_argument(
        "--kind",
        default="overview",
        choices=KINDS,
        help="overview: average score against transfer parameters and the grid "
        "heatmap; omegas: ScaLearn's learned scaling per source and layer; search: dev score "
        "against the searched hyperparameters; probing: score against each source adapter's "
        "fixed omega, and the pairwise grids; fewshot: average score against k per method",
    )
    p.add_argument("--benchmark", default=None, choices=sorted(BENCHMARKS))
    p.add_argument("--target", default=None, help="with --kind omegas: the target task")
    p.add_argument("--method", default=HEADLINE, help="with --kind omegas: the ScaLearn variant")


def main(args) -> int:
    from orchestrator.analysis.plots import plot

    df = results_to_draw(args.dir, args.out, (".png", ".pdf", ".svg"), "a .png, .pdf or .svg file")
    try:
        path = plot(
            df,
            args.out,
            kind=args.kind,
            benchmark=args.benchmark,
            target=args.target,
            method=args.method,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the folder went away or refused the file while drawing
        raise UsageError("--out", f"cannot write {args.out}: {e.strerror or e}") from None
    print(f"wrote {path}")
    return 0
