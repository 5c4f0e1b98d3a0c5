"""What a task's splits hold: rows and label distribution per split (``data check`` prints it)."""

from __future__ import annotations

import math
from collections import Counter

from trainables.tasks.data import Splits, official_splits, protocol_note
from trainables.tasks.registry import MULTILABEL, MULTIPLE_CHOICE, REGRESSION, get_task

SPLITS = ("train", "dev", "test")


def describe_splits(task: str, splits: Splits) -> dict:
    """{"task", "protocol", "official_rows", "splits": {split: summary}, ...} of ``task``."""
    spec = get_task(task)
    official = {"train": spec.train_size, "test": spec.test_size}
    return {
        "task": task,
        "protocol": protocol_note(task),
        "official_splits": list(official_splits(task)),
        "official_rows": official,
        "splits": {name: describe_examples(task, getattr(splits, name)) for name in SPLITS},
    }


def describe_examples(task: str, examples: list[dict]) -> dict:
    """Rows, groups (MultiRC questions, ReCoRD queries) and label counts of one split."""
    out: dict = {"rows": len(examples)}
    groups = {ex["group"] for ex in examples if "group" in ex}
    if groups:
        out["groups"] = len(groups)
    out["labels"] = label_counts(task, [ex["label"] for ex in examples])
    return out


def label_counts(task: str, labels: list) -> dict[str, int]:
    """Counts by label name; regression: unit-wide score bins; multi-label: positives per label."""
    spec = get_task(task)
    if spec.problem_type == REGRESSION:
        bins = Counter(min(math.floor(float(y)), 4) for y in labels)  # 5.0 joins the 4-5 bin
        return {f"{b}-{b + 1}": bins[b] for b in sorted(bins)}
    if spec.problem_type == MULTILABEL:
        columns = [sum(row[j] for row in labels) for j in range(spec.num_labels)]
        out = {f"label {j}": n for j, n in enumerate(columns)}
        out["none"] = sum(1 for row in labels if not any(row))
        return out
    names = spec.label_names
    if spec.problem_type == MULTIPLE_CHOICE:
        names = tuple(f"choice{i + 1}" for i in range(spec.num_labels))
    counts = Counter(int(y) for y in labels)
    return {(names[y] if y < len(names) else str(y)): counts[y] for y in sorted(counts)}
