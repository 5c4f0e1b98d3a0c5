"""The paper's metrics through the public ``trainables.tasks.score``: hand-computed values for
every kind of task, MultiRC and ReCoRD per question, HumSet at threshold 0.5."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainables.tasks import score
from trainables.tasks.grouped import postprocess
from trainables.tasks.grouped_metrics import normalize_answer, token_f1


def test_single_metric_tasks_score_their_metric():
    assert score("rte", [0, 1, 1, 0], [0, 1, 0, 0]) == {"accuracy": 75.0, "score": 75.0}
    # CoLA: tp=2 tn=1 fp=1 fn=0 -> (2*1 - 1*0) / sqrt(3 * 2 * 2 * 1) = 2 / sqrt(12)
    m = score("cola", [1, 1, 1, 0], [1, 1, 0, 0])
    assert m["matthews_correlation"] == pytest.approx(100 * 2 / math.sqrt(12))
    assert score("copa", [1, 0], [1, 1])["score"] == 50.0


def test_two_metric_tasks_report_both_and_their_mean():
    # QQP: tp=1 fp=1 fn=1 tn=1 -> accuracy 50, f1 = 2*1 / (2 + 2) = 50
    assert score("qqp", [1, 1, 0, 0], [1, 0, 1, 0]) == {"accuracy": 50.0, "f1": 50.0, "score": 50.0}
    # CB: accuracy 3/4; classes 0: f1 1, 1: p=1/2 r=1 f1=2/3, 2: p=0 r=0 f1=0 -> macro 5/9
    m = score("cb", [0, 1, 1, 0], [0, 1, 2, 0])
    assert m["accuracy"] == 75.0 and m["macro_f1"] == pytest.approx(100 * 5 / 9)
    assert m["score"] == pytest.approx((75.0 + 500 / 9) / 2)
    # STS-B: predictions rank-identical to the gold scores, not linear
    m = score("stsb", [1.0, 2.0, 10.0], [1.0, 2.0, 3.0])
    assert m["spearman"] == pytest.approx(100.0) and m["pearson"] < 100.0
    assert m["score"] == pytest.approx((m["pearson"] + 100.0) / 2)


def test_multirc_f1_over_answer_options_and_exact_match_per_question():
    # q1: options 1,0 predicted 1,0 (all right); q2: options 1,1,0 predicted 1,0,0 (one wrong)
    refs = [("q1", 1), ("q1", 0), ("q2", 1), ("q2", 1), ("q2", 0)]
    m = score("multirc", [1, 0, 1, 0, 0], refs)
    # tp=2 fp=0 fn=1: f1a = 4 / (2 + 3) = 80; EM = 1 of 2 questions
    assert m["f1a"] == pytest.approx(80.0) and m["exact_match"] == pytest.approx(50.0)
    # the paper's MultiRC number is F1a (the official code computes nothing else); EM is kept
    assert m["score"] == pytest.approx(80.0)


def test_record_takes_the_best_gold_answer_per_query_after_normalisation():
    predictions = ["the Eiffel Tower", "Paris France", "London"]
    references = [["Eiffel Tower"], ["Paris", "France"], ["Berlin"]]
    m = score("record", predictions, references)
    # q1: EM 1 (articles dropped), F1 1; q2: best F1 2*(1/2*1)/(1/2+1) = 2/3, EM 0; q3: 0, 0
    assert m["exact_match"] == pytest.approx(100 / 3)
    assert m["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)
    assert m["score"] == pytest.approx(m["f1"]), "ReCoRD's headline is F1, EM kept beside it"
    assert normalize_answer("The  U.S.-led, a coalition!") == "usled coalition"
    assert token_f1("x y y", "y y z") == pytest.approx(2 / 3)
    assert token_f1("a y y", "y y z") == pytest.approx(0.8)  # "a" is an article: dropped


def test_humset_macro_f1_counts_labels_above_one_half():
    probabilities = [[0.9, 0.4, 0.51], [0.2, 0.6, 0.5]]  # 0.5 itself is not above 0.5
    gold = [[1, 0, 1], [1, 1, 0]]
    # label 0: tp=1 fn=1 -> 2/3; label 1: tp=1 -> 1; label 2: tp=1 -> 1
    m = score("sectors", probabilities, gold)
    assert m["macro_f1"] == pytest.approx(100 * (2 / 3 + 1 + 1) / 3) and m["score"] == m["macro_f1"]
    assert score("sectors", [[1, 0, 1], [0, 1, 0]], gold) == m  # 0/1 rows, same decisions


def test_new_metrics_agree_with_scikit_learn():
    from sklearn import metrics

    rng = np.random.default_rng(1)
    gold, probs = rng.integers(0, 2, (60, 7)), rng.random((60, 7))
    assert score("pillars_1d", probs, gold)["macro_f1"] == pytest.approx(
        100 * metrics.f1_score(gold, probs > 0.5, average="macro", zero_division=0)
    )
    labels, preds = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    refs = [(i // 5, int(y)) for i, y in enumerate(labels)]
    assert score("multirc", preds, refs)["f1a"] == pytest.approx(
        100 * metrics.f1_score(labels, preds)
    )


def test_postprocess_groups_logits_per_question():
    meta = [("q1", "Alice", ("Bob",)), ("q1", "Bob", ("Bob",)), ("q2", "Paris", ("Rome",))]
    logits = [[0.0, 1.0], [0.0, 2.0], [1.0, 0.0]]
    preds, refs = postprocess("record", meta, logits, [0, 1, 0])
    assert preds == ["Bob", "Paris"] and refs == [["Bob"], ["Rome"]]
    assert score("record", preds, refs)["exact_match"] == 50.0
    preds, refs = postprocess("multirc", ["a", "a", "b"], [[0, 1], [1, 0], [0, 3]], [1, 1, 1])
    assert preds == [1, 0, 1] and refs == [("a", 1), ("a", 1), ("b", 1)]


def test_record_picks_the_candidate_with_the_highest_positive_logit():
    # the official code ranks candidates by logit[1] alone: Bob's margin (2 - 1 = 1) is smaller
    # than Alice's (0.5 - (-3) = 3.5), but his positive logit is larger
    meta = [("q", "Alice", ("Bob",)), ("q", "Bob", ("Bob",))]
    preds, _ = postprocess("record", meta, [[-3.0, 0.5], [1.0, 2.0]], [0, 1])
    assert preds == ["Bob"]
    # equal positive logits: sorted((logit, entity), reverse=True)[0], the larger string wins
    meta = [("q", "Bob", ("Bob",)), ("q", "Carl", ("Bob",)), ("q", "Al", ("Bob",))]
    preds, _ = postprocess("record", meta, [[0.0, 1.0], [5.0, 1.0], [-1.0, 1.0]], [1, 0, 0])
    assert preds == ["Carl"]


def test_few_shot_selection_metric_is_the_official_scripts():
    from trainables.tasks.registry import selection_value

    qqp = score("qqp", [1, 1, 0, 0, 1], [1, 0, 1, 0, 1])  # accuracy 60, f1 66.7
    assert selection_value("qqp", qqp) == qqp["accuracy"] != qqp["score"]
    stsb = score("stsb", [1.0, 2.0, 10.0], [1.0, 2.0, 3.0])
    assert selection_value("stsb", stsb) == stsb["pearson"] != stsb["score"]
    mrpc = score("mrpc", [1, 1, 0, 0, 1], [1, 0, 1, 0, 1])
    assert selection_value("mrpc", mrpc) == mrpc["accuracy"]
    cb = score("cb", [0, 1, 1, 0], [0, 1, 2, 0])
    assert selection_value("cb", cb) == cb["accuracy"] != cb["score"]
    cola = score("cola", [1, 1, 1, 0], [1, 1, 0, 0])
    assert selection_value("cola", cola) == cola["matthews_correlation"] == cola["score"]
    topic = score("syn_topic", [0, 1, 2, 3], [0, 1, 2, 2])  # synthetic: no official rule
    assert selection_value("syn_topic", topic) == topic["score"]


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="predictions"):
        score("record", ["a"], [["a"], ["b"]])
    with pytest.raises(ValueError, match="no examples"):
        score("rte", [], [])
