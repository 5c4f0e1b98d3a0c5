"""``report DIR --out report.html``: the sweep's results as one self-contained HTML page."""

from __future__ import annotations

import os

from orchestrator.commands.args import results_to_draw


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="the results as one self-contained HTML page")
    p.add_argument("dir", help="results/<sweep>")
    p.add_argument("--out", required=True, help="the page to write (.html)")


def main(args) -> int:
    from orchestrator.analysis.report import render_report

    df = results_to_draw(args.dir, args.out, (".html", ".htm"), "an .html file")
    page = render_report(df, title=f"{os.path.basename(args.dir.rstrip('/'))}: results")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(page)
    print(f"wrote {args.out} ({len(page) / 1e6:.1f} MB)")
    return 0
