"""Scoring MultiRC and ReCoRD per question: the evaluation hook of the training loop.

Both tasks train as binary classification of one example per answer option (MultiRC) or per
candidate entity (ReCoRD), but are scored per question: ``split_meta`` keeps, for the dev and test
examples, what ``postprocess`` needs to turn per-example logits into the predictions and
references ``metrics.score`` takes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

GROUPED_TASKS = ("multirc", "record")

_META: dict[tuple[str, str], tuple[list, list]] = {}


def is_grouped(task: str) -> bool:
    """Whether ``task`` is scored per question rather than per example."""
    return task in GROUPED_TASKS


def example_meta(task: str, examples: list[dict]) -> list:
    """Per example: MultiRC's question id; ReCoRD's (query id, candidate, gold answers)."""
    if task == "multirc":
        return [ex["group"] for ex in examples]
    if task == "record":
        return [(ex["group"], ex["candidate"], tuple(ex["answers"])) for ex in examples]
    raise ValueError(f"{task} is scored per example, it has no groups")


def split_meta(task: str, data: dict) -> tuple[list | None, list | None]:
    """(dev, test) meta of ``task`` under data spec ``data``; (None, None) for other tasks.

    Cached per process: the examples are loaded once more for it, the meta itself is small.
    """
    if not is_grouped(task):
        return None, None
    key = (task, json.dumps(data, sort_keys=True, default=str))
    if key not in _META:
        from trainables.tasks.data import load_splits

        splits = load_splits(task, data)
        _META[key] = (example_meta(task, splits.dev), example_meta(task, splits.test))
    return _META[key]


def postprocess(
    task: str, meta: list, logits: Sequence[Sequence[float]], labels: Sequence[int]
) -> tuple[list, list]:
    """(predictions, references) for ``metrics.score`` from per-example two-class logits."""
    if len(meta) != len(logits):
        raise ValueError(f"{task}: {len(logits)} logits for {len(meta)} examples")
    if task == "multirc":
        predictions = [int(row[1] > row[0]) for row in logits]
        return predictions, list(zip(meta, (int(y) for y in labels), strict=True))
    if task == "record":
        # per query, the candidate with the highest positive-class logit, ties to the larger
        # entity string: the official code's sorted((logit, entity), reverse=True)[0]
        best: dict = {}
        answers: dict = {}
        for (group, candidate, golds), row in zip(meta, logits, strict=True):
            key = (float(row[1]), candidate)
            if group not in best or key > best[group]:
                best[group] = key
            answers.setdefault(group, list(golds))
        return [best[g][1] for g in best], [answers[g] for g in best]
    raise ValueError(f"{task} is scored per example, it has no groups")
