"""The artifact store's contract (``orchestrator.testing.store_contract``), run against every
backend: a local path, a file:// URI and pyarrow's in-memory filesystem (which has no hard links,
so it takes the object-store route)."""

from __future__ import annotations

import multiprocessing as mp

import pyarrow.fs as pafs
import pytest

from orchestrator.store import FileSystemStore, LocalStore, open_store
from orchestrator.testing.store_contract import StoreContract, payload


class TestLocalPath(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        return open_store(str(tmp_path / "store"))


class TestFileUri(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        return open_store(f"file://{tmp_path / 'store'}")


class TestObjectStoreRoute(StoreContract):
    @pytest.fixture
    def store(self):
        store = open_store("mem/store", filesystem=pafs._MockFileSystem())
        store.settle_s = 0.2  # in memory, one process: racing writes land within microseconds
        return store


def test_open_store_picks_the_backend(tmp_path):
    assert isinstance(open_store(str(tmp_path / "a")), LocalStore)
    assert isinstance(open_store(f"file://{tmp_path / 'b'}"), LocalStore)  # hard links work
    assert isinstance(open_store("m/c", filesystem=pafs._MockFileSystem()), FileSystemStore)


def _commit_in_process(root, d, barrier, out):
    barrier.wait()
    out.put(open_store(root).commit("shared", d)["attempt"])


def test_concurrent_processes_commit_once_on_a_local_store(tmp_path):
    root = str(tmp_path / "store")
    open_store(root)
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(
            target=_commit_in_process, args=(root, payload(tmp_path, f"p{i}", str(i)), barrier, out)
        )
        for i in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    attempts = {out.get(timeout=5) for _ in procs}
    assert len(attempts) == 1, "every committer sees the same winning attempt"
    store = open_store(root)
    assert store.record("shared")["attempt"] in attempts
