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


def test_a_joint_node_keeps_each_tasks_own_length_and_caps_record(data_dir):
    from trainables.tokenizer import load_tokenizer
    from trainables.training import task_data

    tokenizer = load_tokenizer("tiny-roberta")
    tasks = ["record", "multirc", "copa"]
    hparams = {**HPARAMS, "max_length": None, "padding": "max_length"}
    joint = node_spec(
        "adapter_m",
        None,
        tasks,
        hparams,
        {t: {"source": "local", "dir": str(data_dir / t)} for t in tasks},
        kind="joint",
        benchmark="superglue",
    )
    data = {t: task_data(joint, t, tokenizer) for t in tasks}
    # the official joint collator: 128, MultiRC 324, ReCoRD 256; each batch padded to its own
    assert {t: d.pad_to for t, d in data.items()} == {"record": 256, "multirc": 324, "copa": 128}
    assert data["record"].train_rows == 100_730 and data["multirc"].train_rows is None
    stl = node_spec(
        "adapter",
        "record",
        ["record"],
        hparams,
        {"record": {"source": "local", "dir": str(data_dir / "record")}},
        kind="stl",
        benchmark="superglue",
    )
    assert task_data(stl, "record", tokenizer).train_rows is None, "single-task: all rows"


def test_record_truncates_only_the_passage_never_the_query():
    from trainables.encode import encode_examples
    from trainables.tokenizer import load_tokenizer

    tokenizer = load_tokenizer("tiny-roberta")
    passage = " ".join(["alice ate a pizza with bob"] * 20)
    query = "bob said that alice ate the pizza with carol and bob ate a pizza with alice"
    example = {"text_a": passage, "text_b": query, "label": 1}
    (ids,) = encode_examples("record", [example], tokenizer, 32).input_ids
    query_ids = tokenizer(query, add_special_tokens=False)["input_ids"]
    assert len(ids) == 32 and ids[-len(query_ids) - 1 : -1] == query_ids
    # longest_first (every other pair task) cuts both texts
    (pair,) = encode_examples("rte", [example], tokenizer, 32).input_ids
    assert pair[-len(query_ids) - 1 : -1] != query_ids
    # a query too long for max_length on its own is cut as well, rather than failing
    long_query = {"text_a": passage, "text_b": " ".join([query] * 10), "label": 0}
    (cut,) = encode_examples("record", [example, long_query], tokenizer, 32).input_ids[1:]
    assert len(cut) == 32


def test_copa_trains_with_the_pooler_head(data_dir, tmp_path):
    node = node_spec(
        "full_ft",
        "copa",
        ["copa"],
        {**HPARAMS, "choice_head": "pooler"},
        {"copa": {"source": "local", "dir": str(data_dir / "copa")}},
        kind="stl",
        benchmark="superglue",
    )
    (row,) = train_node(node, str(tmp_path))
    assert set(row.metrics) == {"accuracy", "score"} and 0 <= row.score <= 100
