"""sweeps/glue_local.yaml through the real CLI and Ray: real GLUE files, loaders and metrics."""

from __future__ import annotations

import pytest

from orchestrator.results import row_files as results
from tests.conftest import SHARED_DATA, SWEEPS, ray_args

pytestmark = [pytest.mark.ray, pytest.mark.slow]
SWEEP = SWEEPS / "glue_local.yaml"
METRICS = {
    "stsb": {"pearson", "spearman", "score"},
    "mrpc": {"accuracy", "f1", "score"},
    "rte": {"accuracy", "score"},
}


@pytest.mark.skipif(
    not (SHARED_DATA / "glue").is_dir(),
    reason=f"glue_local reads the real GLUE files at {SHARED_DATA / 'glue'}, absent here",
)
def test_glue_local_trains_on_the_real_files_and_scores_every_task(tmp_path, cli):
    args = ["run", str(SWEEP), *ray_args()]
    args += ["--results", str(tmp_path / "results"), "--store", str(tmp_path / "store")]
    out = cli(*args, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    df = results.load(str(tmp_path / "results" / "glue_local"))
    assert len(df) == 6 and set(df["status"]) == {"done"} and not df["simulated"].any()
    assert set(zip(df["method"], df["task"], strict=True)) == {
        (m, t) for m in ("adapter", "scalearn") for t in METRICS
    }
    for _, row in df.iterrows():
        assert set(row["metrics"]) == METRICS[row["task"]]
        assert set(row["dev_metrics"]) == METRICS[row["task"]]
        assert row["score"] == pytest.approx(
            sum(v for k, v in row["metrics"].items() if k != "score")
            / (len(METRICS[row["task"]]) - 1)
        )
    # the real test splits: RTE's 277 rows make accuracy a multiple of 100/277
    correct = df[df["task"] == "rte"].iloc[0]["metrics"]["accuracy"] * 277 / 100
    assert abs(correct - round(correct)) < 1e-6
