"""The artifact store's interface and its guarantees; the backends implement two primitives.

Layout under the root::

    <root>/<node_id>/attempts/<attempt>/...   payload files of one training attempt
    <root>/<node_id>/COMMIT.json              the commit marker, naming the attempt that counts
    <root>/<node_id>/CLAIM.json               who trains the node right now (while it trains)

Guarantees, which every backend keeps (``orchestrator.store.contract_suite`` checks them):

- Atomic commit. An entry counts only once its commit marker exists, and the marker is written
  last, after every payload file of its attempt. A crash at any point leaves either no marker
  (nothing committed; the attempt folder is an orphan, removed later) or a marker naming a
  complete attempt. A marker naming a missing attempt does not count.
- Never changes. A committed entry is never modified or replaced: a second commit of a committed
  node writes nothing and returns the record that counts.
- No mixing. Attempts never share a folder, so two processes committing one node at once cannot
  mix files; exactly one attempt ends up named, and the others remove their folders.
- Claims. A claim names its owner and an expiry time and is refreshed while its owner trains.
  ``claim`` returns True for at most one live owner at a time on a backend with exclusive file
  creation (local paths); on object stores two racing first claims can both succeed, which costs a
  duplicate training, never a wrong entry (the commit rules above still hold). A claim past its
  expiry, or of a dead process on this machine, may be taken over.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from abc import ABC, abstractmethod

import pyarrow.fs as pafs

MARKER = "COMMIT.json"
CLAIM = "CLAIM.json"
ATTEMPTS = "attempts"
# An uncommitted attempt older than this is a leftover of a crash, not a commit in progress.
ORPHAN_AGE_S = 6 * 3600
# Once a node is committed, another attempt can only be a loser still copying or a leftover.
COMMITTED_ORPHAN_AGE_S = 600


class ArtifactStore(ABC):
    """Committed training artifacts keyed by node id (see the module doc for the guarantees).

    Backends provide ``fs`` and ``root`` (a pyarrow filesystem and a path on it) and implement
    ``_create_new`` (write a file unless it exists) and ``fetch`` (a local folder of a payload).
    """

    uri: str
    fs: pafs.FileSystem
    root: str

    def __init__(self) -> None:
        self._committed_cache: set[str] = set()
        self.fs.create_dir(self.root, recursive=True)

    # -- what a backend provides -------------------------------------------------------------

    @abstractmethod
    def _create_new(self, path: str, data: bytes) -> bool:
        """Write ``data`` to ``path`` unless the file exists; True when this call created it."""

    @abstractmethod
    def fetch(self, node_id: str, cache_dir: str | None = None) -> str:
        """A local directory holding the node's committed payload."""

    @abstractmethod
    def payload_uri(self, node_id: str) -> str:
        """Where the committed payload of a node lies (a path or a URI a user can open)."""

    # -- reading -----------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def record(self, node_id: str) -> dict | None:
        """The commit record of a node, or None when it is not committed."""
        try:
            with self.fs.open_input_stream(self._path(node_id, MARKER)) as f:
                rec = json.loads(f.read().decode())
        except (FileNotFoundError, OSError, json.JSONDecodeError):
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

    def _committed_attempt(self, node_id: str) -> str:
        rec = self.record(node_id)
        if rec is None:
            raise KeyError(f"{node_id} is not committed in {self.uri}")
        return self._path(node_id, ATTEMPTS, rec["attempt"])

    def read_json(self, node_id: str, name: str) -> dict:
        """A JSON file of a node's committed payload."""
        with self.fs.open_input_stream(f"{self._committed_attempt(node_id)}/{name}") as f:
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
        won = self._create_new(
            self._path(node_id, MARKER), json.dumps(record, sort_keys=True).encode()
        )
        final = self.record(node_id)
        if not won or final is None or final["attempt"] != attempt:
            self.fs.delete_dir(attempt_dir)
        else:
            self._committed_cache.add(node_id)
        self.remove_orphans(node_id)
        return final if final is not None else record

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

    # -- claims ------------------------------------------------------------------------------

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
        if self._create_new(path, record):
            return True
        holder = self.claim_holder(node_id)
        if holder is not None and holder["owner"] != owner and _alive(holder):
            return False
        # free, expired or our own: take it over
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
        except PermissionError:
            return True
    return True


def default_cache() -> str:
    """Where remote payloads are fetched to: ``$SCALEARN_CACHE/store``."""
    return os.environ.get("SCALEARN_CACHE", os.path.expanduser("~/.cache/scalearn")) + "/store"
