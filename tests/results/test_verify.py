"""``orchestrator verify``: every entry and row file checked, damage named, ``--repair`` moves
it aside and rebuilds what the store can rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.__main__ import main
from orchestrator.contract.rows import ResultRow, TaskResult
from orchestrator.results import row_files as results
from orchestrator.store import MARKER
from tests.filled_store import fill

SWEEP = "tiny_sim"


@pytest.fixture
def filled(tmp_path):
    return fill(tmp_path, SWEEP)


def verify(capsys, *args: str) -> tuple[int, str]:
    code = main(["verify", *args])
    return code, capsys.readouterr().out


def test_a_sound_store_and_results_pass(filled, capsys):
    store, res, nodes = filled
    code, out = verify(capsys, "--store", store.root, "--results", res)
    assert code == 0, out
    assert f"{len(nodes)} entries, {len(nodes)} committed, 0 damaged" in out
    assert f"{len(nodes)} row file(s), 0 damaged" in out and "ok: nothing damaged" in out


def test_damage_is_named_repaired_and_gone_on_the_next_check(filled, capsys):
    store, res, nodes = filled
    trials = Path(res) / SWEEP / "trials"
    broken_entry = nodes["adapter/syn_sentiment/s1"].id
    marker = Path(store.root) / broken_entry / MARKER
    marker.write_bytes(marker.read_bytes()[:30])
    unreadable = nodes["adapter/syn_paraphrase/s1"].id
    before = results.read_node_rows(res, SWEEP, unreadable)
    (trials / f"{unreadable}.parquet").write_bytes(b"PAR1 not really")
    failed = nodes["scalearn/syn_sentiment/s0"]
    spec = failed
    row = ResultRow.build(
        spec, TaskResult(spec.scored_tasks[0]), sweep=SWEEP, run_id="x", status="failed"
    )
    results.write_node_rows(res, SWEEP, failed.id, [row])
    orphan = "adapter-gone-s0-0000"  # a row file of a node the store never held, unreadable
    (trials / f"{orphan}.parquet").write_bytes(b"")

    code, out = verify(capsys, "--store", store.root, "--results", res, "--json")
    assert code == 1
    report = json.loads(out)
    found = {(f["kind"], f["node_id"]): f["problem"] for f in report["damaged"]}
    assert set(found) == {
        ("entry", broken_entry),
        ("rows", unreadable),
        ("rows", failed.id),
        ("rows", orphan),
    }
    assert "not JSON" in found[("entry", broken_entry)]
    assert "'failed' row, but the node is committed" in found[("rows", failed.id)]
    assert not report["ok"]

    code, out = verify(capsys, "--store", store.root, "--results", res, "--repair")
    assert code == 1, "like fsck: damage was found (and repaired)"
    assert out.count("repaired:") == 4
    code, out = verify(capsys, "--store", store.root, "--results", res)
    assert code == 0, out
    assert f"note    rows {broken_entry}: no committed entry" in out  # it trains at the next run

    assert results.read_node_rows(res, SWEEP, unreadable) == before, "rebuilt from the store"
    assert [r["status"] for r in results.read_node_rows(res, SWEEP, failed.id)] == ["done"]
    assert not (trials / f"{orphan}.parquet").exists()
    kept = sorted((trials / ".quarantine").glob("*.parquet"))
    assert [p.name.split(".")[0] for p in kept] == [orphan], "moved aside, not deleted"
    note = store.quarantined()[0]
    assert note["node_id"] == broken_entry and (Path(note["path"]) / MARKER).exists()


def test_verify_needs_a_store_or_results_that_exist(tmp_path, capsys):
    assert main(["verify"]) == 2
    assert "give --store" in capsys.readouterr().err
    assert main(["verify", "--store", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists(), "a check creates nothing"


def test_one_sweep_folder_can_be_checked_alone(filled, capsys):
    store, res, nodes = filled
    code, out = verify(capsys, "--results", f"{res}/{SWEEP}")
    assert code == 0 and f"1 sweep(s), {len(nodes)} row file(s)" in out
