"""``verify [--store URI] [--results DIR] [--repair] [--json]``: check a store and a results
folder after a disk or bucket incident; exit status 1 when something is damaged."""

from __future__ import annotations

import json
import sys

import pyarrow.fs as pafs

from orchestrator.results.verify import Report, verify_results, verify_store
from orchestrator.uri import filesystem


def add_parser(sub) -> None:
    p = sub.add_parser(
        "verify",
        help="check every store entry and row file (like fsck); exit status 1 when any is damaged",
    )
    p.add_argument("--store", default=None, help="artifact store path or URI to check in full")
    p.add_argument(
        "--results",
        default=None,
        help="results folder or URI (holding sweep folders), or one results/<sweep> folder",
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="move damaged entries and unreadable row files aside (never deleted) and rebuild the "
        "row files of committed nodes from the store",
    )
    p.add_argument("--json", action="store_true", help="print the findings as one JSON object")


def _exists(location: str) -> bool:
    fs, path = filesystem(location)
    return fs.get_file_info(path).type == pafs.FileType.Directory


def main(args) -> int:
    if args.store is None and args.results is None:
        print("error: verify: give --store URI, --results DIR, or both", file=sys.stderr)
        return 2
    for flag, location in (("--store", args.store), ("--results", args.results)):
        if location is not None and not _exists(location):
            print(f"error: verify {flag} {location}: no such folder", file=sys.stderr)
            return 2
    from orchestrator.store import open_store

    report = Report()
    store = open_store(args.store) if args.store is not None else None
    if store is not None:
        verify_store(store, report, args.repair)
    if args.results is not None:
        verify_results(args.results, store, report, args.repair)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(render(report, args.repair))
    return 0 if report.ok else 1


def render(report: Report, repair: bool) -> str:
    """The human report: what was checked, each damaged thing and why, what a repair did."""
    lines = []
    entries = [f for f in report.damaged if f.kind == "entry"]
    rows = [f for f in report.damaged if f.kind == "rows"]
    if report.store is not None:
        lines.append(
            f"store {report.store}: {report.entries} entries, {report.committed} committed, "
            f"{len(entries)} damaged ({report.quarantined_before} moved aside before)"
        )
    if report.results is not None:
        lines.append(
            f"results {report.results}: {len(report.sweeps)} sweep(s), {report.row_files} row "
            f"file(s), {len(rows)} damaged"
        )
    for f in report.damaged:
        lines.append(f"  damaged {f.kind} {f.node_id}: {f.problem}")
        lines.append(f"          at {f.where}")
        if f.repair:
            lines.append(f"          repaired: {f.repair}")
    for f in report.notes:
        lines.append(f"  note    {f.kind} {f.node_id}: {f.problem}")
    if report.orphans_removed:
        lines.append(
            f"  removed {report.orphans_removed} old attempt folder(s) no marker names (leftovers "
            "of crashes or racing commits)"
        )
    if report.ok:
        lines.append("ok: nothing damaged")
    elif repair:
        lines.append(f"{len(report.damaged)} damaged, repaired; run `verify` again to confirm")
    else:
        lines.append(
            f"{len(report.damaged)} damaged: `verify --repair` moves them aside (nothing is "
            "deleted) and rebuilds the row files of committed nodes; `run` retrains the rest"
        )
    return "\n".join(lines)
