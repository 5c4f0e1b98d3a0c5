"""Readers of results and journals go on past a file they cannot read, saying which one."""

from __future__ import annotations

import json

import pytest

from orchestrator.hpsearch.journal import ResultsJournal
from orchestrator.results import row_files as results
from tests.result_rows import row


@pytest.fixture
def sweep(tmp_path):
    res = str(tmp_path / "results")
    for i in range(3):
        results.write_node_rows(res, "s", f"n{i}", [row(f"n{i}", "syn_topic", 70.0 + i, seed=i)])
    return res, tmp_path / "results" / "s" / "trials"


@pytest.mark.parametrize(
    "damage",
    [b"", b"PAR1\x00\x00garbage", "truncated", "other schema"],
    ids=["empty", "garbage", "truncated", "other schema"],
)
def test_load_skips_an_unreadable_row_file_with_one_warning(sweep, damage, capsys):
    res, trials = sweep
    f = trials / "n1.parquet"
    if damage == "truncated":
        f.write_bytes(f.read_bytes()[:-40])
    elif damage == "other schema":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"score": ["not a float"]}), f)
    else:
        f.write_bytes(damage)
    df = results.load(f"{res}/s")
    assert sorted(df.node_id) == ["n0", "n2"], "the readable files are all read"
    err = capsys.readouterr().err
    assert err.count("warning: skipping") == 1 and str(f) in err
    assert results.read_node_rows(res, "s", "n1") == []
    assert not results.has_done_rows(res, "s", "n1")
    found = {x.node_id: x.problem for x in results.scan(res, "s")}
    assert found["n0"] is None and found["n1"]


def test_done_rows_are_all_done_for_every_task(sweep):
    res, _ = sweep
    assert results.has_done_rows(res, "s", "n0", ["syn_topic"])
    assert not results.has_done_rows(res, "s", "n0", ["syn_topic", "syn_sentiment"])
    results.write_node_rows(res, "s", "n0", [row("n0", "syn_topic", 0.0, status="failed")])
    assert not results.has_done_rows(res, "s", "n0")
    assert not results.has_done_rows(res, "s", "n9")


def test_a_moved_aside_row_file_is_kept_and_no_longer_read(sweep, capsys):
    res, trials = sweep
    (trials / "n2.parquet").write_bytes(b"")
    where = results.quarantine_row_file(res, "s", "n2", "empty")
    assert where and (trials / ".quarantine").is_dir()
    assert not (trials / "n2.parquet").exists()
    assert sorted(results.load(f"{res}/s").node_id) == ["n0", "n1"]
    assert "warning" not in capsys.readouterr().err


def test_training_notes_skip_an_unreadable_one(tmp_path, capsys):
    res = str(tmp_path / "r")
    results.record_training(res, "s", "n1", {"run_id": "a"})
    bad = tmp_path / "r" / "s" / "trainings" / "n2.bad.json"
    bad.write_bytes(b"{trunc")
    assert [t["node_id"] for t in results.trainings(f"{res}/s")] == ["n1"]
    assert str(bad) in capsys.readouterr().err


def test_a_journal_reads_optunas_format_and_drops_a_line_cut_short(tmp_path):
    path = tmp_path / "g.journal"
    logs = [{"op_code": 0, "worker_id": "w", "study_name": "g"}, {"op_code": 4, "x": 1}]
    path.write_text("".join(json.dumps(x) + "\n" for x in logs) + '{"op_code": 5, "x"')
    journal = ResultsJournal(str(path))
    assert journal.read_logs(0) == logs and journal.read_logs(1) == logs[1:]
    journal.append_logs([{"op_code": 6}])
    assert [json.loads(x) for x in path.read_text().splitlines()] == [*logs, {"op_code": 6}]


def test_a_damaged_journal_is_moved_aside_and_the_study_starts_empty(tmp_path, capsys):
    path = tmp_path / "g.journal"
    path.write_bytes(b'{"op_code": 0}\n\xff\xfe garbage\n{"op_code": 4}\n')
    assert ResultsJournal(str(path)).read_logs(0) == []
    kept = list(tmp_path.glob("g.journal.damaged-*"))
    assert len(kept) == 1 and b"garbage" in kept[0].read_bytes()
    assert "line 2" in capsys.readouterr().err
