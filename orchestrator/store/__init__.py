"""The content-addressed artifact store: one entry per node id, committed atomically.

``open_store(uri)`` picks the backend: a plain path is a ``LocalStore``, any other URI (``s3://``,
``gs://``, ``file://``) a ``FileSystemStore``. ``orchestrator.store.base`` documents what every
backend guarantees; ``orchestrator.testing.store_contract`` is the test suite that checks it.
"""

from __future__ import annotations

import pyarrow.fs as pafs

from orchestrator.store.base import (
    ATTEMPTS,
    CLAIM,
    MARKER,
    QUARANTINE,
    REASON,
    ArtifactStore,
    DamagedEntry,
    EntryCheck,
)
from orchestrator.store.filesystem import FileSystemStore
from orchestrator.store.local import LocalStore


def open_store(uri: str, filesystem: pafs.FileSystem | None = None) -> ArtifactStore:
    """The store at ``uri`` (a path or a pyarrow filesystem URI; ``filesystem`` overrides)."""
    if filesystem is None and "://" in str(uri):
        fs, path = pafs.FileSystem.from_uri(str(uri))
        if isinstance(fs, pafs.LocalFileSystem):  # file://: hard links work there
            return LocalStore(path)
    if filesystem is not None or "://" in str(uri):
        return FileSystemStore(str(uri), filesystem)
    return LocalStore(str(uri))


__all__ = [
    "ATTEMPTS",
    "CLAIM",
    "MARKER",
    "QUARANTINE",
    "REASON",
    "ArtifactStore",
    "DamagedEntry",
    "EntryCheck",
    "FileSystemStore",
    "LocalStore",
    "open_store",
]
