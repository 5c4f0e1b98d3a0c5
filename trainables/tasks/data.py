"""A task's train/dev/test examples under the paper's data protocol.

The official train split is split 90/10 into train and dev the way the official code does it:
``datasets``' ``Dataset.train_test_split(test_size=0.1, seed=42, stratify_by_column="label")`` on
the rows in the hub's order (not stratified for STS-B, CB and ReCoRD), so every train and dev row
is the official one; the official validation split is reported as test. Two exceptions, as in the
reference code: ReCoRD trains on all of its train split and uses the official validation split as
dev and as test; HumSet has its own train, validation (dev) and test splits. The synthetic
benchmark, which has no official split, keeps a pure-Python stratified split (``split_train_dev``):
importing ``datasets`` costs a trial process most of a second. A node's data spec says where the
official splits come from and optionally shrinks train (and dev) afterwards: the first rows, as
the official code's ``select(range(k))`` after its (already shuffled) split.

Every example carries "row", the index of the row it comes from in its official split.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from trainables.tasks.formats import label_vocabulary, to_examples
from trainables.tasks.registry import MULTILABEL, MULTIPLE_CHOICE, get_task

SPLIT_SEED = 42
DEV_FRACTION = 0.1


@dataclass
class Splits:
    """Examples {"text_a", "text_b" (or None), "label", "row"} of one task."""

    train: list[dict]
    dev: list[dict]
    test: list[dict]


def load_splits(task: str, data: dict) -> Splits:
    """The task's splits for a node's data spec.

    ``data``: {"source": "synthetic", "seed", "n_train", "n_test", "version"}, {"source": "hub"}
    (optional "repo", "config", "revision") or {"source": "local", "dir"}; optional
    "train_limit" (keep at most that many train examples) or "k" (few-shot: exactly k): the first
    ones of the train split, as the official code (with "sample_seed", a sample drawn with that
    seed instead), so dev and test never change with them; optional "dev_limit" keeps the first
    that many dev examples (the reference's few-shot runs: 5,000).
    """
    official = _official(task, data)
    train, dev, test = protocol_splits(task, official)
    limit = data.get("k", data.get("train_limit"))
    if limit is not None and int(limit) < len(train):
        if data.get("sample_seed") is not None:
            rng = random.Random(int(data["sample_seed"]))
            kept = sorted(rng.sample(range(len(train)), int(limit)))
            train = [train[i] for i in kept]
        else:
            train = train[: int(limit)]
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
    if spec.benchmark == "synthetic":
        train, dev = split_train_dev(official["train"], stratify=spec.stratify)
    else:
        train, dev = official_train_dev(task, official["train"])
    return train, dev, official["validation"]


def protocol_note(task: str) -> str:
    """The protocol of ``task`` in words (``data check`` prints it)."""
    spec = get_task(task)
    if spec.benchmark == "humset":
        return "HumSet's own splits: train, validation as dev, test"
    if task == "record":
        return "all of train; the official validation split is dev and test"
    how = "stratified by label" if spec.stratify else "not stratified"
    if spec.benchmark == "synthetic":
        return (
            f"train split 90/10 (seed {SPLIT_SEED}, {how}); the generated validation split is test"
        )
    return (
        f"train split 90/10 by datasets' train_test_split (seed {SPLIT_SEED}, {how}), "
        "as the official code; the official validation split is test"
    )


def class_names(task: str) -> list[str]:
    """The names of a classification task's label ids, as the hub's ClassLabel has them."""
    spec = get_task(task)
    if spec.label_names:
        return list(spec.label_names)
    prefix = "choice" if spec.problem_type == MULTIPLE_CHOICE else "label"
    return [f"{prefix}{i + 1}" for i in range(spec.num_labels)]


def official_train_dev(task: str, examples: list[dict]) -> tuple[list[dict], list[dict]]:
    """The official code's 90/10 split: ``datasets``' own ``train_test_split`` (seed 42, dev
    ``ceil(10 %)``, stratified by label unless the task is not) on the rows in their order.

    Only the row order, the count and (stratified) the label ids decide the split, so it is run
    on a table of row positions and labels, the labels typed as the hub's ClassLabel. The call
    itself reads the label column row by row (``datasets`` 5): seconds for SST-2's 67k rows, paid
    where a task is tokenised (and by each trial of MultiRC, whose per-question meta is rebuilt
    from its splits), not by trials that find the task in the disk cache.
    """
    import datasets  # only where a split is made: a trial process pays for it once per task

    spec = get_task(task)
    columns: dict = {"position": list(range(len(examples)))}
    features: dict = {"position": datasets.Value("int64")}
    options: dict = {}
    if spec.stratify:
        columns["label"] = [int(ex["label"]) for ex in examples]
        features["label"] = datasets.ClassLabel(names=class_names(task))
        options["stratify_by_column"] = "label"
    table = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    try:
        parts = table.train_test_split(
            test_size=DEV_FRACTION, shuffle=True, seed=SPLIT_SEED, **options
        )
    except ValueError as err:
        raise ValueError(
            f"{task}: the 90/10 train/dev split of {len(examples)} train rows failed: {err}"
        ) from None
    # one batch read per part ([:]); reading the column row by row costs seconds on SST-2
    train = [examples[i] for i in parts["train"][:]["position"]]
    dev = [examples[i] for i in parts["test"][:]["position"]]
    return train, dev


def split_train_dev(rows: list[dict], stratify: bool = True) -> tuple[list[dict], list[dict]]:
    """The synthetic benchmark's 90/10 train/dev split with seed 42; dev has ceil(10 %) rows, per
    label in proportion.

    Pure Python rather than ``datasets`` or scikit-learn: importing either costs each trial
    process a second or two, and the synthetic tasks have no official split to match.
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
        return {
            split: [_example(row, i) for i, row in enumerate(rows)] for split, rows in raw.items()
        }
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


def _example(row: dict, index: int) -> dict:
    return {
        "text_a": row["sentence1"],
        "text_b": row.get("sentence2"),
        "label": row["label"],
        "row": index,
    }
