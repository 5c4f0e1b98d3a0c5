"""``report DIR --out report.html``: the sweep's results as one self-contained HTML page."""

from __future__ import annotations

import os
import sys

from orchestrator import results
from orchestrator.commands.args import output_file, results_folder


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="the results as one self-contained HTML page")
    p.add_argument("dir", help="results/<sweep>")
    p.add_argument("--out", required=True, help="the page to write (.html)")


def main(args) -> int:
    from orchestrator.report import render_report

    if not args.out.lower().endswith((".html", ".htm")):
        print(f"error: --out {args.out}: expected an .html file", file=sys.stderr)
        return 2
    output_file(args.out)
    df = results.load(results_folder(args.dir))
    if df.empty:
        print(f"error: no results in {args.dir}", file=sys.stderr)
        return 2
    page = render_report(df, title=f"{os.path.basename(args.dir.rstrip('/'))}: results")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(page)
    print(f"wrote {args.out} ({len(page) / 1e6:.1f} MB)")
    return 0
