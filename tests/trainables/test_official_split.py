"""The 90/10 split and the few-shot rows are the official code's, row for row, on the real files.

The official code splits the hub's train rows with ``datasets``' own ``train_test_split(test_size
=0.1, seed=42, stratify_by_column="label")`` (no stratification for STS-B, CB and ReCoRD). Here the
shared GLUE and SuperGLUE files are read independently of the project's loaders (csv / json), in
the hub's columns and label ids, split by that call, and compared with what the loader gives.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import datasets
import pytest

from tests.conftest import ROOT, SHARED_DATA
from trainables.tasks.data import load_splits

GLUE, SUPERGLUE = SHARED_DATA / "glue", SHARED_DATA / "superglue"
needs_shared = pytest.mark.skipif(
    not GLUE.is_dir() or not SUPERGLUE.is_dir(),
    reason=f"the real GLUE/SuperGLUE files are not at {SHARED_DATA} (see its PROVENANCE.md)",
)

# task -> (file, the hub's label names or None for a float label, how a file row reads)
_GLUE_TSV = {
    "rte": ("rte/train.tsv", ["entailment", "not_entailment"]),
    "mrpc": ("mrpc/train.tsv", ["not_equivalent", "equivalent"]),
    "cola": ("cola/in_domain_train.tsv", ["unacceptable", "acceptable"]),
    "sst2": ("sst-2/train.tsv", ["negative", "positive"]),
    "stsb": ("sts-b/train.tsv", None),
}
_SUPERGLUE = {
    "cb": ["entailment", "contradiction", "neutral"],
    "copa": ["choice1", "choice2"],
    "wic": ["False", "True"],
    "wsc": ["False", "True"],
}
NOT_STRATIFIED = {"stsb", "cb"}


def _tsv_rows(task: str) -> tuple[list[str], list]:
    """(the first text, the hub's label) of each row of a GLUE train TSV, in file order."""
    name, names = _GLUE_TSV[task]
    with open(GLUE / name, encoding="utf-8-sig", newline="") as f:
        lines = [r for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r]
    if task == "cola":  # no header: source, label, mark, sentence
        return [r[3] for r in lines], [int(r[1]) for r in lines]
    header, body = lines[0], lines[1:]
    text = header.index({"mrpc": "#1 String", "sst2": "sentence"}.get(task, "sentence1"))
    label = header.index({"mrpc": "Quality", "stsb": "score"}.get(task, "label"))
    texts = [r[text] for r in body]
    if names is None:
        return texts, [float(r[label]) for r in body]
    return texts, [int(r[label]) if r[label].isdigit() else names.index(r[label]) for r in body]


def _jsonl_rows(task: str) -> tuple[list[str], list[int]]:
    records = [
        json.loads(line)
        for line in (SUPERGLUE / task / "train.jsonl").read_text().split("\n")
        if line
    ]
    first = {"cb": "premise", "copa": "premise", "wic": "sentence1", "wsc": "text"}[task]
    names = _SUPERGLUE[task]
    labels = [
        names.index(r["label"]) if isinstance(r["label"], str) else int(r["label"]) for r in records
    ]
    return [r[first] for r in records], labels


def official_dev(task: str, labels: list, names: list[str] | None) -> list[int]:
    """Row positions of the official dev split: ``datasets``' call on the rows in file order."""
    features = {"position": datasets.Value("int64")}
    if names is None:
        features["label"] = datasets.Value("float32")
    else:
        features["label"] = datasets.ClassLabel(names=names)
    table = datasets.Dataset.from_dict(
        {"position": list(range(len(labels))), "label": labels},
        features=datasets.Features(features),
    )
    kwargs = {} if task in NOT_STRATIFIED else {"stratify_by_column": "label"}
    parts = table.train_test_split(test_size=0.1, shuffle=True, seed=42, **kwargs)
    return list(parts["test"]["position"])


@pytest.mark.slow
@needs_shared
@pytest.mark.parametrize(
    "task", ["rte", "mrpc", "stsb", "cola", "sst2", "cb", "copa", "wic", "wsc"]
)
def test_dev_split_is_the_official_one_row_for_row(task):
    if task in _GLUE_TSV:
        texts, labels = _tsv_rows(task)
        names, folder = _GLUE_TSV[task][1], GLUE
    else:
        texts, labels = _jsonl_rows(task)
        names, folder = _SUPERGLUE[task], SUPERGLUE
    expected = official_dev(task, labels, names)
    dev = load_splits(task, {"source": "local", "dir": str(folder)}).dev
    assert [ex["row"] for ex in dev] == expected
    assert [ex["label"] for ex in dev] == [labels[i] for i in expected]
    # the loader's inputs come from those rows (templates only add to the first text)
    for ex, i in zip(dev, expected, strict=True):
        words = texts[i].split()
        assert words[len(words) // 2].strip("*") in ex["text_a"], (i, texts[i], ex["text_a"])


@needs_shared
def test_few_shot_keeps_the_first_k_rows_of_the_official_train_split():
    data = {"source": "local", "dir": str(GLUE)}
    full = load_splits("rte", data)
    for k in (4, 16, 100):
        few = load_splits("rte", {**data, "k": k, "dev_limit": 50})
        assert few.train == full.train[:k], "the official select(range(k)), not a sample"
        assert few.dev == full.dev[:50] and few.test == full.test
    assert load_splits("rte", {**data, "train_limit": 300}).train == full.train[:300]


@pytest.mark.slow
@needs_shared
def test_data_split_writes_what_a_trial_trains_selects_and_reports_on(tmp_path, cli):
    args = ("data", "split", "--benchmark", "glue", "--task", "mrpc", "--data-dir", str(GLUE))
    out = cli(*args, "--split", "dev", "--out", str(tmp_path / "dev.jsonl"))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in (tmp_path / "dev.jsonl").read_text().splitlines()]
    splits = load_splits("mrpc", {"source": "local", "dir": str(GLUE)})
    texts, labels = _tsv_rows("mrpc")
    assert [x["row"] for x in lines] == official_dev("mrpc", labels, _GLUE_TSV["mrpc"][1])
    assert all(x["from"] == "train" for x in lines)
    assert [(x["text_a"], x["text_b"], x["label"]) for x in lines] == [
        (e["text_a"], e["text_b"], e["label"]) for e in splits.dev
    ]
    assert lines[0]["text_a"] == texts[lines[0]["row"]]
    out = cli(*args, "--split", "train", "--k", "16", "--out", str(tmp_path / "k.jsonl"))
    assert out.returncode == 0 and "16 examples" in out.stdout
    few = [json.loads(x) for x in (tmp_path / "k.jsonl").read_text().splitlines()]
    assert [x["row"] for x in few] == [e["row"] for e in splits.train[:16]]
    out = cli(*args, "--split", "test", "--out", str(tmp_path / "test.jsonl"))
    test = [json.loads(x) for x in (tmp_path / "test.jsonl").read_text().splitlines()]
    assert [x["row"] for x in test] == list(range(408)) and test[0]["from"] == "validation"


def test_data_split_of_grouped_tasks_and_bad_arguments(tmp_path, cli):
    from tests.hub_rows import rows, write

    write(tmp_path / "record" / "train.jsonl", rows("record", "train", 4))
    write(tmp_path / "record" / "val.jsonl", rows("record", "validation", 2))
    args = ("data", "split", "--benchmark", "superglue", "--data-dir", str(tmp_path))
    out = cli(*args, "--task", "record", "--split", "dev", "--out", str(tmp_path / "r.jsonl"))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert {x["from"] for x in lines} == {"validation"} and {x["row"] for x in lines} == {0, 1}
    assert all({"group", "candidate", "answers"} <= set(x) for x in lines)
    bad = cli(*args, "--task", "mnli", "--split", "dev", "--out", str(tmp_path / "x.jsonl"))
    assert bad.returncode == 2 and "not a task of superglue" in bad.stderr
    bad = cli(*args, "--task", "rte", "--split", "dev", "--out", str(tmp_path / "x.jsonl"))
    assert bad.returncode == 1 and "rte" in bad.stderr  # no rte folder there


def test_data_split_imports_no_torch(tmp_path):
    from tests.hub_rows import rows, write

    write(tmp_path / "copa" / "train.jsonl", rows("copa", "train", 40))
    write(tmp_path / "copa" / "val.jsonl", rows("copa", "validation", 5))
    code = (
        "import sys; from orchestrator.__main__ import main;"
        f"rc = main(['data', 'split', '--benchmark', 'superglue', '--data-dir', '{tmp_path}',"
        f" '--task', 'copa', '--split', 'train', '--out', '{tmp_path / 'o.jsonl'}']);"
        "bad = [m for m in ('torch', 'transformers', 'adapters', 'ray') if m in sys.modules];"
        "print('LOADED', bad); sys.exit(rc or bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "LOADED []" in out.stdout, out.stderr
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 36
