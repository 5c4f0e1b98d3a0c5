"""Result rows in Parquet: one file per node, replaced atomically, read back as one frame."""

from __future__ import annotations

import pandas as pd

from orchestrator.analysis import tables
from orchestrator.results import row_files as results
from tests.result_rows import row


def test_rows_round_trip_through_parquet(tmp_path):
    res = str(tmp_path / "results")
    results.write_node_rows(res, "s", "n1", [row("n1", "syn_topic", 70.0)])
    results.write_node_rows(res, "s", "n2", [row("n2", "syn_topic", 80.0, seed=1)])
    df = pd.read_parquet(f"{res}/s/trials")
    assert sorted(df["score"]) == [70.0, 80.0]
    assert set(results.COLUMNS) <= set(df.columns)
    df2 = results.load(f"{res}/s")
    assert df2.loc[df2.node_id == "n1", "metrics"].iloc[0] == {"accuracy": 70.0}
    assert str(df2["started_at"].dtype).startswith("datetime64")


def test_a_node_has_one_current_file(tmp_path):
    res = str(tmp_path / "results")
    results.write_node_rows(res, "s", "n1", [row("n1", "syn_topic", 0.0, status="failed")])
    results.write_node_rows(res, "s", "n1", [row("n1", "syn_topic", 75.0)])
    df = results.load(f"{res}/s")
    assert len(df) == 1 and df["status"].iloc[0] == "done"
    assert results.has_rows(res, "s", "n1") and not results.has_rows(res, "s", "n9")


def test_grid_is_mean_over_seeds_with_avg_empty_when_a_task_is_missing(tmp_path):
    res = str(tmp_path / "results")
    results.write_node_rows(res, "s", "a0", [row("a0", "syn_topic", 70.0)])
    results.write_node_rows(res, "s", "a1", [row("a1", "syn_topic", 80.0, seed=1)])
    results.write_node_rows(res, "s", "a2", [row("a2", "syn_sentiment", 60.0)])
    results.write_node_rows(res, "s", "f0", [row("f0", "syn_topic", 50.0, method="full_ft")])
    results.write_node_rows(res, "s", "x", [row("x", "syn_topic", 99.0, simulated=True)])
    g = tables.grid(results.load(f"{res}/s"))
    assert list(g.index) == ["full_ft", "adapter"]  # the paper's order
    assert list(g.columns) == ["syn_sentiment", "syn_topic", "Avg."]
    assert g.loc["adapter", "syn_topic"] == 75.0  # simulated rows never mix in
    assert g.loc["adapter", "Avg."] == 67.5
    assert pd.isna(g.loc["full_ft", "Avg."])
