"""Metrics over groups of examples: MultiRC's answer options per question, ReCoRD's answers.

MultiRC: "f1a" is the binary F1 over all answer options; "exact_match" the share of questions
whose options are all predicted right. ReCoRD: per query, token F1 and exact match of the predicted
entity against each gold answer after SQuAD's normalisation (lower case, no punctuation, no
articles, single spaces), the best over gold answers counting; both are averaged over queries.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 of two answers after normalisation (0 when either is empty)."""
    pred_tokens, gold_tokens = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the answers are equal after normalisation."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def record_metrics(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """ReCoRD's F1 and exact match (fractions): one predicted entity and its gold answers per query.

    A query without gold answers scores 0 (the official evaluation has none such).
    """
    f1 = em = 0.0
    for prediction, golds in zip(predictions, references, strict=True):
        if isinstance(golds, str):
            golds = [golds]
        f1 += max((token_f1(prediction, g) for g in golds), default=0.0)
        em += max((exact_match(prediction, g) for g in golds), default=0.0)
    n = len(predictions)
    return {"f1": f1 / n, "exact_match": em / n}


def multirc_metrics(predictions: Sequence[int], references: Sequence) -> dict:
    """MultiRC's f1a and exact match (fractions); references are (question id, label) pairs."""
    try:
        groups = [g for g, _ in references]
        labels = [int(y) for _, y in references]
    except (TypeError, ValueError):
        raise ValueError(
            "multirc: references must be (question id, label) pairs, one per answer option"
        ) from None
    preds = [int(p) for p in predictions]
    tp = sum(1 for p, y in zip(preds, labels, strict=True) if p == 1 and y == 1)
    denominator = preds.count(1) + labels.count(1)
    f1a = 2 * tp / denominator if denominator else 0.0
    all_right: dict = {}
    for group, p, y in zip(groups, preds, labels, strict=True):
        all_right[group] = all_right.get(group, True) and p == y
    return {"f1a": f1a, "exact_match": sum(all_right.values()) / len(all_right)}
