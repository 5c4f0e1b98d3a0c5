"""Checking a store and a results folder after a disk or bucket incident, and repairing them.

Every store entry is checked in full (marker, sizes, digests, the rows it gives) and every node
file of the results is read. Repairs never delete: a damaged entry or an unreadable row file is
moved aside; a row file of a committed node is rebuilt from its entry; a damaged node trains
again at the next ``run``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.fs as pafs

from orchestrator.results.from_store import entry_problem, rows_from_store
from orchestrator.results.row_files import quarantine_row_file, scan, write_node_rows
from orchestrator.store import ArtifactStore, DamagedEntry
from orchestrator.uri import filesystem, is_remote


@dataclass
class Finding:
    """One damaged thing: a store entry or a row file, what is wrong, what a repair did."""

    kind: str  # "entry" or "rows"
    node_id: str
    where: str
    problem: str
    repair: str | None = None


@dataclass
class Report:
    """What ``verify`` found."""

    store: str | None = None
    results: str | None = None
    entries: int = 0
    committed: int = 0
    quarantined_before: int = 0
    sweeps: list[str] = field(default_factory=list)
    row_files: int = 0
    orphans_removed: int = 0  # --repair: old attempts no marker names (crashes, racing commits)
    damaged: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)  # worth knowing, not damage

    @property
    def ok(self) -> bool:
        return not self.damaged

    def to_dict(self) -> dict:
        out = asdict(self)
        out["ok"] = self.ok
        return out


def verify_store(store: ArtifactStore, report: Report, repair: bool) -> None:
    """Check every entry of ``store`` in full; with ``repair`` move the damaged ones aside."""
    report.store = store.uri
    report.quarantined_before = len(store.quarantined())
    for node_id in store.entry_ids():
        report.entries += 1
        c = store.check(node_id, digests=True)
        if c.state == "absent":
            continue  # an attempt without marker: a training in progress or a crash's leftover
        problem = c.reason if c.damaged else entry_problem(store, node_id)
        if problem is None:
            report.committed += 1
            if repair:
                report.orphans_removed += store.remove_orphans(node_id)
            continue
        finding = Finding("entry", node_id, f"{store.uri}/{node_id}", problem)
        if repair:
            where = store.quarantine(c) if c.damaged else store.set_aside(node_id, problem)
            finding.repair = (
                f"moved aside to {where}; the next run trains it again" if where else None
            )
        report.damaged.append(finding)


def sweep_folders(results: str) -> list[tuple[str, str]]:
    """``(results root, sweep)`` of ``results``: one sweep folder (it has ``trials/``), or a
    results folder holding sweep folders."""
    fs, path = filesystem(results)
    if fs.get_file_info(f"{path}/trials").type == pafs.FileType.Directory:
        return [(_parent(results), path.rstrip("/").rsplit("/", 1)[-1])]
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return [
        (results, i.base_name)
        for i in sorted(infos, key=lambda i: i.base_name)
        if i.type == pafs.FileType.Directory
        and fs.get_file_info(f"{i.path}/trials").type == pafs.FileType.Directory
    ]


def _parent(location: str) -> str:
    query = ""
    if is_remote(location) and "?" in location:
        location, query = location.split("?", 1)
        query = "?" + query
    if not is_remote(location):
        return str(Path(location).expanduser().resolve().parent)
    return location.rstrip("/").rsplit("/", 1)[0] + query


def verify_results(results: str, store: ArtifactStore | None, report: Report, repair: bool) -> None:
    """Read every node file under ``results``; with a store, check that every committed node's
    file holds its done rows. ``repair`` rebuilds those from the store, moves the rest aside."""
    report.results = results
    for root, sweep in sweep_folders(results):
        report.sweeps.append(sweep)
        for f in scan(root, sweep):
            report.row_files += 1
            committed = store is not None and store.is_committed(f.node_id)
            problem = f.problem
            if problem is None and committed and any(r["status"] != "done" for r in f.rows):
                status = next(r["status"] for r in f.rows if r["status"] != "done")
                problem = f"it holds a {status!r} row, but the node is committed in the store"
            if problem is None:
                if store is not None and not committed:
                    report.notes.append(
                        Finding(
                            "rows",
                            f.node_id,
                            f.path,
                            "no committed entry in the store: the next run trains the node",
                        )
                    )
                continue
            finding = Finding("rows", f.node_id, f.path, problem)
            if repair:
                finding.repair = _repair_rows(
                    root, sweep, f.node_id, problem, store if committed else None
                )
            report.damaged.append(finding)


def _repair_rows(
    root: str, sweep: str, node_id: str, problem: str, store: ArtifactStore | None
) -> str | None:
    if store is not None:
        try:
            rows = rows_from_store(store, None, node_id=node_id, sweep=sweep, run_id="verify")
        except (DamagedEntry, KeyError):
            rows = None
        if rows:
            write_node_rows(root, sweep, node_id, rows)
            return f"rebuilt from the store entry {store.payload_uri(node_id)}"
    where = quarantine_row_file(root, sweep, node_id, problem)
    return f"moved aside to {where}; the next run writes the node's rows again" if where else None
