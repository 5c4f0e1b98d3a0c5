"""The synthetic benchmark and the train/dev/test protocol built on it."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from trainables.tasks import synthetic
from trainables.tasks.data import load_splits, split_train_dev
from trainables.tasks.registry import benchmark_tasks, get_task

TASKS = benchmark_tasks("synthetic")


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_rows_other_seed_other_rows(task):
    a = synthetic.generate(task, seed=3, n_train=50, n_test=20)
    assert a == synthetic.generate(task, seed=3, n_train=50, n_test=20)
    assert a != synthetic.generate(task, seed=4, n_train=50, n_test=20)


@pytest.mark.parametrize("task", TASKS)
def test_sizes_and_row_shape(task):
    spec = get_task(task)
    splits = synthetic.generate(task, seed=0)
    assert len(splits["train"]) == spec.train_size
    assert len(splits["validation"]) == spec.test_size
    for row in splits["train"][:20]:
        assert ("sentence2" in row) == (spec.input_kind == "pair")
        assert isinstance(row["sentence1"], str) and row["sentence1"]


@pytest.mark.parametrize("task", ["syn_sentiment", "syn_topic", "syn_paraphrase"])
def test_classification_labels_are_balanced(task):
    num_labels = get_task(task).num_labels
    counts = Counter(row["label"] for row in synthetic.generate(task, 0, 401, 0)["train"])
    assert sorted(counts) == list(range(num_labels))
    assert max(counts.values()) - min(counts.values()) <= 1


def test_similarity_spans_zero_to_five():
    labels = [row["label"] for row in synthetic.generate("syn_similarity", 0, 400, 0)["train"]]
    assert min(labels) == 0 and max(labels) == 5
    assert len(set(labels)) >= 8


def test_tasks_share_one_world():
    # judgement words of the sentiment task recur in the pair tasks: knowledge can transfer
    judgement_words = {w for pair in synthetic.JUDGEMENTS for w in pair}
    for task in ("syn_sentiment", "syn_paraphrase", "syn_similarity"):
        words = {
            w
            for row in synthetic.generate(task, 0, 100, 0)["train"]
            for w in row["sentence1"].split()
        }
        assert words & judgement_words


def test_paraphrases_share_more_meaning_than_non_paraphrases():
    rows = synthetic.generate("syn_paraphrase", 0, 400, 0)["train"]

    def overlap(row):
        a, b = set(row["sentence1"].split()), set(row["sentence2"].split())
        return len(a & b) / len(a | b)

    pos = [overlap(r) for r in rows if r["label"] == 1]
    neg = [overlap(r) for r in rows if r["label"] == 0]
    assert sum(pos) / len(pos) > sum(neg) / len(neg)


def _stated_polarity(sentence: str) -> int:
    """The polarity a sentiment sentence states: its judgement word, flipped by a negation."""
    words = sentence.split()
    positive = {w for pair in synthetic.POSITIVE for w in pair}
    negative = {w for pair in synthetic.NEGATIVE for w in pair}
    ((i, word),) = [(i, w) for i, w in enumerate(words) if w in positive | negative]
    negated = i > 0 and words[i - 1] in synthetic.NEGATIONS
    return int((word in positive) != negated)


def test_negations_flip_polarity_and_a_share_of_labels_disagree_with_the_text():
    rows = synthetic.generate("syn_sentiment", 0, 4000, 0)["train"]
    negated = [r for r in rows if set(r["sentence1"].split()) & set(synthetic.NEGATIONS)]
    share = len(negated) / len(rows)
    assert abs(share - synthetic.NEGATION_PROBABILITY) < 0.03
    disagree = sum(_stated_polarity(r["sentence1"]) != r["label"] for r in rows) / len(rows)
    assert abs(disagree - synthetic.LABEL_NOISE) < 0.02
    # the negated ones agree with their label as often as the rest: negation is meaning
    wrong = sum(_stated_polarity(r["sentence1"]) != r["label"] for r in negated) / len(negated)
    assert abs(wrong - synthetic.LABEL_NOISE) < 0.04


def test_topics_are_named_in_passing_only_in_task_text():
    words = {d.split()[0] for d in synthetic.DISTRACTORS}  # near, after, before
    task = synthetic.generate("syn_topic", 0, 1000, 0)["train"]
    with_distractor = [r for r in task if set(r["sentence1"].split()) & words]
    assert abs(len(with_distractor) / len(task) - synthetic.DISTRACTOR_PROBABILITY) < 0.05
    # pretraining (and the pair tasks) never saw a negation or a clause in passing: the
    # single-sentence tasks have something to learn that the backbone does not know
    pretraining = synthetic.pretraining_examples(0, 1000)
    texts = [r["sentence1"] for r in pretraining] + [r["sentence2"] or "" for r in pretraining]
    for task in ("syn_paraphrase", "syn_similarity"):
        rows = synthetic.generate(task, 0, 300, 0)["train"]
        texts += [r["sentence1"] for r in rows] + [r["sentence2"] for r in rows]
    seen = {w for t in texts for w in t.split()}
    assert not seen & (words | set(synthetic.NEGATIONS))


def test_similarity_scores_are_noisy_but_follow_the_shared_parts():
    rows = synthetic.generate("syn_similarity", 0, 2000, 0)["train"]
    labels = [r["label"] for r in rows]
    assert all(0 <= v <= 5 for v in labels)
    assert len({round(v, 2) for v in labels}) > 100  # the noise: not a few weighted sums


def test_another_generator_version_is_refused_by_name():
    with pytest.raises(ValueError, match=f"version 1 .* version {synthetic.VERSION}"):
        synthetic.generate("syn_topic", 0, 10, 10, version=1)
    with pytest.raises(ValueError, match="version 1"):
        load_splits("syn_topic", {"source": "synthetic", "seed": 0, "version": 1})


def test_the_generator_version_is_part_of_a_synthetic_nodes_data():
    from orchestrator.planning.data_identity import data_identity, resolve_data

    data = data_identity(resolve_data("syn_topic", {"source": "synthetic"}))
    assert data["version"] == synthetic.VERSION


def test_corpus_holds_every_word_of_the_world():
    words = set(" ".join(synthetic.corpus()).split())
    assert set(synthetic.ENTITIES) <= words
    assert set(synthetic.THINGS) <= words
    assert set(synthetic.NEGATIONS) <= words


def test_pretraining_examples_carry_factors():
    rows = synthetic.pretraining_examples(0, 50)
    assert any(r["sentence2"] is None for r in rows) and any(r["sentence2"] for r in rows)
    for r in rows:
        assert set(r["factors1"]) == {"topic", "polarity"}
        assert (r["factors2"] is None) == (r["sentence2"] is None)


def test_split_is_90_10_stratified_with_seed_42():
    rows = [{"id": i, "label": i % 2} for i in range(200)]
    train, dev = split_train_dev(rows, stratify=True)
    assert (len(train), len(dev)) == (180, 20)
    assert Counter(r["label"] for r in dev) == {0: 10, 1: 10}
    assert {r["id"] for r in train} | {r["id"] for r in dev} == set(range(200))
    assert split_train_dev(rows, stratify=True) == (train, dev)


def test_unstratified_dev_has_ceil_ten_percent():
    rows = [{"id": i, "label": i * 0.1} for i in range(101)]
    train, dev = split_train_dev(rows, stratify=False)
    assert len(dev) == math.ceil(0.1 * 101) == 11
    assert len(train) == 90


def test_load_splits_follows_the_protocol():
    data = {"source": "synthetic", "seed": 0, "n_train": 101, "n_test": 40}
    splits = load_splits("syn_sentiment", data)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (90, 11, 40)
    official = synthetic.generate("syn_sentiment", 0, 101, 40)
    assert [e["text_a"] for e in splits.test] == [r["sentence1"] for r in official["validation"]]
    assert all(e["text_b"] is None for e in splits.train)
    pair = load_splits("syn_similarity", {**data, "n_train": 95})
    assert len(pair.dev) == 10 and all(e["text_b"] for e in pair.dev)


def test_train_limit_and_k_shrink_only_train():
    data = {"source": "synthetic", "seed": 0, "n_train": 100, "n_test": 20}
    full = load_splits("syn_topic", data)
    limited = load_splits("syn_topic", {**data, "train_limit": 30})
    few = load_splits("syn_topic", {**data, "k": 8})
    assert len(limited.train) == 30 and len(few.train) == 8
    assert limited.dev == full.dev and few.test == full.test
    assert all(e in full.train for e in limited.train)


def test_other_sources_say_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="rte: no folder rte or RTE"):
        load_splits("rte", {"source": "local", "dir": str(tmp_path)})
    with pytest.raises(ValueError, match="source"):
        load_splits("syn_topic", {"source": "ftp"})
