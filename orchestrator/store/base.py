"""The artifact store's interface and its guarantees; the backends implement a few primitives.

Layout under the root::

    <root>/<node_id>/attempts/<attempt>/...   payload files of one training attempt
    <root>/<node_id>/COMMIT.json              the commit marker, naming the attempt that counts
    <root>/<node_id>/CLAIM.json               who trains the node right now (while it trains)
    <root>/.quarantine/<node_id>/<stamp>/     damaged entries, moved aside (REASON.json says why)

The marker is a JSON object: ``format`` (2), ``node_id`` (the entry's own id), ``attempt`` (one
folder name under ``attempts/``), ``committed_at`` (seconds since the epoch), ``host``, ``files``
(every payload file's path relative to the attempt, with its ``size`` in bytes and ``sha256``),
and the committer's metadata.

Guarantees, which every backend keeps (``orchestrator.testing.store_contract`` checks them):

- Atomic commit. An entry counts only once its commit marker exists, and the marker is written
  last, after every payload file of its attempt is written and its size checked. A crash at any
  point leaves either no marker (nothing committed; the attempt folder is an orphan, removed
  later) or a marker naming a complete attempt.
- Verified. An entry is committed only when its marker parses, has the fields above, names a
  folder inside the entry, and the files it lists exist with the recorded sizes (checked at every
  look) and digests (checked whenever a file is read: ``read_json``, ``fetch``, and
  ``check(digests=True)``, which ``orchestrator verify`` runs). Anything else is damaged.
- Damage is moved aside, never deleted. ``quarantine`` moves a damaged marker and its attempt to
  ``.quarantine/`` with the reason, and reports it once; the node is then simply not committed,
  and the next commit of it is a normal one. A commit over a damaged entry quarantines it first.
- Never changes. A committed entry is never modified or replaced: a second commit of a committed
  node writes nothing and returns the record that counts.
- No mixing. Attempts never share a folder, so two processes committing one node at once cannot
  mix files; exactly one attempt ends up named. A committer that found a marker already there
  removes its attempt at once; where markers are created exclusively (local paths) every loser
  does. On object stores a committer whose marker was overwritten leaves its complete attempt in
  place (a reader may have read that marker in the same instant): like any attempt no marker
  names, it goes once it is COMMITTED_ORPHAN_AGE_S old (``remove_orphans``, ``verify --repair``).
- Claims. A claim names its owner and an expiry time and is refreshed while its owner trains.
  ``claim`` returns True for at most one live owner at a time on a backend with exclusive file
  creation (local paths); on object stores two racing first claims can both succeed, which costs a
  duplicate training, never a wrong entry (the commit rules above still hold). A claim past its
  expiry, or of a dead process on this machine, may be taken over.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

MARKER = "COMMIT.json"
CLAIM = "CLAIM.json"
ATTEMPTS = "attempts"
QUARANTINE = ".quarantine"
REASON = "REASON.json"
MARKER_FORMAT = 2
# An uncommitted attempt older than this is a leftover of a crash, not a commit in progress.
ORPHAN_AGE_S = 6 * 3600
# Once a node is committed, another attempt can only be a loser still copying or a leftover.
COMMITTED_ORPHAN_AGE_S = 600
# One folder name: what a marker may name as its attempt (never "..", never a path).
_ATTEMPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20

COMMITTED, ABSENT, DAMAGED = "committed", "absent", "damaged"
_FOLDER = b"\0folder"  # what _read_marker returns for a folder named like a marker


class DamagedEntry(RuntimeError):
    """A store entry that fails its checks (see the module doc); ``reason`` says which."""

    def __init__(self, node_id: str, reason: str, where: str | None = None):
        moved = f"; moved aside to {where}" if where else ""
        super().__init__(
            f"store entry {node_id} is damaged: {reason}{moved}; run the sweep again to retrain it"
        )
        self.node_id, self.reason, self.where = node_id, reason, where


@dataclass
class EntryCheck:
    """What a look at one entry found: ``state`` is committed, absent (no marker) or damaged."""

    node_id: str
    state: str
    reason: str | None = None
    record: dict | None = None
    marker: bytes | None = None  # the marker as read: only this marker is ever moved aside

    @property
    def committed(self) -> bool:
        return self.state == COMMITTED

    @property
    def damaged(self) -> bool:
        return self.state == DAMAGED


def sha256_file(path: str) -> str:
    """The hex sha256 of a local file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_table(local_dir: str) -> dict[str, dict]:
    """Every file under ``local_dir``: relative posix path -> ``{"size", "sha256"}``."""
    root = Path(local_dir)
    return {
        p.relative_to(root).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(str(p))}
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def local_problem(local_dir: str, files: dict[str, dict]) -> str | None:
    """Why the files under ``local_dir`` are not the ones a marker lists, or None."""
    for rel, want in files.items():
        p = Path(local_dir) / rel
        if not p.is_file():
            return f"{rel} is missing"
        if p.stat().st_size != want["size"]:
            return f"{rel} has {p.stat().st_size} bytes, the marker records {want['size']}"
        got = sha256_file(str(p))
        if got != want["sha256"]:
            return f"{rel} has sha256 {got[:12]}..., the marker records {want['sha256'][:12]}..."
    return None


def marker_problem(node_id: str, rec) -> str | None:
    """Why a parsed marker is not a valid record of ``node_id``, or None."""
    if not isinstance(rec, dict):
        return f"{MARKER} holds a JSON {type(rec).__name__}, not an object"
    if rec.get("node_id") != node_id:
        return f"{MARKER} names node {rec.get('node_id')!r}, not this entry's {node_id!r}"
    attempt = rec.get("attempt")
    if not isinstance(attempt, str) or not _ATTEMPT_NAME.fullmatch(attempt):
        return f"{MARKER} names attempt {attempt!r}, not a folder inside the entry"
    stamp = rec.get("committed_at")
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        return f"{MARKER} has no commit time (committed_at: {stamp!r})"
    if "format" not in rec and "files" not in rec:
        return None  # a marker of the first format: no file list to check
    if rec.get("format") != MARKER_FORMAT:
        return f"{MARKER} has format {rec.get('format')!r}, expected {MARKER_FORMAT}"
    files = rec.get("files")
    if not isinstance(files, dict) or not files:
        return f"{MARKER} lists no files"
    for rel, meta in files.items():
        parts = rel.split("/") if isinstance(rel, str) else [""]
        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            return f"{MARKER} lists {rel!r}, not a path inside the attempt"
        size = meta.get("size") if isinstance(meta, dict) else None
        digest = meta.get("sha256") if isinstance(meta, dict) else None
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            return f"{MARKER} records no size for {rel!r}"
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            return f"{MARKER} records no sha256 for {rel!r}"
    return None


def report_damage(node_id: str, reason: str, where: str) -> None:
    """The one report of a damaged entry: when it is moved aside."""
    print(
        f"store: damaged entry {node_id}: {reason}; moved aside to {where}; "
        "the node is not committed and trains again",
        file=sys.stderr,
        flush=True,
    )


class ArtifactStore(ABC):
    """Committed training artifacts keyed by node id (see the module doc for the guarantees).

    Backends provide ``fs`` and ``root`` (a pyarrow filesystem and a path on it) and implement
    ``_create_new`` (write a file unless it exists), ``_local_folder`` (a stored folder as a local
    path, when the store is on this machine's file system) and ``payload_uri``.
    """

    uri: str
    fs: pafs.FileSystem
    root: str
    # Seconds a committer waits after writing its marker before reading back which one counts
    # (object stores, where two racing markers can both be written; see FileSystemStore).
    settle_s: float = 0.0
    # Whether _create_new is exclusive (at most one creator wins), so a loser knows it lost.
    exclusive_create: bool = False

    def __init__(self) -> None:
        self._committed_cache: set[str] = set()
        self._verified: set[tuple[str, str]] = set()  # (node, attempt) whose digests were checked
        self.fs.create_dir(self.root, recursive=True)

    # -- what a backend provides -------------------------------------------------------------

    @abstractmethod
    def _create_new(self, path: str, data: bytes) -> bool:
        """Write ``data`` to ``path`` unless the file exists; True when this call created it."""

    @abstractmethod
    def _local_folder(self, path: str) -> str | None:
        """``path`` of the store as a folder of this machine, or None when it must be copied."""

    @abstractmethod
    def payload_uri(self, node_id: str) -> str:
        """Where the committed payload of a node lies (a path or a URI a user can open)."""

    # -- reading -----------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def _listing(self, folder: str) -> dict[str, int]:
        """Relative path -> size of every file under a stored folder (empty when it is absent)."""
        sel = pafs.FileSelector(folder, recursive=True, allow_not_found=True)
        n = len(folder.rstrip("/")) + 1
        return {
            i.path[n:]: i.size for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.File
        }

    def check(self, node_id: str, digests: bool = False) -> EntryCheck:
        """Look at an entry: committed, absent or damaged (and why).

        Sizes are checked always, digests with ``digests=True`` (reading every file). Errors of
        the storage itself (a network failure) are raised, never taken for damage.
        """
        raw = self._read_marker(self._path(node_id, MARKER))
        if raw is None:
            return EntryCheck(node_id, ABSENT)
        if raw is _FOLDER:
            return EntryCheck(node_id, DAMAGED, f"{MARKER} is a folder", marker=_FOLDER)

        def damaged(reason: str, rec: dict | None = None) -> EntryCheck:
            return EntryCheck(node_id, DAMAGED, reason, record=rec, marker=raw)

        try:
            rec = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return damaged(f"{MARKER} is not UTF-8 text")
        except json.JSONDecodeError as e:
            what = "empty" if not raw.strip() else f"not JSON ({e.msg} at character {e.pos})"
            return damaged(f"{MARKER} is {what}")
        problem = marker_problem(node_id, rec)
        if problem:
            return damaged(problem, rec if isinstance(rec, dict) else None)
        attempt_dir = self._path(node_id, ATTEMPTS, rec["attempt"])
        listing = self._listing(attempt_dir)
        files = rec.get("files")
        if not listing:
            return damaged(
                f"its attempt folder {ATTEMPTS}/{rec['attempt']} is missing or empty", rec
            )
        if files is not None:
            for rel, want in files.items():
                if rel not in listing:
                    return damaged(f"{rel} is missing from {ATTEMPTS}/{rec['attempt']}", rec)
                if listing[rel] != want["size"]:
                    return damaged(
                        f"{rel} has {listing[rel]} bytes, the marker records {want['size']}", rec
                    )
            if digests and (node_id, rec["attempt"]) not in self._verified:
                for rel, want in files.items():
                    got = self._sha256(f"{attempt_dir}/{rel}")
                    if got != want["sha256"]:
                        return damaged(
                            f"{rel} has sha256 {got[:12]}..., the marker records "
                            f"{want['sha256'][:12]}...",
                            rec,
                        )
                self._verified.add((node_id, rec["attempt"]))
        return EntryCheck(node_id, COMMITTED, record=rec, marker=raw)

    def _sha256(self, path: str) -> str:
        h = hashlib.sha256()
        with self.fs.open_input_stream(path) as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def record(self, node_id: str) -> dict | None:
        """The commit record of a node, or None when it is not committed (absent or damaged)."""
        c = self.check(node_id)
        if not c.committed:
            return None
        self._committed_cache.add(node_id)
        return c.record

    def is_committed(self, node_id: str) -> bool:
        """Whether the node has a committed entry (cached once true: entries never go away, but
        one found damaged later is moved aside by this store and leaves the cache)."""
        if node_id in self._committed_cache:
            return True
        if self.check(node_id).committed:
            self._committed_cache.add(node_id)
            return True
        return False

    def entry_ids(self) -> list[str]:
        """Every node id that has a folder in the store (committed or not)."""
        infos = self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
        return sorted(
            i.base_name
            for i in infos
            if i.type == pafs.FileType.Directory and not i.base_name.startswith(".")
        )

    def committed_ids(self) -> list[str]:
        """Every committed node id in the store."""
        return [i for i in self.entry_ids() if self.is_committed(i)]

    def _committed_check(self, node_id: str) -> EntryCheck:
        c = self.check(node_id)
        if c.damaged:
            raise DamagedEntry(node_id, c.reason or "")
        if not c.committed:
            raise KeyError(f"{node_id} is not committed in {self.uri}")
        return c

    def _committed_attempt(self, node_id: str) -> str:
        return self._path(node_id, ATTEMPTS, self._committed_check(node_id).record["attempt"])

    def read_json(self, node_id: str, name: str) -> dict:
        """A JSON object file of a node's committed payload, checked against its digest.

        DamagedEntry when the file is missing, differs from its digest or is not a JSON object;
        KeyError when the node is not committed.
        """
        c = self._committed_check(node_id)
        rec = c.record
        try:
            with self.fs.open_input_stream(
                f"{self._path(node_id, ATTEMPTS, rec['attempt'])}/{name}"
            ) as f:
                raw = f.read()
        except FileNotFoundError:
            raise DamagedEntry(node_id, f"{name} is missing") from None
        want = (rec.get("files") or {}).get(name)
        if rec.get("files") is not None:
            if want is None:
                raise DamagedEntry(node_id, f"{name} is not among the files its marker lists")
            got = hashlib.sha256(raw).hexdigest()
            if got != want["sha256"]:
                raise DamagedEntry(
                    node_id,
                    f"{name} has sha256 {got[:12]}..., the marker records {want['sha256'][:12]}...",
                )
        try:
            value = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise DamagedEntry(node_id, f"{name} is not JSON text") from None
        if not isinstance(value, dict):
            raise DamagedEntry(
                node_id, f"{name} holds a JSON {type(value).__name__}, not an object"
            )
        return value

    def fetch(self, node_id: str, cache_dir: str | None = None) -> str:
        """A local directory holding the node's committed payload, checked against its digests.

        A payload that differs from its marker is moved aside and DamagedEntry raised: a trial
        never trains on a damaged source. Remote payloads are copied to ``cache_dir`` (default
        ``$SCALEARN_CACHE/store``) once per attempt.
        """
        rec = self._committed_check(node_id).record
        attempt, files = rec["attempt"], rec.get("files")
        src = self._path(node_id, ATTEMPTS, attempt)
        local = self._local_folder(src)
        if local is not None:
            if files is not None and (node_id, attempt) not in self._verified:
                problem = local_problem(local, files)
                if problem:
                    self._damaged_on_read(node_id, problem)
                self._verified.add((node_id, attempt))
            return local
        cache = Path(cache_dir or default_cache()) / node_id / attempt
        if not (cache / ".complete").exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=cache.parent))
            pafs.copy_files(
                src,
                str(tmp),
                source_filesystem=self.fs,
                destination_filesystem=pafs.LocalFileSystem(),
            )
            problem = local_problem(str(tmp), files) if files is not None else None
            if problem:
                shutil.rmtree(tmp, ignore_errors=True)
                deep = self.check(node_id, digests=True)
                if deep.damaged:
                    self._damaged_on_read(node_id, deep.reason or problem)
                raise OSError(
                    f"the copy of {node_id} fetched from {self.uri} differs from the store "
                    f"({problem}); fetch it again"
                )
            (tmp / ".complete").write_text("")
            try:
                os.replace(tmp, cache)
            except OSError:  # another process fetched it first
                shutil.rmtree(tmp, ignore_errors=True)
        return str(cache)

    def _damaged_on_read(self, node_id: str, reason: str):
        raise DamagedEntry(node_id, reason, self.set_aside(node_id, reason))

    def set_aside(self, node_id: str, reason: str) -> str | None:
        """Move an entry aside that a reader found unusable (a file differs from its digest, its
        rows describe no result); returns where it went, or None when there is nothing to move."""
        c = self.check(node_id)
        if c.state == ABSENT:
            return None
        return self.quarantine(EntryCheck(node_id, DAMAGED, reason, c.record, c.marker))

    # -- damage ------------------------------------------------------------------------------

    def quarantine(self, check: EntryCheck) -> str | None:
        """Move a damaged entry aside: its marker and its attempt go to ``.quarantine/`` with
        REASON.json; nothing is deleted. Returns where it went, or None when the marker is no
        longer the one that was judged (another process moved it or committed meanwhile)."""
        node_id = check.node_id
        marker_path = self._path(node_id, MARKER)
        if self._read_marker(marker_path) != check.marker:
            return None
        marker_mtime = self.fs.get_file_info(marker_path).mtime
        dest = self._path(
            QUARANTINE, node_id, f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        )
        attempt = (check.record or {}).get("attempt")
        attempt = attempt if isinstance(attempt, str) and _ATTEMPT_NAME.fullmatch(attempt) else None
        # A marker that names no attempt of this entry may belong to any attempt written before
        # it: those go aside. Younger ones are new commits that began after the damaged marker
        # was moved (no committer uploads while a damaged marker stands), and stay.
        if attempt is not None and self._listing(self._path(node_id, ATTEMPTS, attempt)):
            names = [attempt]
        else:
            names = self._attempts_before(node_id, marker_mtime)
        self.fs.create_dir(dest, recursive=True)
        note = {
            "node_id": node_id,
            "reason": check.reason,
            "attempt": attempt,
            "attempts_moved": names,
            "quarantined_at": time.time(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        with self.fs.open_output_stream(f"{dest}/{REASON}") as f:
            f.write(json.dumps(note, sort_keys=True).encode())
        try:
            if self.fs.get_file_info(marker_path).type == pafs.FileType.Directory:
                self._move_tree(marker_path, f"{dest}/{MARKER}")
            else:
                self.fs.move(marker_path, f"{dest}/{MARKER}")
        except OSError:
            if self._read_marker(marker_path) == check.marker:
                raise
            self.fs.delete_dir(dest)  # another process moved it first: one report, not two
            return None
        moved = self._read_marker(f"{dest}/{MARKER}")
        if moved is not None and moved != check.marker:
            # a valid marker committed between the look and the move: put it back
            if self._create_new(marker_path, moved):
                self.fs.delete_dir(dest)
            return None
        for name in names:
            src = self._path(node_id, ATTEMPTS, name)
            if self._listing(src):  # an empty folder holds nothing to keep
                self._move_tree(src, f"{dest}/{ATTEMPTS}/{name}")
        self._committed_cache.discard(node_id)
        self._verified = {v for v in self._verified if v[0] != node_id}
        where = self._display(dest)
        report_damage(node_id, check.reason or "damaged", where)
        return where

    def _attempts_before(self, node_id: str, when) -> list[str]:
        """The node's attempts whose newest file is no younger than ``when`` (all when unknown)."""
        base = self._path(node_id, ATTEMPTS) + "/"
        sel = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        newest: dict[str, object] = {}
        for i in self.fs.get_file_info(sel):
            if i.type == pafs.FileType.File:
                name = i.path[len(base) :].split("/")[0]
                if i.mtime is not None and (newest.get(name) is None or i.mtime > newest[name]):
                    newest[name] = i.mtime
                else:
                    newest.setdefault(name, None)
        return sorted(n for n, t in newest.items() if when is None or t is None or t <= when)

    def _display(self, path: str) -> str:
        return path

    def _read_marker(self, path: str) -> bytes | None:
        """A marker's bytes; None when there is none, ``_FOLDER`` when a folder has its name."""
        try:
            with self.fs.open_input_stream(path) as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError:
            if self.fs.get_file_info(path).type == pafs.FileType.Directory:
                return _FOLDER
            raise

    def _move_tree(self, src: str, dst: str) -> None:
        """Move a folder; object stores without folder moves copy each file, then delete."""
        self.fs.create_dir(dst.rsplit("/", 1)[0], recursive=True)
        try:
            self.fs.move(src, dst)
            return
        except (OSError, NotImplementedError):
            if self.fs.get_file_info(src).type == pafs.FileType.NotFound:
                raise
        for rel in self._listing(src):  # every file copied before any source goes
            self.fs.create_dir(f"{dst}/{rel}".rsplit("/", 1)[0], recursive=True)
            try:
                self.fs.copy_file(f"{src}/{rel}", f"{dst}/{rel}")
            except OSError:
                if self.fs.get_file_info(f"{src}/{rel}").type != pafs.FileType.NotFound:
                    raise  # gone: a racing mover of the same folder has it
        try:
            self.fs.delete_dir(src)
        except FileNotFoundError:  # object stores: a folder is gone with its last object
            pass

    def repair(self, node_id: str, digests: bool = False) -> EntryCheck:
        """Check an entry and move it aside when damaged; returns what the check found."""
        c = self.check(node_id, digests=digests)
        if c.damaged:
            self.quarantine(c)
        return c

    def quarantined(self) -> list[dict]:
        """The notes (REASON.json) of every entry moved aside, oldest first, with ``path``."""
        sel = pafs.FileSelector(self._path(QUARANTINE), recursive=True, allow_not_found=True)
        notes = []
        for info in self.fs.get_file_info(sel):
            if info.type != pafs.FileType.File or info.base_name != REASON:
                continue
            if info.path.count("/") - self._path(QUARANTINE).count("/") != 3:
                continue  # a payload file that happens to be named REASON.json
            try:
                with self.fs.open_input_stream(info.path) as f:
                    note = json.loads(f.read().decode())
            except (OSError, ValueError):
                note = {"node_id": info.path.split("/")[-3], "reason": "unreadable note"}
            notes.append({**note, "path": info.path.rsplit("/", 1)[0]})
        return sorted(notes, key=lambda n: n.get("quarantined_at") or 0)

    # -- writing -----------------------------------------------------------------------------

    def commit(self, node_id: str, local_dir: str, meta: dict | None = None) -> dict:
        """Commit the files of ``local_dir`` as the node's entry; returns the record that counts.

        If the node is already committed (by this or another process) nothing is written and the
        existing record is returned, so a commit is idempotent. A damaged entry is moved aside
        first.
        """
        existing = self.check(node_id)
        if existing.committed:
            return existing.record
        if existing.damaged:
            self.quarantine(existing)
        files = file_table(local_dir)
        attempt = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        attempt_dir = self._path(node_id, ATTEMPTS, attempt)
        self.fs.create_dir(attempt_dir, recursive=True)
        pafs.copy_files(
            str(local_dir),
            attempt_dir,
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=self.fs,
        )
        stored = self._listing(attempt_dir)
        short = [r for r, f in files.items() if stored.get(r) != f["size"]]
        if short:
            self.fs.delete_dir(attempt_dir)
            raise OSError(f"commit of {node_id} to {self.uri}: {short[0]} did not arrive whole")
        record = {
            **(meta or {}),
            "format": MARKER_FORMAT,
            "node_id": node_id,
            "attempt": attempt,
            "committed_at": time.time(),
            "host": socket.gethostname(),
            "files": files,
        }
        data = json.dumps(record, sort_keys=True).encode()
        won, final = False, existing
        for _ in range(3):  # a damaged marker that appeared meanwhile is moved aside, once more
            won = self._create_new(self._path(node_id, MARKER), data)
            if won and self.settle_s:
                time.sleep(self.settle_s)
            final = self.check(node_id)
            if not final.damaged:
                break
            self.quarantine(final)
        if won and final.committed and final.record["attempt"] == attempt:
            self._committed_cache.add(node_id)
            self._verified.add((node_id, attempt))
        elif not won or self.exclusive_create:
            self.fs.delete_dir(attempt_dir)  # never named by any marker
        # else: our marker was written and then overwritten; a reader may be using it
        self.remove_orphans(node_id)
        if not final.committed:
            raise OSError(f"commit of {node_id} to {self.uri} did not take: {final.reason}")
        return final.record

    def remove_orphans(self, node_id: str, min_age_s: float | None = None) -> int:
        """Remove attempt folders of a node that no marker names; returns how many.

        Only folders older than ``min_age_s`` go (default: COMMITTED_ORPHAN_AGE_S for a committed
        node, ORPHAN_AGE_S otherwise), since a live process may still be writing a younger one.
        Nothing goes while the marker is damaged: its attempt is moved aside, not removed.
        """
        c = self.check(node_id)
        if c.damaged:
            return 0
        rec = c.record
        if min_age_s is None:
            min_age_s = COMMITTED_ORPHAN_AGE_S if rec is not None else ORPHAN_AGE_S
        sel = pafs.FileSelector(self._path(node_id, ATTEMPTS), allow_not_found=True)
        removed = 0
        now = time.time()
        for info in self.fs.get_file_info(sel):
            if info.type != pafs.FileType.Directory:
                continue
            if rec is not None and info.base_name == rec["attempt"]:
                continue
            mtime = info.mtime.timestamp() if info.mtime else now
            if now - mtime < min_age_s:
                continue
            try:
                self.fs.delete_dir(info.path)
            except FileNotFoundError:  # gone meanwhile; object stores list emptied names a while
                continue
            removed += 1
        return removed

    # -- claims ------------------------------------------------------------------------------

    def claim_holder(self, node_id: str) -> dict | None:
        """The current claim on a node, or None (also for an unreadable claim file)."""
        try:
            with self.fs.open_input_stream(self._path(node_id, CLAIM)) as f:
                holder = json.loads(f.read().decode())
        except (FileNotFoundError, IsADirectoryError, ValueError):
            return None
        if not isinstance(holder, dict) or not isinstance(holder.get("owner"), str):
            return None
        if not isinstance(holder.get("expires"), (int, float)):
            return None
        return holder

    def claim(self, node_id: str, owner: str, ttl_s: float) -> bool:
        """Try to claim a node for ``ttl_s`` seconds; True when ``owner`` holds it now."""
        record = json.dumps(
            {
                "owner": owner,
                "expires": time.time() + ttl_s,
                "host": socket.gethostname(),
                "pid": os.getpid(),
            }
        ).encode()
        path = self._path(node_id, CLAIM)
        self.fs.create_dir(self._path(node_id), recursive=True)
        if self._create_new(path, record):
            return True
        holder = self.claim_holder(node_id)
        if holder is not None and holder["owner"] != owner and _alive(holder):
            return False
        # free, expired, unreadable or our own: take it over
        tmp = self._path(node_id, f".{CLAIM}.{uuid.uuid4().hex}.tmp")
        with self.fs.open_output_stream(tmp) as f:
            f.write(record)
        self.fs.move(tmp, path)
        holder = self.claim_holder(node_id)
        return holder is not None and holder["owner"] == owner

    def release_claim(self, node_id: str, owner: str) -> None:
        """Drop the claim if ``owner`` still holds it."""
        holder = self.claim_holder(node_id)
        if holder is not None and holder["owner"] == owner:
            try:
                self.fs.delete_file(self._path(node_id, CLAIM))
            except (FileNotFoundError, OSError):
                pass


def _alive(claim: dict) -> bool:
    """Whether a claim's holder may still be training: not expired, and, when it ran on this
    machine, its process still exists."""
    if claim["expires"] <= time.time():
        return False
    if claim.get("host") == socket.gethostname() and claim.get("pid"):
        try:
            os.kill(int(claim["pid"]), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, ValueError, TypeError):
            return True
    return True


def default_cache() -> str:
    """Where remote payloads are fetched to: ``$SCALEARN_CACHE/store``."""
    return os.environ.get("SCALEARN_CACHE", os.path.expanduser("~/.cache/scalearn")) + "/store"
