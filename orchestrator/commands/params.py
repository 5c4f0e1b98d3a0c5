"""``params --backbone NAME --sources N``: trainable and transfer parameters of every method."""

from __future__ import annotations

import json
import sys

from orchestrator.commands.args import positive_int
from orchestrator.contract.methods import HEADLINE, HEADLINE_BASELINE, METHODS
from trainables import backbone_ref
from trainables.backbone_ref import BackboneError
from trainables.tasks.registry import CLASSIFICATION


def add_parser(sub) -> None:
    p = sub.add_parser("params", help="parameter counts of every method on a backbone")
    p.add_argument(
        "--backbone",
        default="roberta-base",
        help="a name, hub id (org/name[@revision]) or checkpoint folder, as a sweep's backbone:",
    )
    p.add_argument("--sources", type=positive_int, default=8, help="number of source adapters")
    p.add_argument("--json", action="store_true")


def backbone_problems(text: str) -> list[str]:
    """Why ``text`` cannot be counted (torch-free, as at plan time): not a backbone, files
    missing, or an architecture some method does not run on."""
    try:
        ref = backbone_ref.parse(text)
    except BackboneError as e:
        return [str(e)]
    return backbone_ref.problems(ref, list(METHODS), {"(the counted head)": CLASSIFICATION})


def main(args) -> int:
    import logging

    problems = backbone_problems(args.backbone)
    if problems:
        for p in problems:
            print(f"error: --backbone {args.backbone}: {p}", file=sys.stderr)
        return 2
    from trainables.params import count_params

    # adapters warns once per model build that no adapter is active: true, and beside the point.
    logging.getLogger("adapters").setLevel(logging.ERROR)
    try:
        rows = count_params(args.backbone, args.sources)
    except OSError as e:  # a hub id neither cached nor reachable
        print(f"error: --backbone {args.backbone}: cannot read its config: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                {"backbone": args.backbone, "sources": args.sources, "methods": rows}, indent=1
            )
        )
        return 0
    print(f"{args.backbone}, {args.sources} sources (joint methods: {args.sources} tasks)")
    print(f"{'method':<22} {'kind':<9} {'trainable':>14} {'transfer':>12} {'counted':>14}")
    for r in rows:
        t = f"{r['transfer_params']:,}" if r["transfer_params"] is not None else "-"
        n = f"{r['trainable_params']:,}" if r["trainable_params"] is not None else "-"
        c = f"{r['counted']:,}" if r.get("counted") is not None else "-"
        print(f"{r['method']:<22} {r['kind']:<9} {n:>14} {t:>12} {c:>14}")
    print(
        "trainable: heads included (one 2-label head per task); counted: what the paper counts "
        "(the transfer layer; otherwise trainable without heads)"
    )
    for r in rows:
        if r.get("error"):
            print(f"{r['method']}: not counted with its default hyperparameters: {r['error']}")
    by = {r["method"]: r["transfer_params"] for r in rows}
    if by.get(HEADLINE) and by.get(HEADLINE_BASELINE):
        ratio = 100 * by[HEADLINE] / by[HEADLINE_BASELINE]
        ours, theirs = METHODS[HEADLINE].display, METHODS[HEADLINE_BASELINE].display
        print(f"{ours}'s transfer layer is {ratio:.2f} % of {theirs}'s")
    return 0
