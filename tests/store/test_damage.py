"""Nothing finished is lost when a disk or a careless hand damages the store or the results.

One simulated sweep runs through real Ray; then its store entries and row files are damaged in
every way below, each on its own node; ``plan``, ``status``, ``table`` and ``verify`` read the
damage, and one rerun repairs it. Each test checks one damage case on the outcome.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.planning.plan import plan_sweep
from orchestrator.results import row_files as results
from orchestrator.store import ATTEMPTS, CLAIM, MARKER, open_store
from orchestrator.sweep.spec import load_spec
from tests.conftest import run_cli, simulated_run_args

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SWEEP_YAML = """\
sweep: damage
backbone: tiny-roberta
benchmarks:
  synthetic:
    tasks: [syn_sentiment, syn_paraphrase, syn_topic]
    data: {source: synthetic, seed: 0, n_train: 64, n_test: 32}
    seeds: [0, 1, 2, 3]
training: {epochs: 2, batch_size: 16}
methods:
  adapter: {lr: 1.0e-2}
  scalearn: {lr: 3.0e-2, seeds: [0]}
"""

# damage case -> (node label, what the reason must say)
ENTRY_CASES = {
    "truncated marker": ("adapter/syn_sentiment/s1", "not JSON"),
    "non-UTF-8 marker": ("adapter/syn_paraphrase/s1", "not UTF-8"),
    "non-object marker": ("adapter/syn_topic/s1", "not an object"),
    "empty-object marker": ("adapter/syn_sentiment/s2", "names node None"),
    "attempt outside the entry": ("adapter/syn_paraphrase/s2", "not a folder inside the entry"),
    "attempt folder missing": ("adapter/syn_topic/s2", "missing or empty"),
    "empty rows.json": ("adapter/syn_sentiment/s3", "rows.json has 0 bytes"),
    "empty node.json": ("adapter/syn_paraphrase/s3", "node.json has 0 bytes"),
    "corrupted source payload": ("adapter/syn_topic/s0", "SIMULATED has sha256"),
    "marker of another node": ("scalearn/syn_topic/s0", "not this entry's"),
}
# damage case -> node label; these nodes' entries are whole: their rows come from the store
ROW_CASES = {
    "empty row file": "adapter/syn_sentiment/s0",
    "truncated row file": "adapter/syn_paraphrase/s0",
    "failed row over a committed node": "scalearn/syn_sentiment/s0",
    "missing row file": "scalearn/syn_paraphrase/s0",
}
UNREADABLE_ROWS = ("empty row file", "truncated row file")


def _marker(store: Path, node_id: str) -> dict:
    return json.loads((store / node_id / MARKER).read_text())


def _attempt(store: Path, node_id: str) -> Path:
    return store / node_id / ATTEMPTS / _marker(store, node_id)["attempt"]


def damage_entry(store: Path, case: str, node_id: str, other_id: str) -> bytes:
    """Damage one entry; returns its marker's bytes afterwards (what the quarantine keeps)."""
    marker = store / node_id / MARKER
    rec = _marker(store, node_id)
    if case == "truncated marker":
        marker.write_bytes(marker.read_bytes()[:37])
    elif case == "non-UTF-8 marker":
        marker.write_bytes(b"\xff\xfe\x00\x9c garbage")
    elif case == "non-object marker":
        marker.write_bytes(b'["not", "a", "marker"]')
    elif case == "empty-object marker":
        marker.write_bytes(b"{}")
    elif case == "attempt outside the entry":
        marker.write_text(json.dumps({**rec, "attempt": "../.."}))
    elif case == "attempt folder missing":
        shutil.rmtree(_attempt(store, node_id))
        (store / node_id / CLAIM).write_bytes(b"\x00\x01 not a claim")  # and a garbage claim
    elif case == "empty rows.json":
        (_attempt(store, node_id) / "rows.json").write_bytes(b"")
    elif case == "empty node.json":
        (_attempt(store, node_id) / "node.json").write_bytes(b"")
    elif case == "corrupted source payload":
        f = _attempt(store, node_id) / "SIMULATED"
        data = bytearray(f.read_bytes())
        data[0] ^= 0x20  # one flipped bit: same size, other digest
        f.write_bytes(bytes(data))
    elif case == "marker of another node":
        marker.write_bytes((store / other_id / MARKER).read_bytes())
    else:
        raise ValueError(case)
    return marker.read_bytes()


def damage_rows(trials: Path, case: str, node_id: str, failed_row: bytes) -> None:
    f = trials / f"{node_id}.parquet"
    if case == "empty row file":
        f.write_bytes(b"")
    elif case == "truncated row file":
        f.write_bytes(f.read_bytes()[:100])
    elif case == "failed row over a committed node":
        f.write_bytes(failed_row)
    elif case == "missing row file":
        f.unlink()
    else:
        raise ValueError(case)


def _failed_row_file(tmp: Path, node) -> bytes:
    """What the old runner wrote over a node whose retraining it could not commit."""
    from orchestrator.contract.node import NodeStatus
    from orchestrator.contract.rows import ResultRow, TaskResult

    spec = node
    row = ResultRow.build(
        spec,
        TaskResult(spec.scored_tasks[0]),
        sweep="damage",
        run_id="old",
        status=NodeStatus.FAILED,
        error="commit refused",
    )
    path = results.write_node_rows(str(tmp / "scratch"), "damage", node.id, [row])
    return Path(path).read_bytes()


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    """The sweep run, damaged, read by every reader, rerun, verified: what each step said."""
    work = tmp_path_factory.mktemp("damage")
    sweep = work / "damage.yaml"
    sweep.write_text(SWEEP_YAML)
    plan = plan_sweep(load_spec(sweep), simulate=True)
    by_label = {n.label: n for n in plan.nodes}
    store, res = work / "store", work / "results"
    first = run_cli(*simulated_run_args(sweep, work, "40"), timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    rows_before = results.load(str(res / "damage"))
    assert set(rows_before.status) == {"done"}

    damaged_markers = {}
    for case, (label, _) in ENTRY_CASES.items():
        other = by_label["adapter/syn_topic/s3"].id
        damaged_markers[case] = damage_entry(store, case, by_label[label].id, other)
    failed_row = _failed_row_file(work, by_label[ROW_CASES["failed row over a committed node"]])
    for case, label in ROW_CASES.items():
        damage_rows(res / "damage" / "trials", case, by_label[label].id, failed_row)

    out = {
        "work": work,
        "plan": plan,
        "by_label": by_label,
        "rows_before": rows_before,
        "damaged_markers": damaged_markers,
        "plan_cli": run_cli("plan", str(sweep), "--simulate", "--store", str(store)),
        "status_cli": run_cli("status", str(res / "damage")),
        "table_cli": run_cli("table", str(res / "damage")),
        "plot_cli": run_cli("plot", str(res / "damage"), "--out", str(work / "damage.png")),
        "verify_before": run_cli("verify", "--store", str(store), "--results", str(res), "--json"),
    }
    out["rerun"] = run_cli(*simulated_run_args(sweep, work, "40"), timeout=600)
    out["verify_after"] = run_cli("verify", "--store", str(store), "--results", str(res))
    out["rows_after"] = results.load(str(res / "damage"))
    out["trained"] = Counter(t["node_id"] for t in results.trainings(str(res / "damage")))
    out["store"] = open_store(str(store))
    return out


def test_plan_status_table_and_plot_read_the_damage_without_a_traceback(outcome):
    p = outcome["plan_cli"]
    assert p.returncode == 0, p.stderr[-2000:]
    # a quick look checks sizes, not digests: the corrupted source still looks committed
    cached = len(outcome["plan"].nodes) - len(ENTRY_CASES) + 1
    assert f"{cached} cached" in p.stdout, "damaged entries are not cached"
    for name in ("status_cli", "table_cli", "plot_cli"):
        r = outcome[name]
        assert r.returncode == 0, r.stderr[-2000:]
        assert "Traceback" not in r.stderr
        for case in UNREADABLE_ROWS:
            node_id = outcome["by_label"][ROW_CASES[case]].id
            assert r.stderr.count(f"{node_id}.parquet") == 1, "one warning naming the file"
    assert "nodes" in outcome["status_cli"].stdout
    assert (outcome["work"] / "damage.png").stat().st_size > 10_000, "a figure of the rest"


def test_verify_names_every_damaged_entry_and_row_file_and_exits_1(outcome):
    v = outcome["verify_before"]
    assert v.returncode == 1, v.stderr[-2000:]
    report = json.loads(v.stdout)
    by_label = outcome["by_label"]
    entries = {f["node_id"]: f["problem"] for f in report["damaged"] if f["kind"] == "entry"}
    assert set(entries) == {by_label[label].id for label, _ in ENTRY_CASES.values()}
    for label, says in ENTRY_CASES.values():
        assert says in entries[by_label[label].id], (label, entries[by_label[label].id])
    rows = {f["node_id"] for f in report["damaged"] if f["kind"] == "rows"}
    expected = {
        by_label[ROW_CASES[c]].id for c in (*UNREADABLE_ROWS, "failed row over a committed node")
    }
    assert rows == expected  # a missing file is no damage: the next run writes it
    after = outcome["verify_after"]
    assert after.returncode == 0, after.stdout[-3000:]
    assert "ok: nothing damaged" in after.stdout


def test_the_rerun_completes_with_one_valid_entry_per_node(outcome):
    r = outcome["rerun"]
    assert r.returncode == 0, r.stderr[-4000:]
    assert f"{len(ENTRY_CASES)} damaged store entries moved aside" in r.stderr
    store = outcome["store"]
    for n in outcome["plan"].nodes:
        assert store.check(n.id, digests=True).committed, n.label
        attempts = [p.name for p in (Path(store.root) / n.id / ATTEMPTS).iterdir()]
        assert attempts == [store.record(n.id)["attempt"]], n.label
    df = outcome["rows_after"]
    assert set(df.status) == {"done"}, "no done row lost or replaced by a failed one"
    assert not df.duplicated(["node_id", "task"]).any()
    assert set(df.node_id) == {n.id for n in outcome["plan"].nodes}


@pytest.mark.parametrize("case", list(ENTRY_CASES))
def test_a_damaged_entry_is_moved_aside_and_trained_again_once(outcome, case):
    label, says = ENTRY_CASES[case]
    node = outcome["by_label"][label]
    store = outcome["store"]
    notes = [n for n in store.quarantined() if n["node_id"] == node.id]
    assert len(notes) == 1 and says in notes[0]["reason"], notes
    kept = Path(notes[0]["path"]) / MARKER
    assert kept.read_bytes() == outcome["damaged_markers"][case], "the damaged copy is kept"
    assert outcome["trained"][node.id] == 2, "trained once more: repaired, not trained twice"
    row = outcome["rows_after"].set_index("node_id").loc[node.id]
    assert (
        row.status == "done"
        and row.run_id != outcome["rows_before"].set_index("node_id").loc[node.id, "run_id"]
    ), "its row comes from the new training"


def test_a_damaged_entry_s_files_are_kept_beside_its_marker(outcome):
    store = outcome["store"]
    node = outcome["by_label"][ENTRY_CASES["empty rows.json"][0]]
    note = next(n for n in store.quarantined() if n["node_id"] == node.id)
    kept = Path(note["path"]) / ATTEMPTS / note["attempt"]
    assert (kept / "rows.json").read_bytes() == b"" and (kept / "SIMULATED").exists()


def test_a_corrupted_source_trains_again_before_its_dependent(outcome):
    by_label, df = outcome["by_label"], outcome["rows_after"].set_index("node_id")
    source = by_label[ENTRY_CASES["corrupted source payload"][0]]
    dependent = by_label[ENTRY_CASES["marker of another node"][0]]
    assert source.id in dependent.deps
    assert df.loc[dependent.id, "started_at"] >= df.loc[source.id, "finished_at"]


@pytest.mark.parametrize("case", list(ROW_CASES))
def test_a_damaged_row_file_of_a_committed_node_is_rebuilt_from_the_store(outcome, case):
    node = outcome["by_label"][ROW_CASES[case]]
    before = outcome["rows_before"].set_index("node_id").loc[node.id]
    after = outcome["rows_after"].set_index("node_id").loc[node.id]
    assert after.status == "done" and after.score == before.score
    assert after.run_id == before.run_id, "rebuilt from the entry, not trained again"
    assert outcome["trained"][node.id] == 1
    trials = outcome["work"] / "results" / "damage" / "trials" / ".quarantine"
    kept = sorted(trials.glob(f"{node.id}.*.parquet")) if trials.exists() else []
    assert len(kept) == (1 if case in UNREADABLE_ROWS else 0), "an unreadable file is kept aside"


def test_untouched_nodes_train_once(outcome):
    damaged = {outcome["by_label"][label].id for label, _ in ENTRY_CASES.values()}
    for n in outcome["plan"].nodes:
        if n.id not in damaged:
            assert outcome["trained"][n.id] == 1, n.label
