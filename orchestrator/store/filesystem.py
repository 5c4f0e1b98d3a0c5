"""The store on any pyarrow filesystem URI (s3://, gs://, hdfs://, file://, ...)."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pyarrow.fs as pafs

from orchestrator.store.base import ATTEMPTS, ArtifactStore, default_cache


class FileSystemStore(ArtifactStore):
    """An artifact store on a pyarrow filesystem, typically an object store.

    Object stores have no exclusive create: a marker is written only when none exists, which two
    racing committers can both see. Both attempts are complete, so whichever marker lands last
    names a valid entry, and the other committer, reading the marker back, removes its own
    attempt. Payloads are copied to a local cache once per attempt when fetched.
    """

    def __init__(self, uri: str, filesystem: pafs.FileSystem | None = None):
        self.uri = str(uri)
        if filesystem is not None:
            self.fs, self.root = filesystem, self.uri.rstrip("/")
        else:
            self.fs, self.root = pafs.FileSystem.from_uri(self.uri)
        super().__init__()

    def _create_new(self, path: str, data: bytes) -> bool:
        if self.fs.get_file_info(path).type == pafs.FileType.File:
            return False
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        with self.fs.open_output_stream(tmp) as f:
            f.write(data)
        self.fs.move(tmp, path)
        return True

    def fetch(self, node_id: str, cache_dir: str | None = None) -> str:
        src = self._committed_attempt(node_id)
        cache = Path(cache_dir or default_cache()) / node_id / src.rsplit("/", 1)[1]
        if not (cache / ".complete").exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=cache.parent))
            pafs.copy_files(
                src,
                str(tmp),
                source_filesystem=self.fs,
                destination_filesystem=pafs.LocalFileSystem(),
            )
            (tmp / ".complete").write_text("")
            try:
                os.replace(tmp, cache)
            except OSError:  # another process fetched it first
                pass
        return str(cache)

    def payload_uri(self, node_id: str) -> str:
        path = self._committed_attempt(node_id)
        if "://" not in self.uri:
            return path
        return f"{self.uri.split('://', 1)[0]}://{path}"


__all__ = ["ATTEMPTS", "FileSystemStore"]
