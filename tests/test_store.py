"""The artifact store's contract, run against every backend: a local path, a file:// URI and
pyarrow's in-memory filesystem (which has no hard links, so it takes the object-store route)."""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
import time

import pyarrow.fs as pafs
import pytest

from orchestrator.store import ATTEMPTS, MARKER, ArtifactStore


@pytest.fixture(params=["local", "file-uri", "memory"])
def store(request, tmp_path):
    if request.param == "local":
        return ArtifactStore(str(tmp_path / "store"))
    if request.param == "file-uri":
        return ArtifactStore(f"file://{tmp_path / 'store'}")
    return ArtifactStore("mem/store", filesystem=pafs._MockFileSystem())


def payload(tmp_path, name: str, content: str) -> str:
    d = tmp_path / name
    (d / "adapter").mkdir(parents=True)
    (d / "adapter" / "weights.bin").write_text(content)
    (d / "rows.json").write_text(json.dumps({"v": content}))
    return str(d)


def test_commit_then_read(store, tmp_path):
    assert not store.is_committed("n1")
    rec = store.commit("n1", payload(tmp_path, "p", "A"), meta={"simulated": False})
    assert store.is_committed("n1") and rec["node_id"] == "n1" and rec["simulated"] is False
    assert store.read_json("n1", "rows.json") == {"v": "A"}
    assert store.committed_ids() == ["n1"]
    local = store.fetch("n1", cache_dir=str(tmp_path / "cache"))
    assert open(f"{local}/adapter/weights.bin").read() == "A"


def test_a_committed_entry_never_changes(store, tmp_path):
    first = store.commit("n1", payload(tmp_path, "p1", "A"))
    second = store.commit("n1", payload(tmp_path, "p2", "B"))
    assert second["attempt"] == first["attempt"]
    assert store.read_json("n1", "rows.json") == {"v": "A"}


def test_an_attempt_without_marker_is_not_committed(store, tmp_path):
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


def test_a_marker_naming_a_missing_attempt_is_not_committed(store):
    store.fs.create_dir(f"{store.root}/n3", recursive=True)
    with store.fs.open_output_stream(f"{store.root}/n3/{MARKER}") as f:
        f.write(json.dumps({"attempt": "gone"}).encode())
    assert not store.is_committed("n3")


def test_concurrent_commits_leave_one_valid_entry(store, tmp_path):
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
    weights = open(f"{store.fetch('n4', str(tmp_path / 'c'))}/adapter/weights.bin").read()
    assert value == weights, "an entry never mixes files of two attempts"
    infos = store.fs.get_file_info(pafs.FileSelector(f"{store.root}/n4/{ATTEMPTS}"))
    assert [i.base_name for i in infos] == [final["attempt"]], "losers remove their attempts"


def _commit_in_process(root, d, barrier, out):
    barrier.wait()
    out.put(ArtifactStore(root).commit("shared", d)["attempt"])


def test_concurrent_processes_commit_once_on_a_local_store(tmp_path):
    root = str(tmp_path / "store")
    ArtifactStore(root)
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
    store = ArtifactStore(root)
    assert store.record("shared")["attempt"] in attempts


def test_young_orphans_of_uncommitted_nodes_are_kept(store, tmp_path):
    half = f"{store.root}/n5/{ATTEMPTS}/fresh"
    store.fs.create_dir(half, recursive=True)
    time.sleep(0.01)
    assert store.remove_orphans("n5") == 0  # may be a live process still writing
    assert store.remove_orphans("n5", min_age_s=0) == 1


def test_claims_let_one_process_train_and_expire_with_their_holder(store):
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


def test_a_claim_of_a_dead_local_process_is_taken_over(store):
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    store.fs.create_dir(f"{store.root}/n7", recursive=True)
    import socket

    with store.fs.open_output_stream(f"{store.root}/n7/CLAIM.json") as f:
        f.write(
            json.dumps(
                {
                    "owner": "gone",
                    "expires": time.time() + 3600,
                    "host": socket.gethostname(),
                    "pid": int(dead.stdout),
                }
            ).encode()
        )
    assert store.claim("n7", "run-x/n7", ttl_s=30)
