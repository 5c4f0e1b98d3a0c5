"""Local files: the real GLUE and SuperGLUE files in ../shared/data, and the hub's columns as
Parquet, CSV and JSONL; split discovery by file name; the data protocol on real data."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA
from tests.hub_rows import rows, write
from trainables.tasks.data import load_splits
from trainables.tasks.glue_tsv import read_glue_tsv
from trainables.tasks.local import read_local, split_of, task_dir
from trainables.tasks.registry import get_task

GLUE = SHARED_DATA / "glue"
SUPERGLUE = SHARED_DATA / "superglue"
needs_shared = pytest.mark.skipif(
    not GLUE.is_dir() or not SUPERGLUE.is_dir(),
    reason=f"the real GLUE/SuperGLUE files are not at {SHARED_DATA} (see its PROVENANCE.md)",
)


@needs_shared
@pytest.mark.parametrize("task", ["rte", "mrpc", "cola", "stsb", "sst2"])
def test_glue_tsv_files_give_the_official_row_counts(task):
    splits = read_local(task, GLUE, ("train", "validation"))
    spec = get_task(task)
    assert (len(splits["train"]), len(splits["validation"])) == (spec.train_size, spec.test_size)


@needs_shared
def test_glue_tsv_quirks():
    mrpc = read_glue_tsv("mrpc", GLUE / "mrpc" / "train.tsv")  # BOM before "Quality"
    assert set(mrpc[0]) == {"sentence1", "sentence2", "label"} and mrpc[0]["label"] == "1"
    assert mrpc[0]["sentence1"].startswith("Amrozi accused his brother")
    cola = read_glue_tsv("cola", GLUE / "cola" / "in_domain_train.tsv")  # no header
    assert len(cola) == 8551 and cola[0]["sentence"].startswith("Our friends won't buy")
    rte = read_glue_tsv("rte", GLUE / "rte" / "train.tsv")
    quoted = [r for r in rte if '"' in r["sentence1"] + r["sentence2"]]
    assert quoted, "raw quote characters stay in the text (a CSV reader would eat them)"
    assert all(r["label"] in ("entailment", "not_entailment") for r in rte)


@needs_shared
def test_rte_follows_the_protocol_from_glue_tsv_and_from_superglue_jsonl():
    glue = load_splits("rte", {"source": "local", "dir": str(GLUE)})
    superglue = load_splits("rte", {"source": "local", "dir": str(SUPERGLUE)})
    for s in (glue, superglue):
        assert (len(s.train), len(s.dev), len(s.test)) == (2241, 249, 277)
    # the same rows in the same order; the files differ only in a few raw quotes
    assert [e["label"] for e in glue.test] == [e["label"] for e in superglue.test]
    assert [e["label"] for e in glue.dev] == [e["label"] for e in superglue.dev]
    # stratified: dev keeps train's label shares to within one row
    share = sum(e["label"] for e in glue.train) / len(glue.train)
    assert abs(sum(e["label"] for e in glue.dev) - share * 249) <= 1


@needs_shared
@pytest.mark.parametrize(
    ("task", "train", "dev", "test"),
    [("cb", 225, 25, 56), ("copa", 360, 40, 100), ("wic", 4885, 543, 638), ("wsc", 498, 56, 104)],
)
def test_superglue_jsonl_follows_the_protocol(task, train, dev, test):
    s = load_splits(task, {"source": "local", "dir": str(SUPERGLUE)})
    assert (len(s.train), len(s.dev), len(s.test)) == (train, dev, test)
    if task == "copa":
        assert all(len(e["choices"]) == 2 for e in s.test)
    if task == "wsc":
        assert all(e["text_a"].count("*") >= 2 for e in s.test)


@needs_shared
def test_stsb_dev_is_ceil_ten_percent_and_labels_are_scores():
    s = load_splits("stsb", {"source": "local", "dir": str(GLUE)})
    assert (len(s.train), len(s.dev)) == (5174, 575)  # 575 = ceil(574.9)
    assert all(0.0 <= e["label"] <= 5.0 for e in s.test) and s.test[0]["label"] == 5.0


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("train.tsv", "train"),
        ("in_domain_train.tsv", "train"),
        ("train-00000-of-00002.parquet", "train"),
        ("super_glue-train.parquet", "train"),
        ("dev.tsv", "validation"),
        ("val.jsonl", "validation"),
        ("validation_matched-00000-of-00001.parquet", "validation"),
        ("dev_matched.tsv", "validation"),
        ("dev_mismatched.tsv", "validation_mismatched"),
        ("test.csv", "test"),
        ("msr_paraphrase_train.txt", None),
        ("README.md", None),
    ],
)
def test_split_files_are_found_by_the_words_of_their_names(name, split):
    assert split_of(name) == split


@pytest.mark.parametrize("task", ["mnli", "cb", "copa", "wsc", "multirc", "record", "sectors"])
def test_parquet_csv_and_jsonl_with_the_hubs_columns_read_alike(tmp_path, task):
    splits = ("train", "validation", "test") if task == "sectors" else ("train", "validation")
    loaded = []
    for ext in ("parquet", "csv", "jsonl"):
        folder = tmp_path / ext / task
        for split in splits:
            # 30 rows: MNLI's stratified dev (ceil 10 %) must hold each of its 3 classes
            write(folder / f"{split}.{ext}", rows(task, split, 30 if task == "mnli" else 20))
        loaded.append(load_splits(task, {"source": "local", "dir": str(tmp_path / ext)}))
    assert loaded[0] == loaded[1] == loaded[2]
    if task in ("multirc", "record"):
        assert all("group" in e for e in loaded[0].test)


def test_sharded_files_are_read_in_name_order_and_mixed_formats_refused(tmp_path):
    folder = tmp_path / "rte"
    train = rows("rte", "train", 30)
    write(folder / "train-00001-of-00002.parquet", train[15:])
    write(folder / "train-00000-of-00002.parquet", train[:15])
    write(folder / "validation-00000-of-00001.parquet", rows("rte", "validation", 5))
    got = read_local("rte", tmp_path, ("train", "validation"))
    assert [r["idx"] for r in got["train"]] == list(range(30))
    write(folder / "train.jsonl", train)
    with pytest.raises(ValueError, match="different formats"):
        read_local("rte", tmp_path, ("train",))


def test_a_task_folder_is_found_by_its_aliases_or_the_directory_is_the_task(tmp_path):
    (tmp_path / "SST-2").mkdir()
    assert task_dir("sst2", tmp_path) == tmp_path / "SST-2"
    assert task_dir("rte", tmp_path) == tmp_path  # a per-task directory given directly
    with pytest.raises(FileNotFoundError, match="no folder rte or RTE"):
        read_local("rte", tmp_path, ("train",))


def test_record_trains_on_all_of_train_and_uses_validation_as_dev_and_test(tmp_path):
    write(tmp_path / "record" / "train.jsonl", rows("record", "train", 10))
    write(tmp_path / "record" / "val.jsonl", rows("record", "validation", 4))
    s = load_splits("record", {"source": "local", "dir": str(tmp_path)})
    assert len(s.train) == 30 and s.dev == s.test and len(s.test) == 12


def test_humset_uses_its_own_three_splits_and_limits_shrink_train_and_dev(tmp_path):
    for split, n in (("train", 40), ("validation", 10), ("test", 12)):
        write(tmp_path / f"{split}.parquet", rows("subpillars_2d", split, n))
    data = {"source": "local", "dir": str(tmp_path)}
    s = load_splits("subpillars_2d", data)
    assert (len(s.train), len(s.dev), len(s.test)) == (40, 10, 12)
    few = load_splits("subpillars_2d", {**data, "k": 4, "dev_limit": 3})
    assert len(few.train) == 4 and few.dev == s.dev[:3] and few.test == s.test
