"""The content-addressed artifact store: one entry per node id, committed atomically.

Layout under the root (a local path or any pyarrow filesystem URI such as s3:// or gs://)::

    <root>/<node_id>/attempts/<attempt>/...   payload files of one training attempt
    <root>/<node_id>/COMMIT.json              the commit marker, naming the attempt that counts

The rules:
- An entry counts only once its commit marker exists, and the marker is written last, after every
  payload file of its attempt. A crash at any point leaves either no marker (nothing committed; the
  attempt folder is an orphan, removed later) or a marker naming a complete attempt.
- Attempts never share a folder, so two processes committing the same node at once cannot mix
  files. On a local filesystem the marker is created with a hard link, which fails if it exists:
  the first committer wins and the second discards its attempt. On object stores, where no such
  primitive exists, the last marker written wins; both attempts are complete, so whichever is named
  is valid, and the loser removes its own folder.
- A committed entry never changes.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path

import pyarrow.fs as pafs

MARKER = "COMMIT.json"
CLAIM = "CLAIM.json"
ATTEMPTS = "attempts"
# An uncommitted attempt older than this is a leftover of a crash, not a commit in progress.
ORPHAN_AGE_S = 6 * 3600
# Once a node is committed, another attempt can only be a loser still copying or a leftover.
COMMITTED_ORPHAN_AGE_S = 600


class ClaimMixin:
    """Claims: who is training a node right now, so a second sweep waits instead of training it too.

    A claim names its owner and an expiry time; the owner refreshes it while it trains. A claim
    past its expiry belongs to a dead process and may be taken over; the owner itself (the same
    run retrying the node after a lost worker) takes it over at once.
    """

    def claim_holder(self, node_id: str) -> dict | None:
        """The current claim on a node, or None."""
        try:
            with self.fs.open_input_stream(self._path(node_id, CLAIM)) as f:
                return json.loads(f.read().decode())
        except (FileNotFoundError, OSError, json.JSONDecodeError):
            return None

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
        tmp = self._path(node_id, f".{CLAIM}.{uuid.uuid4().hex}.tmp")
        with self.fs.open_output_stream(tmp) as f:
            f.write(record)
        if self._local:
            try:
                os.link(tmp, path)
                os.unlink(tmp)
                return True
            except FileExistsError:
                pass
        holder = self.claim_holder(node_id)
        if holder is not None and holder["owner"] != owner and _alive(holder):
            self.fs.delete_file(tmp)
            return False
        self.fs.move(tmp, path)  # free, expired or our own: take it over
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


class ArtifactStore(ClaimMixin):
    """Committed training artifacts keyed by node id on a local path or a pyarrow filesystem."""

    def __init__(self, uri: str, filesystem: pafs.FileSystem | None = None):
        self.uri = str(uri)
        if filesystem is not None:
            self.fs, self.root = filesystem, self.uri.rstrip("/")
        elif "://" in self.uri:
            self.fs, self.root = pafs.FileSystem.from_uri(self.uri)
        else:
            self.fs = pafs.LocalFileSystem()
            self.root = str(Path(self.uri).expanduser().resolve())
        self._local = isinstance(self.fs, pafs.LocalFileSystem)
        self._committed_cache: set[str] = set()
        self.fs.create_dir(self.root, recursive=True)

    # -- reading -----------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def record(self, node_id: str) -> dict | None:
        """The commit record of a node, or None when it is not committed."""
        marker = self._path(node_id, MARKER)
        try:
            with self.fs.open_input_stream(marker) as f:
                rec = json.loads(f.read().decode())
        except (FileNotFoundError, OSError):
            return None
        except json.JSONDecodeError:
            return None
        attempt_dir = self._path(node_id, ATTEMPTS, rec.get("attempt", ""))
        if self.fs.get_file_info(attempt_dir).type != pafs.FileType.Directory:
            return None
        return rec

    def is_committed(self, node_id: str) -> bool:
        """Whether the node has a committed entry (cached once true: entries never go away)."""
        if node_id in self._committed_cache:
            return True
        if self.record(node_id) is not None:
            self._committed_cache.add(node_id)
            return True
        return False

    def committed_ids(self) -> list[str]:
        """Every committed node id in the store."""
        infos = self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
        return sorted(
            i.base_name
            for i in infos
            if i.type == pafs.FileType.Directory and self.is_committed(i.base_name)
        )

    def payload_uri(self, node_id: str) -> str:
        """Where the committed payload of a node lies (a local path for local stores)."""
        rec = self.record(node_id)
        if rec is None:
            raise KeyError(f"{node_id} is not committed in {self.uri}")
        path = self._path(node_id, ATTEMPTS, rec["attempt"])
        if self._local or "://" not in self.uri:
            return path
        scheme = self.uri.split("://", 1)[0]
        return f"{scheme}://{path}"

    def fetch(self, node_id: str, cache_dir: str | None = None) -> str:
        """A local directory holding the node's committed payload (downloaded once if remote)."""
        rec = self.record(node_id)
        if rec is None:
            raise KeyError(f"{node_id} is not committed in {self.uri}")
        src = self._path(node_id, ATTEMPTS, rec["attempt"])
        if self._local:
            return src
        cache = Path(cache_dir or _default_cache()) / node_id / rec["attempt"]
        if not (cache / ".complete").exists():
            tmp = Path(tempfile.mkdtemp(dir=cache.parent if cache.parent.exists() else None))
            pafs.copy_files(
                src,
                str(tmp),
                source_filesystem=self.fs,
                destination_filesystem=pafs.LocalFileSystem(),
            )
            (tmp / ".complete").write_text("")
            cache.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(tmp, cache)
            except OSError:  # another process fetched it first
                pass
        return str(cache)

    def read_json(self, node_id: str, name: str) -> dict:
        """A JSON file of a node's committed payload."""
        rec = self.record(node_id)
        if rec is None:
            raise KeyError(f"{node_id} is not committed in {self.uri}")
        with self.fs.open_input_stream(self._path(node_id, ATTEMPTS, rec["attempt"], name)) as f:
            return json.loads(f.read().decode())

    # -- writing -----------------------------------------------------------------------------

    def commit(self, node_id: str, local_dir: str, meta: dict | None = None) -> dict:
        """Commit the files of ``local_dir`` as the node's entry; returns the record that counts.

        If the node is already committed (by this or another process) nothing is written and the
        existing record is returned, so a commit is idempotent.
        """
        existing = self.record(node_id)
        if existing is not None:
            return existing
        attempt = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        attempt_dir = self._path(node_id, ATTEMPTS, attempt)
        self.fs.create_dir(attempt_dir, recursive=True)
        pafs.copy_files(
            str(local_dir),
            attempt_dir,
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=self.fs,
        )
        record = {
            "node_id": node_id,
            "attempt": attempt,
            "committed_at": time.time(),
            "host": socket.gethostname(),
            **(meta or {}),
        }
        won = self._write_marker(node_id, record)
        final = self.record(node_id)
        if not won or final is None or final["attempt"] != attempt:
            self.fs.delete_dir(attempt_dir)
        else:
            self._committed_cache.add(node_id)
        self.remove_orphans(node_id)
        return final if final is not None else record

    def _write_marker(self, node_id: str, record: dict) -> bool:
        """Write the commit marker last; False when another commit got there first."""
        marker = self._path(node_id, MARKER)
        data = json.dumps(record, sort_keys=True).encode()
        tmp = self._path(node_id, f".{MARKER}.{uuid.uuid4().hex}.tmp")
        with self.fs.open_output_stream(tmp) as f:
            f.write(data)
        if self._local:
            try:
                os.link(tmp, marker)  # atomic, and fails if the marker exists
                return True
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
        if self.fs.get_file_info(marker).type == pafs.FileType.File:
            self.fs.delete_file(tmp)
            return False
        self.fs.move(tmp, marker)
        return True

    def remove_orphans(self, node_id: str, min_age_s: float | None = None) -> int:
        """Remove attempt folders of a node that no marker names; returns how many.

        Only folders older than ``min_age_s`` go (default: COMMITTED_ORPHAN_AGE_S for a committed
        node, ORPHAN_AGE_S otherwise), since a live process may still be writing a younger one.
        """
        rec = self.record(node_id)
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
            self.fs.delete_dir(info.path)
            removed += 1
        return removed


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
        except PermissionError:
            return True
    return True


def _default_cache() -> str:
    return os.environ.get("SCALEARN_CACHE", os.path.expanduser("~/.cache/scalearn")) + "/store"
