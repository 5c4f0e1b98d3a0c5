"""A task's train/dev/test examples under the paper's data protocol.

The official train split is split 90/10 into train and dev (seed 42, stratified by label unless the
task says otherwise); the official validation split is reported as test. A node's data spec says
where the official splits come from and optionally shrinks the train split afterwards.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from trainables.tasks.registry import get_task

SPLIT_SEED = 42
DEV_FRACTION = 0.1


@dataclass
class Splits:
    """Examples {"text_a", "text_b" (or None), "label"} of one task."""

    train: list[dict]
    dev: list[dict]
    test: list[dict]


def load_splits(task: str, data: dict) -> Splits:
    """The task's splits for a node's data spec.

    ``data``: {"source": "synthetic", "seed", "n_train", "n_test"}; optional "train_limit" (keep at
    most that many train examples) or "k" (few-shot: exactly k), both drawn with "sample_seed"
    (default 42) after the train/dev split, so dev and test never change with them.
    """
    spec = get_task(task)
    official = _official(task, data)
    train, dev = split_train_dev(official["train"], stratify=spec.stratify)
    limit = data.get("k", data.get("train_limit"))
    if limit is not None and int(limit) < len(train):
        rng = random.Random(int(data.get("sample_seed", SPLIT_SEED)))
        kept = sorted(rng.sample(range(len(train)), int(limit)))
        train = [train[i] for i in kept]
    return Splits(train=train, dev=dev, test=official["validation"])


def split_train_dev(rows: list[dict], stratify: bool = True) -> tuple[list[dict], list[dict]]:
    """The 90/10 train/dev split with seed 42; dev has ceil(10 %) rows, per label in proportion.

    Pure Python rather than scikit-learn: importing sklearn costs each trial process ~2 s.
    """
    n_dev = math.ceil(DEV_FRACTION * len(rows))
    rng = random.Random(SPLIT_SEED)
    order = list(range(len(rows)))
    rng.shuffle(order)
    if stratify:
        dev_idx = _stratified_pick(order, [rows[i]["label"] for i in order], n_dev)
    else:
        dev_idx = set(order[:n_dev])
    train = [rows[i] for i in order if i not in dev_idx]
    dev = [rows[i] for i in order if i in dev_idx]
    return train, dev


def _stratified_pick(order: list[int], labels: list, n_pick: int) -> set[int]:
    """``n_pick`` of the (shuffled) ``order``, each label's share rounded by largest remainder."""
    groups: dict = {}
    for index, label in zip(order, labels, strict=True):
        groups.setdefault(label, []).append(index)
    keys = sorted(groups, key=str)  # a fixed order, whatever type labels have
    exact = {k: n_pick * len(groups[k]) / len(order) for k in keys}
    counts = {k: math.floor(exact[k]) for k in keys}
    # hand out what flooring left over, largest remainder first (ties: larger group, then key)
    rest = sorted(keys, key=lambda k: (-(exact[k] - counts[k]), -len(groups[k]), str(k)))
    for k in rest[: n_pick - sum(counts.values())]:
        counts[k] += 1
    return {i for k in keys for i in groups[k][: counts[k]]}


def _official(task: str, data: dict) -> dict[str, list[dict]]:
    source = data.get("source", "synthetic")
    if source == "synthetic":
        from trainables.tasks.synthetic import generate

        raw = generate(task, int(data.get("seed", 0)), data.get("n_train"), data.get("n_test"))
        return {split: [_example(row) for row in rows] for split, rows in raw.items()}
    if source in ("hub", "local"):
        raise NotImplementedError(
            f"data source {source!r} for task {task!r} is not implemented yet; "
            "only the synthetic benchmark can be loaded"
        )
    raise ValueError(
        f"unknown data source {source!r} for task {task!r}; use 'synthetic', 'hub' or 'local'"
    )


def _example(row: dict) -> dict:
    return {"text_a": row["sentence1"], "text_b": row.get("sentence2"), "label": row["label"]}
