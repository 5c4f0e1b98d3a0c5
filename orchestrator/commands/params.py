"""``params --backbone NAME --sources N``: trainable and transfer parameters of every method."""

from __future__ import annotations

import json

from orchestrator.commands.args import positive_int
from orchestrator.contract.methods import HEADLINE, HEADLINE_BASELINE, METHODS


def add_parser(sub) -> None:
    p = sub.add_parser("params", help="parameter counts of every method on a backbone")
    p.add_argument("--backbone", default="roberta-base")
    p.add_argument("--sources", type=positive_int, default=8, help="number of source adapters")
    p.add_argument("--json", action="store_true")


def main(args) -> int:
    import logging

    from trainables.params import count_params

    # adapters warns once per model build that no adapter is active: true, and beside the point.
    logging.getLogger("adapters").setLevel(logging.ERROR)
    rows = count_params(args.backbone, args.sources)
    if args.json:
        print(
            json.dumps(
                {"backbone": args.backbone, "sources": args.sources, "methods": rows}, indent=1
            )
        )
        return 0
    print(f"{args.backbone}, {args.sources} sources")
    print(f"{'method':<22} {'kind':<9} {'trainable':>14} {'transfer':>12}")
    for r in rows:
        t = f"{r['transfer_params']:,}" if r["transfer_params"] is not None else "-"
        print(f"{r['method']:<22} {r['kind']:<9} {r['trainable_params']:>14,} {t:>12}")
    by = {r["method"]: r["transfer_params"] for r in rows}
    if by.get(HEADLINE) and by.get(HEADLINE_BASELINE):
        ratio = 100 * by[HEADLINE] / by[HEADLINE_BASELINE]
        ours, theirs = METHODS[HEADLINE].display, METHODS[HEADLINE_BASELINE].display
        print(f"{ours}'s transfer layer is {ratio:.2f} % of {theirs}'s")
    return 0
