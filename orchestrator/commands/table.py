"""``table DIR``: the results grid, methods by tasks."""

from __future__ import annotations

from orchestrator import results


def add_parser(sub) -> None:
    p = sub.add_parser("table", help="the results as the paper's grid")
    p.add_argument("dir", help="results/<sweep>")
    p.add_argument("--benchmark", default=None)
    p.add_argument("--split", choices=("test", "dev"), default="test")
    p.add_argument("--std", action="store_true", help="show the std over seeds")


def main(args) -> int:
    g = results.grid(
        results.load(args.dir), benchmark=args.benchmark, split=args.split, std=args.std
    )
    print(g.round(2).to_string(na_rep="-") if not g.empty else f"no finished rows in {args.dir}")
    return 0
