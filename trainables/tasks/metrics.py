"""Task metrics on a 0-100 scale: ``score`` returns every metric of a task and "score", the mean
of its tabulated ones (MultiRC: F1 over answer options, ReCoRD: F1; their exact match is kept
beside, as the paper's code logs it).

Written with numpy and checked against scikit-learn and scipy in the tests: importing those two
costs every trial process ~2.5 s, more than training a demo node. Never ``evaluate.load``.
MultiRC and ReCoRD score groups of examples (``trainables.tasks.grouped_metrics``); multi-label
predictions count as positive above 0.5 (probabilities or 0/1 rows both work).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from trainables.tasks.grouped_metrics import multirc_metrics, record_metrics
from trainables.tasks.registry import get_task


def _accuracy(pred: np.ndarray, ref: np.ndarray) -> float:
    return float(np.mean(np.all((pred == ref).reshape(len(ref), -1), axis=1)))


def _f1_of(pred: np.ndarray, ref: np.ndarray, positive) -> float:
    """F1 of one class; 0 when the class is neither predicted nor present (no 0/0)."""
    tp = np.sum((pred == positive) & (ref == positive))
    denominator = np.sum(pred == positive) + np.sum(ref == positive)
    return float(2 * tp / denominator) if denominator else 0.0


def _f1(pred: np.ndarray, ref: np.ndarray) -> float:
    return _f1_of(pred, ref, 1)


def _macro_f1(pred: np.ndarray, ref: np.ndarray) -> float:
    if ref.ndim == 2:  # multi-label: one binary F1 per label column, sigmoid above 0.5
        pred = (pred > 0.5).astype(int)
        return float(np.mean([_f1_of(pred[:, j], ref[:, j], 1) for j in range(ref.shape[1])]))
    # the classes that occur in either list, as scikit-learn averages
    classes = np.union1d(pred, ref)
    return float(np.mean([_f1_of(pred, ref, c) for c in classes]))


def _matthews(pred: np.ndarray, ref: np.ndarray) -> float:
    # the multi-class form (Gorodkin), which is the usual one for two classes
    classes = np.union1d(pred, ref)
    confusion = np.array(
        [[np.sum((ref == a) & (pred == b)) for b in classes] for a in classes], dtype=float
    )
    t, p = confusion.sum(axis=1), confusion.sum(axis=0)
    n, correct = confusion.sum(), np.trace(confusion)
    denominator = np.sqrt((n * n - p @ p) * (n * n - t @ t))
    return float((correct * n - t @ p) / denominator) if denominator else 0.0


def _pearson(pred: np.ndarray, ref: np.ndarray) -> float:
    x, y = pred.astype(float) - pred.mean(), ref.astype(float) - ref.mean()
    denominator = np.sqrt((x @ x) * (y @ y))
    # a constant list has no correlation with anything: 0, where scipy says NaN
    return float(x @ y / denominator) if denominator > 0 else 0.0


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (scipy's rankdata 'average')."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(values)] - 1
    ranks = np.empty(len(values))
    ranks[order] = (first[group] + last[group]) / 2 + 1
    return ranks


def _spearman(pred: np.ndarray, ref: np.ndarray) -> float:
    return _pearson(_ranks(pred.astype(float)), _ranks(ref.astype(float)))


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy,
    "f1": _f1,
    "macro_f1": _macro_f1,
    "matthews_correlation": _matthews,
    "pearson": _pearson,
    "spearman": _spearman,
}


_GROUPED: dict[str, Callable[[Sequence, Sequence], dict[str, float]]] = {
    "multirc": multirc_metrics,
    "record": record_metrics,
}


def score(task: str, predictions: Sequence, references: Sequence) -> dict[str, float]:
    """Every metric of ``task`` (0-100) and "score", the mean of its tabulated metrics.

    Predictions are decoded: class ids, floats for regression, 0/1 rows (or probabilities) for
    multi-label. MultiRC: one 0/1 prediction per answer option and (question id, label) pairs as
    references. ReCoRD: one predicted entity per query and the list of its gold answers.
    """
    spec = get_task(task)
    if len(predictions) != len(references):
        raise ValueError(f"{task}: {len(predictions)} predictions for {len(references)} references")
    if len(references) == 0:
        raise ValueError(f"{task}: no examples to score")
    if task in _GROUPED:
        result = {k: 100.0 * v for k, v in _GROUPED[task](predictions, references).items()}
    else:
        pred, ref = np.asarray(predictions), np.asarray(references)
        result = {}
        for name in (*spec.metrics, *spec.logged):
            if name not in METRICS:
                raise NotImplementedError(f"metric {name!r} of task {task!r} is not implemented")
            result[name] = 100.0 * METRICS[name](pred, ref)
    result["score"] = float(np.mean([result[name] for name in spec.metrics]))
    return result
