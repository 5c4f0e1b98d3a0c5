"""The on-disk cache of tokenised splits: shared across processes, keyed by what decides tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trainables import encode, encode_cache
from trainables.encode import EncodedSplit, encode_examples, encode_task
from trainables.tasks.data import load_splits
from trainables.tasks.registry import CLASSIFICATION
from trainables.tokenizer import load_tokenizer

ROOT = Path(__file__).resolve().parents[2]
DATA = {"source": "synthetic", "seed": 3, "n_train": 200, "n_test": 60}
TASK = "syn_paraphrase"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder and an empty in-memory cache, for this test only."""
    monkeypatch.setenv("SCALEARN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SCALEARN_TOKENIZED_CACHE", raising=False)
    encode.clear_cache()
    yield tmp_path / "cache" / "tokenized"
    encode.clear_cache()


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny-roberta")


def _forbid_loading(monkeypatch) -> list:
    """Make loading (and so tokenising) a task record each call; returns the record."""
    calls = []

    def counting(task, data):
        calls.append(task)
        return load_splits(task, data)

    monkeypatch.setattr(encode, "load_splits", counting)
    return calls


def _fresh(task, data, tokenizer, max_length) -> dict[str, EncodedSplit]:
    splits = load_splits(task, data)
    return {
        s: encode_examples(task, getattr(splits, s), tokenizer, max_length) for s in encode.SPLITS
    }


def _assert_same(a: dict, b: dict) -> None:
    assert set(a) == set(b) == set(encode.SPLITS)
    for split in a:
        assert a[split].input_ids == b[split].input_ids
        assert a[split].labels == b[split].labels
        assert a[split].lengths == b[split].lengths
        assert a[split].problem_type == b[split].problem_type
        assert a[split].task == b[split].task


@pytest.mark.slow
def test_a_split_tokenised_in_one_process_is_read_by_another(cache, tokenizer, monkeypatch):
    script = textwrap.dedent(
        f"""
        from trainables.encode import encode_task
        from trainables.tokenizer import load_tokenizer
        encode_task({TASK!r}, {DATA!r}, load_tokenizer("tiny-roberta"), 64)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=ROOT, timeout=300)
    assert len(list(cache.glob("*.safetensors"))) == 1

    calls = _forbid_loading(monkeypatch)
    got = encode_task(TASK, DATA, tokenizer, 64)
    assert calls == []  # nothing loaded or tokenised here: the other process's file was read
    _assert_same(got, _fresh(TASK, DATA, tokenizer, 64))


def test_the_key_changes_with_max_length_data_and_tokenizer(cache, tokenizer, monkeypatch):
    calls = _forbid_loading(monkeypatch)
    encode_task(TASK, DATA, tokenizer, 64)
    encode.clear_cache()
    encode_task(TASK, DATA, tokenizer, 64)
    assert len(calls) == 1

    encode_task(TASK, DATA, tokenizer, 16)  # shorter truncation: other tokens
    encode_task(TASK, {**DATA, "seed": 4}, tokenizer, 64)  # other examples
    other = load_tokenizer("tiny-roberta", vocab_size=512)  # other vocabulary
    short = encode_task(TASK, DATA, other, 64)
    assert len(calls) == 4
    assert len(list(cache.glob("*.safetensors"))) == 4
    _assert_same(short, _fresh(TASK, DATA, other, 64))


def test_the_tokenizer_key_is_its_content_not_its_name_or_call_state(tokenizer):
    before = encode.tokenizer_key(tokenizer)
    # a call leaves truncation and padding set on the backend
    tokenizer("a b c", truncation=True, max_length=3, padding="max_length")
    renamed = load_tokenizer("tiny-roberta")
    assert encode.tokenizer_key(tokenizer) == before
    assert encode.tokenizer_key(renamed) == before
    assert encode.tokenizer_key(load_tokenizer("tiny-roberta", vocab_size=512)) != before


def test_a_changed_local_file_is_tokenised_again(cache, tokenizer, tmp_path, monkeypatch):
    folder = tmp_path / "sst-2"
    folder.mkdir()
    rows = [("a fine film", 1), ("a dull film", 0)] * 20
    for name in ("train.tsv", "dev.tsv"):
        body = "sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows)
        (folder / name).write_text(body)
    data = {"source": "local", "dir": str(folder)}
    calls = _forbid_loading(monkeypatch)
    first = encode_task("sst2", data, tokenizer, 32)
    encode.clear_cache()
    encode_task("sst2", data, tokenizer, 32)
    assert len(calls) == 1

    (folder / "dev.tsv").write_text("sentence\tlabel\n" + "a new film\t1\n" * 7)
    encode.clear_cache()
    second = encode_task("sst2", data, tokenizer, 32)
    assert len(calls) == 2
    assert len(second["test"]) == 7 != len(first["test"])


def test_a_damaged_file_is_rewritten_not_fatal(cache, tokenizer, monkeypatch):
    calls = _forbid_loading(monkeypatch)
    expected = encode_task(TASK, DATA, tokenizer, 64)
    (path,) = cache.glob("*.safetensors")
    path.write_bytes(path.read_bytes()[:100])
    encode.clear_cache()
    _assert_same(encode_task(TASK, DATA, tokenizer, 64), expected)
    assert len(calls) == 2
    encode.clear_cache()
    _assert_same(encode_task(TASK, DATA, tokenizer, 64), expected)
    assert len(calls) == 2  # the rewritten file serves again
    assert not list(cache.glob(".*.tmp"))  # no temporary file left behind


def test_the_cache_can_be_turned_off(cache, tokenizer, monkeypatch):
    monkeypatch.setenv("SCALEARN_TOKENIZED_CACHE", "0")
    encode_task(TASK, DATA, tokenizer, 64)
    assert not cache.exists()


def test_multiple_choice_labels_segments_and_empty_splits_round_trip(tmp_path):
    choices = [[[0, 5, 2], [0, 6, 7, 2]], [[0, 2], [0, 9, 2]]]
    segments = [[[0, 0, 1], [0, 0, 1, 1]], [[0, 0], [0, 1, 1]]]
    splits = {
        "train": EncodedSplit("copa", CLASSIFICATION, choices, [1, 0], [4, 3], segments),
        "dev": EncodedSplit("copa", CLASSIFICATION, [], [], []),
        "test": EncodedSplit("stsb", "regression", [[0, 4, 2], [0, 2]], [0.1, 3.7], [3, 2]),
    }
    key = json.dumps({"k": 1})
    path = tmp_path / "x.safetensors"
    encode_cache.write_splits(path, key, splits)
    back = encode_cache.read_splits(path, key)
    for name, split in splits.items():
        ptype, ids, labels, types = back[name]
        assert (ptype, ids, labels) == (split.problem_type, split.input_ids, split.labels)
        assert types == split.token_type_ids
        assert encode._lengths(ids) == split.lengths
    assert back["train"][3] == segments and back["test"][3] is None
    assert encode_cache.read_splits(path, json.dumps({"k": 2})) is None  # another key's file


def test_memory_keeps_the_most_recent_tasks_only(cache, tokenizer, monkeypatch):
    monkeypatch.setattr(encode, "MEMORY_TASKS", 2)
    calls = _forbid_loading(monkeypatch)
    monkeypatch.setenv("SCALEARN_TOKENIZED_CACHE", "0")  # count what memory alone serves
    for seed in (1, 2, 1, 3, 2):
        encode_task(TASK, {**DATA, "seed": seed}, tokenizer, 32)
    # 1, 2 loaded; 1 from memory (now newest); 3 evicts 2; 2 loaded again
    assert len(calls) == 4
    assert len(encode._CACHE) == 2
