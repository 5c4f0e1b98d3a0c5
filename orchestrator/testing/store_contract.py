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

import hashlib
import json
import socket
import subprocess
import sys
import threading
import time

import pyarrow.fs as pafs
import pytest

from orchestrator.store.base import ATTEMPTS, CLAIM, MARKER, QUARANTINE, REASON, DamagedEntry


def payload(tmp_path, name: str, content: str) -> str:
    """A payload folder: a file in a subfolder and a JSON file, both holding ``content``."""
    d = tmp_path / name
    (d / "weights").mkdir(parents=True)
    (d / "weights" / "weights.bin").write_text(content)
    (d / "rows.json").write_text(json.dumps({"v": content}))
    return str(d)


def put(store, rel: str, data: bytes) -> None:
    """Write a file of the store by its path under the root (what a failing disk or a careless
    hand does)."""
    path = f"{store.root}/{rel}"
    store.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with store.fs.open_output_stream(path) as f:
        f.write(data)


def get(store, rel: str) -> bytes:
    """A file of the store by its path under the root."""
    with store.fs.open_input_stream(f"{store.root}/{rel}") as f:
        return f.read()


def forget(store) -> None:
    """Drop what this store object remembers of entries it checked: the view of a new process."""
    store._committed_cache.clear()
    store._verified.clear()


def attempts_holding_files(store, node_id: str) -> list[str]:
    """The node's attempt folders that hold files (some object stores keep an emptied folder's
    name for a while; it holds nothing)."""
    base = f"{store.root}/{node_id}/{ATTEMPTS}/"
    sel = pafs.FileSelector(base, recursive=True, allow_not_found=True)
    infos = store.fs.get_file_info(sel)
    return sorted(
        {i.path[len(base) :].split("/")[0] for i in infos if i.type == pafs.FileType.File}
    )


def attempt_of(store, node_id: str) -> str:
    return json.loads(get(store, f"{node_id}/{MARKER}"))["attempt"]


def marker_damage(store, node_id: str, kind: str) -> None:
    """Damage a committed entry's marker, or its attempt, in one of the ways disks and people do."""
    rec = json.loads(get(store, f"{node_id}/{MARKER}"))
    attempt = rec["attempt"]
    if kind == "truncated":
        put(store, f"{node_id}/{MARKER}", get(store, f"{node_id}/{MARKER}")[:20])
    elif kind == "empty":
        put(store, f"{node_id}/{MARKER}", b"")
    elif kind == "not utf-8":
        put(store, f"{node_id}/{MARKER}", b"\xff\xfe\x00garbage\x9c")
    elif kind == "not an object":
        put(store, f"{node_id}/{MARKER}", b"[1, 2, 3]")
    elif kind == "empty object":
        put(store, f"{node_id}/{MARKER}", b"{}")
    elif kind == "attempt outside":
        put(store, f"{node_id}/{MARKER}", json.dumps({**rec, "attempt": "../.."}).encode())
    elif kind == "another node's":
        put(store, f"{node_id}/{MARKER}", json.dumps({**rec, "node_id": "other"}).encode())
    elif kind == "no file list":
        put(store, f"{node_id}/{MARKER}", json.dumps({**rec, "files": {}}).encode())
    elif kind == "attempt missing":
        store.fs.delete_dir(f"{store.root}/{node_id}/{ATTEMPTS}/{attempt}")
    elif kind == "file missing":
        store.fs.delete_file(f"{store.root}/{node_id}/{ATTEMPTS}/{attempt}/weights/weights.bin")
    elif kind == "file emptied":
        put(store, f"{node_id}/{ATTEMPTS}/{attempt}/rows.json", b"")
    else:
        raise ValueError(kind)


MARKER_DAMAGE = (
    "truncated",
    "empty",
    "not utf-8",
    "not an object",
    "empty object",
    "attempt outside",
    "another node's",
    "no file list",
    "attempt missing",
    "file missing",
    "file emptied",
)


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
        assert len(attempts_holding_files(store, "n2")) == 1

    def test_a_marker_naming_a_missing_attempt_is_not_committed(self, store):
        store.fs.create_dir(f"{store.root}/n3", recursive=True)
        with store.fs.open_output_stream(f"{store.root}/n3/{MARKER}") as f:
            f.write(json.dumps({"node_id": "n3", "attempt": "gone", "committed_at": 1}).encode())
        assert not store.is_committed("n3")
        assert store.check("n3").damaged

    def test_the_marker_lists_every_file_with_its_size_and_digest(self, store, tmp_path):
        store.commit("n1", payload(tmp_path, "p", "ABC"))
        rec = json.loads(get(store, f"n1/{MARKER}"))
        assert rec["format"] == 2 and rec["node_id"] == "n1"
        assert set(rec["files"]) == {"weights/weights.bin", "rows.json"}
        weights = rec["files"]["weights/weights.bin"]
        assert weights == {"size": 3, "sha256": hashlib.sha256(b"ABC").hexdigest()}
        assert store.check("n1", digests=True).committed

    @pytest.mark.parametrize("kind", MARKER_DAMAGE)
    def test_a_damaged_entry_is_not_committed_and_says_why(self, store, tmp_path, kind):
        store.commit("n1", payload(tmp_path, "p", "A"))
        marker_damage(store, "n1", kind)
        forget(store)
        found = store.check("n1")
        assert found.damaged and found.reason, kind
        assert not store.is_committed("n1") and store.record("n1") is None
        assert store.committed_ids() == [] and store.entry_ids() == ["n1"]
        with pytest.raises((DamagedEntry, KeyError)):
            store.read_json("n1", "rows.json")
        with pytest.raises((DamagedEntry, KeyError)):
            store.fetch("n1", cache_dir=str(tmp_path / "cache"))

    def test_a_file_changed_in_place_is_caught_by_its_digest(self, store, tmp_path):
        store.commit("n1", payload(tmp_path, "p", "AAAA"))
        attempt = attempt_of(store, "n1")
        put(store, f"n1/{ATTEMPTS}/{attempt}/weights/weights.bin", b"ABAA")  # same size
        put(store, f"n1/{ATTEMPTS}/{attempt}/rows.json", json.dumps({"v": "BBBB"}).encode())
        forget(store)
        assert store.check("n1").committed, "sizes match: a quick look cannot tell"
        found = store.check("n1", digests=True)
        assert found.damaged and "sha256" in found.reason
        with pytest.raises(DamagedEntry, match="rows.json has sha256"):
            store.read_json("n1", "rows.json")

    def test_a_fetch_refuses_a_corrupted_payload_and_moves_it_aside(self, store, tmp_path, capsys):
        store.commit("n1", payload(tmp_path, "p", "AAAA"))
        attempt = attempt_of(store, "n1")
        put(store, f"n1/{ATTEMPTS}/{attempt}/weights/weights.bin", b"AAAB")
        forget(store)
        with pytest.raises(DamagedEntry, match="weights/weights.bin has sha256"):
            store.fetch("n1", cache_dir=str(tmp_path / "cache"))
        forget(store)
        assert not store.is_committed("n1")
        notes = store.quarantined()
        assert [n["node_id"] for n in notes] == ["n1"] and "sha256" in notes[0]["reason"]
        assert "damaged entry n1" in capsys.readouterr().err

    def test_a_damaged_entry_is_moved_aside_whole_never_deleted(self, store, tmp_path, capsys):
        store.commit("n1", payload(tmp_path, "p", "A"))
        attempt = attempt_of(store, "n1")
        marker_damage(store, "n1", "file emptied")
        damaged_marker = get(store, f"n1/{MARKER}")
        found = store.check("n1")
        where = store.quarantine(found)
        assert where is not None
        assert store.check("n1").state == "absent"
        notes = store.quarantined()
        assert len(notes) == 1 and notes[0]["node_id"] == "n1"
        assert notes[0]["reason"] == found.reason and notes[0]["attempt"] == attempt
        q = notes[0]["path"][len(store.root) + 1 :]
        assert q.startswith(f"{QUARANTINE}/n1/")
        assert get(store, f"{q}/{MARKER}") == damaged_marker
        assert get(store, f"{q}/{ATTEMPTS}/{attempt}/weights/weights.bin") == b"A"
        assert json.loads(get(store, f"{q}/{REASON}"))["reason"] == found.reason
        assert store.quarantine(found) is None, "moved once, reported once"
        err = capsys.readouterr().err
        assert err.count("damaged entry n1") == 1 and found.reason in err
        assert store.committed_ids() == [] and store.entry_ids() == ["n1"]

    @pytest.mark.parametrize("kind", ["truncated", "attempt outside", "attempt missing"])
    def test_a_commit_over_a_damaged_entry_moves_it_aside_and_commits(self, store, tmp_path, kind):
        store.commit("n1", payload(tmp_path, "p", "old"))
        marker_damage(store, "n1", kind)
        forget(store)
        rec = store.commit("n1", payload(tmp_path, "q", "new"))
        forget(store)
        assert store.record("n1")["attempt"] == rec["attempt"]
        assert store.read_json("n1", "rows.json") == {"v": "new"}
        assert store.check("n1", digests=True).committed
        assert [n["node_id"] for n in store.quarantined()] == ["n1"]

    def test_racing_commits_over_a_damaged_entry_leave_one_valid_entry(self, store, tmp_path):
        store.commit("n4", payload(tmp_path, "old", "old"))
        old_attempt = attempt_of(store, "n4")
        marker_damage(store, "n4", "truncated")
        damaged = get(store, f"n4/{MARKER}")
        forget(store)
        dirs = [payload(tmp_path, f"p{i}", f"content-{i}") for i in range(4)]
        barrier = threading.Barrier(len(dirs))

        def commit(d):
            barrier.wait()
            type(store).commit(store, "n4", d)

        threads = [threading.Thread(target=commit, args=(d,)) for d in dirs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        forget(store)
        assert store.check("n4", digests=True).committed
        value = store.read_json("n4", "rows.json")["v"]
        assert value.startswith("content-")
        notes = store.quarantined()
        assert notes and all(n["node_id"] == "n4" for n in notes)
        for n in notes:  # only the damaged marker was ever moved aside
            assert get(store, f"{n['path'][len(store.root) + 1 :]}/{MARKER}") == damaged
        kept = []
        for n in notes:
            moved = f"{n['path'][len(store.root) + 1 :]}/{ATTEMPTS}/{old_attempt}"
            try:
                kept.append(get(store, f"{moved}/weights/weights.bin"))
            except FileNotFoundError:
                pass
        assert b"old" in kept, "the damaged entry's files are kept"
        store.remove_orphans("n4", min_age_s=0)
        assert attempts_holding_files(store, "n4") == [store.record("n4")["attempt"]]

    def test_a_marker_of_the_first_format_still_counts(self, store, tmp_path):
        store.commit("n1", payload(tmp_path, "p", "A"))
        rec = json.loads(get(store, f"n1/{MARKER}"))
        legacy = {k: rec[k] for k in ("node_id", "attempt", "committed_at", "host")}
        put(store, f"n1/{MARKER}", json.dumps(legacy).encode())
        forget(store)
        assert store.is_committed("n1")
        assert store.read_json("n1", "rows.json") == {"v": "A"}

    @pytest.mark.parametrize("garbage", [b"", b"\xff\xfe", b"[]", b'{"owner": 3}'])
    def test_an_unreadable_claim_is_taken_over(self, store, garbage):
        put(store, f"n8/{CLAIM}", garbage)
        assert store.claim_holder("n8") is None
        assert store.claim("n8", "run-x/n8", ttl_s=30)
        assert store.claim_holder("n8")["owner"] == "run-x/n8"

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
        kept = attempts_holding_files(store, "n4")
        assert all(r["attempt"] in kept for r in records), (
            "a committer's record names a whole entry"
        )
        if store.exclusive_create:
            assert kept == [final["attempt"]], "losers remove their attempts"
        store.remove_orphans("n4", min_age_s=0)
        assert attempts_holding_files(store, "n4") == [final["attempt"]]
        assert store.check("n4", digests=True).committed

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
