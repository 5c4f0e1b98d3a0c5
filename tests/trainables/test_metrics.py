"""Task metrics against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from trainables.tasks.metrics import score


def test_accuracy_and_binary_f1_and_their_mean():
    # tp=2 fp=1 fn=1 tn=1: accuracy 3/5, precision 2/3, recall 2/3, f1 2/3
    m = score("mrpc", [1, 1, 0, 1, 0], [1, 0, 1, 1, 0])
    assert m["accuracy"] == pytest.approx(60.0)
    assert m["f1"] == pytest.approx(200 / 3)
    assert m["score"] == pytest.approx((60.0 + 200 / 3) / 2)


def test_f1_counts_class_one_as_positive():
    # all predicted 0: no true positives, f1 0 (not an error), accuracy 50
    m = score("syn_paraphrase", [0, 0, 0, 0], [1, 1, 0, 0])
    assert m["f1"] == 0.0 and m["accuracy"] == 50.0


def test_macro_f1():
    # class 0: p=1 r=1/2 f1=2/3; class 1: p=1/2 r=1 f1=2/3; class 2: p=1 r=1 f1=1
    m = score("cb", [0, 1, 1, 2], [0, 0, 1, 2])
    assert m["macro_f1"] == pytest.approx(100 * (2 / 3 + 2 / 3 + 1) / 3)
    assert m["accuracy"] == pytest.approx(75.0)


def test_matthews_correlation():
    # tp=1 tn=2 fp=0 fn=1: (1*2 - 0*1) / sqrt(1 * 2 * 3 * 2) = 2 / sqrt(12)
    m = score("cola", [1, 0, 0, 0], [1, 1, 0, 0])
    assert m["matthews_correlation"] == pytest.approx(100 * 2 / math.sqrt(12))
    assert m["score"] == m["matthews_correlation"]


def test_pearson_and_spearman():
    # x = 1,2,3 (mean 2), y = 1,2,4 (mean 7/3): cov = 3, var_x = 2, var_y = 14/3
    m = score("stsb", [1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    assert m["pearson"] == pytest.approx(100 * 3 / math.sqrt(2 * 14 / 3))
    assert m["spearman"] == pytest.approx(100.0)
    assert m["score"] == pytest.approx((m["pearson"] + 100.0) / 2)


def test_constant_predictions_score_zero_not_nan():
    m = score("stsb", [2.5, 2.5, 2.5], [1.0, 2.0, 4.0])
    assert m == {"pearson": 0.0, "spearman": 0.0, "score": 0.0}
    assert score("cola", [1, 1, 1], [1, 0, 1])["matthews_correlation"] == 0.0
    assert score("syn_topic", [0, 0, 0, 0], [0, 1, 2, 3])["macro_f1"] == pytest.approx(10.0)


def test_multilabel_macro_f1():
    # label 0: pred 1,0 vs gold 1,1 -> f1 2/3; label 1: pred 0,1 vs gold 0,1 -> f1 1
    m = score("sectors", [[1, 0], [0, 1]], [[1, 0], [1, 1]])
    assert m["macro_f1"] == pytest.approx(100 * (2 / 3 + 1) / 2)


def test_every_metric_and_score_are_reported():
    m = score("syn_topic", [0, 1, 2, 3], [0, 1, 2, 3])
    assert m == {"accuracy": 100.0, "macro_f1": 100.0, "score": 100.0}


def test_mismatched_lengths_and_unknown_metrics_raise():
    with pytest.raises(ValueError):
        score("sst2", [1, 0], [1])
    with pytest.raises(ValueError, match="question id, label"):
        score("multirc", [1], [1])  # MultiRC's references carry their question


def test_agrees_with_scikit_learn_and_scipy():
    import numpy as np
    from scipy import stats
    from sklearn import metrics

    rng = np.random.default_rng(0)
    for _ in range(20):
        ref, pred = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
        assert score("cb", pred, ref)["macro_f1"] == pytest.approx(
            100 * metrics.f1_score(ref, pred, average="macro")
        )
        ref2, pred2 = ref % 2, pred % 2
        m = score("mrpc", pred2, ref2)
        assert m["f1"] == pytest.approx(100 * metrics.f1_score(ref2, pred2))
        assert m["accuracy"] == pytest.approx(100 * metrics.accuracy_score(ref2, pred2))
        assert score("cola", pred2, ref2)["matthews_correlation"] == pytest.approx(
            100 * metrics.matthews_corrcoef(ref2, pred2)
        )
        x, y = rng.integers(0, 6, 30).astype(float), rng.normal(size=30)  # x has ties
        m = score("stsb", x, y)
        assert m["pearson"] == pytest.approx(100 * stats.pearsonr(x, y)[0])
        assert m["spearman"] == pytest.approx(100 * stats.spearmanr(x, y)[0])
