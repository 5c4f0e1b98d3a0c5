"""The paper's task shapes train and score through ``train_node`` on the tiny model: multiple
choice (COPA), per-question scoring (MultiRC, ReCoRD), multi-label (HumSet), one joint node over
them; data from local Parquet files with the hub's columns."""

from __future__ import annotations

import pytest

from tests.hub_rows import rows, write
from tests.node_specs import node_spec
from trainables.entry import train_node

HPARAMS = {
    "lr": 1e-2,
    "epochs": 1,
    "batch_size": 16,
    "patience": None,
    "reduction_factor": 4,
    "select": "loss",
    "max_length": 48,
}
SIZES = {"copa": (48, 12), "multirc": (12, 4), "record": (12, 4), "sectors": (40, 12)}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for task, (n_train, n_eval) in SIZES.items():
        write(root / task / "train.parquet", rows(task, "train", n_train))
        write(root / task / "validation.parquet", rows(task, "validation", n_eval))
        if task == "sectors":
            write(root / task / "test.parquet", rows(task, "test", n_eval))
    return root


def _node(data_dir, kind: str, task: str | None, tasks: list[str], method: str):
    return node_spec(
        method,
        task,
        tasks,
        HPARAMS,
        {t: {"source": "local", "dir": str(data_dir / t)} for t in tasks},
        kind=kind,
        benchmark="superglue",
    )


@pytest.mark.parametrize(
    ("task", "metrics"),
    [
        ("copa", {"accuracy"}),
        ("multirc", {"f1a", "exact_match"}),
        ("record", {"f1", "exact_match"}),
        ("sectors", {"macro_f1"}),
    ],
)
def test_a_stage_one_adapter_trains_and_reports_the_tasks_metrics(
    data_dir, tmp_path, task, metrics
):
    out = train_node(_node(data_dir, "stl", task, [task], "adapter"), str(tmp_path))
    (row,) = [r.to_dict() for r in out]
    assert set(row["metrics"]) == metrics | {"score"}
    assert set(row["dev_metrics"]) == metrics | {"score"}
    assert all(0.0 <= v <= 100.0 for v in row["metrics"].values())
    if task == "record":
        # scored per query: each query's best candidate is right (EM 100) or wrong (0)
        assert row["metrics"]["exact_match"] in (0.0, 25.0, 50.0, 75.0, 100.0)


def test_a_joint_node_scores_each_task_its_own_way(data_dir, tmp_path):
    tasks = ["multirc", "copa"]
    out = train_node(_node(data_dir, "joint", None, tasks, "adapter_m"), str(tmp_path))
    metrics = {r.task: set(r.metrics) for r in out}
    assert metrics == {"multirc": {"f1a", "exact_match", "score"}, "copa": {"accuracy", "score"}}
