"""The store on any pyarrow filesystem URI (s3://, gs://, hdfs://, file://, ...)."""

from __future__ import annotations

import os
import uuid

import pyarrow.fs as pafs

from orchestrator.store.base import ATTEMPTS, ArtifactStore

# How long a committer waits after writing its marker before reading back which one counts. Two
# committers that both found no marker write one each and the last write wins; each one's
# read-back must come after every such write, which follows its committer's check by at most the
# time of one small upload. The wait is paid once per commit, not per file.
SETTLE_S = float(os.environ.get("SCALEARN_STORE_SETTLE_S", "1.0"))


class FileSystemStore(ArtifactStore):
    """An artifact store on a pyarrow filesystem, typically an object store.

    Object stores have neither exclusive create nor atomic rename; what the commit relies on is
    that one object is written whole or not at all (a reader sees the old object, or none, or the
    new one) and that a read after a write sees it (S3 and GCS are strongly consistent). A marker
    is written only when none exists, after its attempt is uploaded and its sizes checked; two
    racing committers can both write one. Each waits ``SETTLE_S`` and reads the marker back: the
    last write counts and names a complete attempt. A committer whose marker was overwritten keeps
    its attempt until it is old (a reader may have read that marker, and a server whose reads lag
    behind its writes may even keep it as the last write); ``remove_orphans`` takes it then.
    Payloads are copied to a local cache once per attempt when fetched, and checked there against
    their digests.
    """

    settle_s = SETTLE_S

    def __init__(self, uri: str, filesystem: pafs.FileSystem | None = None):
        self.uri = str(uri)
        if filesystem is not None:
            self.fs, self.root = filesystem, self.uri.rstrip("/")
        else:
            self.fs, self.root = pafs.FileSystem.from_uri(self.uri)
            self.root = self.root.rstrip("/")
        super().__init__()

    def _create_new(self, path: str, data: bytes) -> bool:
        if self.fs.get_file_info(path).type == pafs.FileType.File:
            return False
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        with self.fs.open_output_stream(tmp) as f:
            f.write(data)
        self.fs.move(tmp, path)
        return True

    def _local_folder(self, path: str) -> str | None:
        return None

    def _display(self, path: str) -> str:
        if "://" not in self.uri:
            return path
        return f"{self.uri.split('://', 1)[0]}://{path}"

    def payload_uri(self, node_id: str) -> str:
        return self._display(self._committed_attempt(node_id))


__all__ = ["ATTEMPTS", "FileSystemStore"]
