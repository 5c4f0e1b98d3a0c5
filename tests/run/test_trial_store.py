"""What a trial and the runner do with the store's verdicts, without Ray: a corrupted source
fails its dependent clearly, and a committed node's done row is never replaced by a failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.contract.node import NodeStatus
from orchestrator.results import row_files as results
from orchestrator.run.outcomes import record_outcomes
from orchestrator.run.prepare import prepare_run
from orchestrator.run.progress import Progress
from orchestrator.run.searcher import DagSearcher
from orchestrator.run.trial import SourceUnusable, _fetch_sources
from orchestrator.run.tuner import TunerSetup
from orchestrator.store import ATTEMPTS, MARKER, open_store
from orchestrator.sweep.spec import load_spec
from tests.conftest import TEST_SWEEPS
from tests.filled_store import fill


@pytest.fixture
def filled(tmp_path):
    return fill(tmp_path)


def test_a_trial_refuses_a_corrupted_source_and_names_it(filled):
    store, _, nodes = filled
    target = nodes["scalearn/syn_sentiment/s0"]
    source = nodes["adapter/syn_paraphrase/s0"]
    assert source.id in [s.node_id for s in target.sources]
    entry = Path(store.root) / source.id
    attempt = json.loads((entry / MARKER).read_text())["attempt"]
    f = entry / ATTEMPTS / attempt / "SIMULATED"
    f.write_bytes(f.read_bytes().replace(b"stand-in", b"stand-ON"))  # same size
    fresh = open_store(store.root)  # a trial's process: nothing checked yet
    with pytest.raises(SourceUnusable, match=f"source {source.id} differs.*SIMULATED has sha256"):
        _fetch_sources(target, fresh)
    assert not fresh.is_committed(source.id), "moved aside: the next run trains it again"
    assert fresh.quarantined()[0]["node_id"] == source.id


def test_a_trial_refuses_a_source_whose_marker_is_damaged(filled):
    store, _, nodes = filled
    target = nodes["scalearn/syn_paraphrase/s0"]
    source = nodes["adapter/syn_sentiment/s0"]
    (Path(store.root) / source.id / MARKER).write_bytes(b'{"attempt": "../.."}')
    with pytest.raises(SourceUnusable, match="is damaged in the store.*moved aside"):
        _fetch_sources(target, open_store(store.root))


def test_a_committed_node_keeps_its_done_row_when_its_trial_failed_after_the_commit(filled):
    store, res, nodes = filled
    spec = load_spec(TEST_SWEEPS / "tiny_sim.yaml")
    run = prepare_run(spec, res, store.root, simulate=True, speed=1.0, fail=None)
    assert run.cached == {n.id for n in nodes.values()}
    victim = nodes["adapter_m/synthetic/s0"]
    before = results.read_node_rows(res, "tiny_sim", victim.id)
    searcher = DagSearcher(run.dag, run.store.is_committed)
    searcher.status = {i: NodeStatus.DONE for i in searcher.status}
    searcher.status[victim.id] = NodeStatus.FAILED  # e.g. the worker died after the commit
    setup = TunerSetup(None, searcher, Progress(searcher, run.dag), {}, run.dag.nodes)
    record_outcomes(run, setup)
    after = results.read_node_rows(res, "tiny_sim", victim.id)
    assert [r["status"] for r in after] == ["done", "done"] and after == before


def test_a_trial_that_errors_after_its_commit_counts_as_done(filled):
    store, res, nodes = filled
    spec = load_spec(TEST_SWEEPS / "tiny_sim.yaml")
    run = prepare_run(spec, res, store.root, simulate=True, speed=1.0, fail=None)
    searcher = DagSearcher(run.dag, run.store.is_committed)
    node_id = nodes["adapter/syn_sentiment/s1"].id
    searcher.status[node_id] = NodeStatus.RUNNING
    searcher.trials["t1"] = node_id
    searcher.on_trial_complete("t1", error=True)
    assert searcher.status[node_id] == NodeStatus.DONE, "the store is the ledger"
