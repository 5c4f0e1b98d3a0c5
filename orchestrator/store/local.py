"""The store on a local (or NFS-mounted) path: exclusive creation through hard links."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow.fs as pafs

from orchestrator.store.base import ATTEMPTS, ArtifactStore


class LocalStore(ArtifactStore):
    """An artifact store in a folder of this machine's file system.

    A marker or claim is written to a temporary name and hard-linked to its final name, which
    fails when that name exists: the first committer wins, atomically, across processes and
    machines sharing the folder. A fetched payload is the committed folder itself, its digests
    checked once per process.
    """

    exclusive_create = True

    def __init__(self, path: str):
        self.uri = str(path)
        self.fs = pafs.LocalFileSystem()
        self.root = str(Path(path).expanduser().resolve())
        super().__init__()

    def _create_new(self, path: str, data: bytes) -> bool:
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        try:
            os.link(tmp, path)  # atomic, and fails if the name exists
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def _local_folder(self, path: str) -> str | None:
        return path

    def payload_uri(self, node_id: str) -> str:
        return self._committed_attempt(node_id)


__all__ = ["ATTEMPTS", "LocalStore"]
