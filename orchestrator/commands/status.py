"""``status DIR``: counts of a results folder per method, task and status."""

from __future__ import annotations

from orchestrator.commands.args import results_folder
from orchestrator.results import row_files as results


def add_parser(sub) -> None:
    p = sub.add_parser("status", help="counts per method, task and status of a results folder")
    p.add_argument("dir", help="results/<sweep> (or its trials folder)")


def main(args) -> int:
    df = results.latest(results.load(results_folder(args.dir)))
    if df.empty:
        print(f"no results in {args.dir}")
        return 0
    print(f"{len(df['node_id'].unique())} nodes, {len(df)} rows in {args.dir}")
    print(df.groupby("status").size().to_string())
    print()
    counts = df.groupby(["method", "task", "status"]).size().unstack("status", fill_value=0)
    print(counts.to_string())
    return 0
