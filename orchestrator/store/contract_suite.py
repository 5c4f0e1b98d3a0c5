"""The artifact store's contract as a test suite that any backend can run.

Subclass ``StoreContract`` in a test module and give it a ``store`` fixture that returns a fresh,
empty store of the backend under test::

    class TestMyBackend(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            return MyStore(...)

Every test checks one guarantee of ``orchestrator.store.base``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import pyarrow.fs as pafs
import pytest

from orchestrator.store.base import ATTEMPTS, CLAIM, MARKER


def payload(tmp_path, name: str, content: str) -> str:
    """A payload folder: a file in a subfolder and a JSON file, both holding ``content``."""
    d = tmp_path / name
    (d / "weights").mkdir(parents=True)
    (d / "weights" / "weights.bin").write_text(content)
    (d / "rows.json").write_text(json.dumps({"v": content}))
    return str(d)


class StoreContract:
    """The guarantees every store backend keeps."""

    def test_commit_then_read(self, store, tmp_path):
        assert not store.is_committed("n1")
        rec = store.commit("n1", payload(tmp_path, "p", "A"), meta={"simulated": False})
        assert store.is_committed("n1") and rec["node_id"] == "n1" and rec["simulated"] is False
        assert store.read_json("n1", "rows.json") == {"v": "A"}
        assert store.committed_ids() == ["n1"]
        local = store.fetch("n1", cache_dir=str(tmp_path / "cache"))
        assert open(f"{local}/weights/weights.bin").read() == "A"

    def test_a_committed_entry_never_changes(self, store, tmp_path):
        first = store.commit("n1", payload(tmp_path, "p1", "A"))
        second = store.commit("n1", payload(tmp_path, "p2", "B"))
        assert second["attempt"] == first["attempt"]
        assert store.read_json("n1", "rows.json") == {"v": "A"}

    def test_an_attempt_without_marker_is_not_committed(self, store, tmp_path):
        # what a process killed during commit leaves: payload files, no marker
        half = f"{store.root}/n2/{ATTEMPTS}/20200101T000000-dead"
        store.fs.create_dir(half, recursive=True)
        with store.fs.open_output_stream(f"{half}/rows.json") as f:
            f.write(b'{"v": "half"}')
        assert not store.is_committed("n2")
        assert store.committed_ids() == []
        with pytest.raises(KeyError):
            store.fetch("n2")
        # the next run commits a whole entry and the leftover goes
        store.commit("n2", payload(tmp_path, "p", "whole"))
        assert store.read_json("n2", "rows.json") == {"v": "whole"}
        assert store.remove_orphans("n2", min_age_s=0) == 1
        infos = store.fs.get_file_info(pafs.FileSelector(f"{store.root}/n2/{ATTEMPTS}"))
        assert len(infos) == 1

    def test_a_marker_naming_a_missing_attempt_is_not_committed(self, store):
        store.fs.create_dir(f"{store.root}/n3", recursive=True)
        with store.fs.open_output_stream(f"{store.root}/n3/{MARKER}") as f:
            f.write(json.dumps({"attempt": "gone"}).encode())
        assert not store.is_committed("n3")

    def test_concurrent_commits_leave_one_valid_entry(self, store, tmp_path):
        dirs = [payload(tmp_path, f"p{i}", f"content-{i}") for i in range(6)]
        barrier = threading.Barrier(len(dirs))
        records = []

        def commit(d):
            barrier.wait()
            records.append(store.commit("n4", d))

        threads = [threading.Thread(target=commit, args=(d,)) for d in dirs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = store.record("n4")
        assert final is not None
        value = store.read_json("n4", "rows.json")["v"]
        weights = open(f"{store.fetch('n4', str(tmp_path / 'c'))}/weights/weights.bin").read()
        assert value == weights, "an entry never mixes files of two attempts"
        infos = store.fs.get_file_info(pafs.FileSelector(f"{store.root}/n4/{ATTEMPTS}"))
        assert [i.base_name for i in infos] == [final["attempt"]], "losers remove their attempts"

    def test_young_orphans_of_uncommitted_nodes_are_kept(self, store):
        half = f"{store.root}/n5/{ATTEMPTS}/fresh"
        store.fs.create_dir(half, recursive=True)
        time.sleep(0.01)
        assert store.remove_orphans("n5") == 0  # may be a live process still writing
        assert store.remove_orphans("n5", min_age_s=0) == 1

    def test_claims_let_one_process_train_and_expire_with_their_holder(self, store):
        assert store.claim("n6", "run-a/n6", ttl_s=30)
        assert not store.claim("n6", "run-b/n6", ttl_s=30), "a live claim keeps others waiting"
        assert store.claim("n6", "run-a/n6", ttl_s=30), "the owner refreshes or retakes its claim"
        store.release_claim("n6", "run-b/n6")  # not the owner: no effect
        assert store.claim_holder("n6")["owner"] == "run-a/n6"
        store.release_claim("n6", "run-a/n6")
        assert store.claim_holder("n6") is None
        assert store.claim("n6", "run-b/n6", ttl_s=0.01)
        time.sleep(0.05)
        assert store.claim("n6", "run-c/n6", ttl_s=30), "an expired claim is taken over"

    def test_a_claim_of_a_dead_local_process_is_taken_over(self, store):
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        store.fs.create_dir(f"{store.root}/n7", recursive=True)
        holder = {
            "owner": "gone",
            "expires": time.time() + 3600,
            "host": socket.gethostname(),
            "pid": int(dead.stdout),
        }
        with store.fs.open_output_stream(f"{store.root}/n7/{CLAIM}") as f:
            f.write(json.dumps(holder).encode())
        assert store.claim("n7", "run-x/n7", ttl_s=30)
