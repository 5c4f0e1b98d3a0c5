"""A task's train/dev/test examples under the paper's data protocol.

The official train split is split 90/10 into train and dev (seed 42, stratified by label unless the
task says otherwise); the official validation split is reported as test. Two exceptions, as in the
reference code: ReCoRD trains on all of its train split and uses the official validation split as
dev and as test; HumSet has its own train, validation (dev) and test splits. A node's data spec
says where the official splits come from and optionally shrinks train (and dev) afterwards.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from trainables.tasks.formats import label_vocabulary, to_examples
from trainables.tasks.registry import MULTILABEL, get_task

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

    ``data``: {"source": "synthetic", "seed", "n_train", "n_test", "version"}, {"source": "hub"}
    (optional "repo", "config", "revision") or {"source": "local", "dir"}; optional
    "train_limit" (keep at most that many train examples) or "k" (few-shot: exactly k), both
    drawn with "sample_seed" (default 42) after the train/dev split, so dev and test never change
    with them; optional "dev_limit" keeps the first that many dev examples (the reference's
    few-shot runs: 5,000).
    """
    official = _official(task, data)
    train, dev, test = protocol_splits(task, official)
    limit = data.get("k", data.get("train_limit"))
    if limit is not None and int(limit) < len(train):
        rng = random.Random(int(data.get("sample_seed", SPLIT_SEED)))
        kept = sorted(rng.sample(range(len(train)), int(limit)))
        train = [train[i] for i in kept]
    if data.get("dev_limit") is not None:
        dev = dev[: int(data["dev_limit"])]
    return Splits(train=train, dev=dev, test=test)


def official_splits(task: str) -> tuple[str, ...]:
    """The official splits the protocol reads: HumSet's three, train and validation otherwise."""
    if get_task(task).benchmark == "humset":
        return ("train", "validation", "test")
    return ("train", "validation")


def protocol_splits(task: str, official: dict[str, list[dict]]) -> tuple[list, list, list]:
    """(train, dev, test) from the official splits' examples, by the paper's protocol."""
    spec = get_task(task)
    if spec.benchmark == "humset":
        return official["train"], official["validation"], official["test"]
    if task == "record":
        return official["train"], official["validation"], official["validation"]
    train, dev = split_train_dev(official["train"], stratify=spec.stratify)
    return train, dev, official["validation"]


def protocol_note(task: str) -> str:
    """The protocol of ``task`` in words (``data check`` prints it)."""
    spec = get_task(task)
    if spec.benchmark == "humset":
        return "HumSet's own splits: train, validation as dev, test"
    if task == "record":
        return "all of train; the official validation split is dev and test"
    how = "stratified by label" if spec.stratify else "not stratified"
    return f"train split 90/10 (seed {SPLIT_SEED}, {how}); the official validation split is test"


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
    """The examples of each official split the protocol reads."""
    source = data.get("source", "synthetic")
    if source == "synthetic":
        from trainables.tasks.synthetic import VERSION, generate

        raw = generate(
            task,
            int(data.get("seed", 0)),
            data.get("n_train"),
            data.get("n_test"),
            int(data.get("version", VERSION)),
        )
        return {split: [_example(row) for row in rows] for split, rows in raw.items()}
    if source == "hub":
        from trainables.tasks.hub import read_hub

        rows = read_hub(task, data, official_splits(task))
    elif source == "local":
        from trainables.tasks.local import read_local

        if not data.get("dir"):
            raise ValueError(f"{task}: a local data source needs 'dir'")
        rows = read_local(task, data["dir"], official_splits(task))
    else:
        raise ValueError(
            f"unknown data source {source!r} for task {task!r}; use 'synthetic', 'hub' or 'local'"
        )
    vocab = (
        label_vocabulary(task, rows["train"]) if get_task(task).problem_type == MULTILABEL else None
    )
    return {split: to_examples(task, split_rows, vocab) for split, split_rows in rows.items()}


def _example(row: dict) -> dict:
    return {"text_a": row["sentence1"], "text_b": row.get("sentence2"), "label": row["label"]}
