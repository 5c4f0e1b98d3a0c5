"""Tokenised splits, cached in memory and on disk, and padded batches.

A task is tokenised once per (task, data spec, tokenizer, max_length): kept in memory for repeated
use in one process (joint and transfer nodes, reused workers) and on disk (``encode_cache``) for
every later trial process on the same machine. Batches are padded to their own longest sequence,
not to max_length: synthetic and GLUE sentences are far shorter than 128 tokens and padding is
wasted compute. Training batches are grouped by length (random groups in random order);
evaluation batches are sorted by length.
"""

from __future__ import annotations

import logging
import random
from collections import OrderedDict
from dataclasses import dataclass

import torch

from trainables import encode_cache
from trainables.tasks.data import Splits, load_splits
from trainables.tasks.registry import MULTILABEL, REGRESSION, get_task

SPLITS = ("train", "dev", "test")
LENGTH_GROUP_BATCHES = 50  # length grouping sorts within windows of this many batches


@dataclass
class EncodedSplit:
    """Token ids and labels of one split; ``input_ids[i]`` is a list of choices for multi-choice."""

    task: str
    problem_type: str
    input_ids: list
    labels: list
    lengths: list[int]  # longest sequence of each example (its choices' longest for multi-choice)
    # segment ids shaped like input_ids, for tokenizers whose models read them (BERT and kin)
    token_type_ids: list | None = None

    def __len__(self) -> int:
        return len(self.labels)


# A reused trial process sees many tasks over a sweep; the disk cache serves the rest. Eight is
# a whole benchmark, which a joint node needs at once.
MEMORY_TASKS = 8
_CACHE: OrderedDict[str, dict[str, EncodedSplit]] = OrderedDict()
_log = logging.getLogger(__name__)


def tokenizer_key(tokenizer) -> str:
    """What identifies a tokenizer in cache keys: a digest of its content, not its name."""
    return encode_cache.tokenizer_digest(tokenizer)


def encode_task(task: str, data: dict, tokenizer, max_length: int) -> dict[str, EncodedSplit]:
    """The train/dev/test splits of ``task`` tokenised, from the memory or disk cache if there."""
    key = encode_cache.cache_key(task, data, tokenizer_key(tokenizer), max_length)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    root = encode_cache.cache_root()
    path = encode_cache.cache_path(root, key) if root is not None else None
    stored = encode_cache.read_splits(path, key) if path is not None else None
    if stored is not None and set(stored) == set(SPLITS):
        out = {
            split: EncodedSplit(task, ptype, ids, labels, _lengths(ids), types)
            for split, (ptype, ids, labels, types) in stored.items()
        }
    else:
        splits: Splits = load_splits(task, data)
        out = {
            split: encode_examples(task, getattr(splits, split), tokenizer, max_length)
            for split in SPLITS
        }
        if path is not None:
            try:
                encode_cache.write_splits(path, key, out)
            except Exception as err:  # a full or read-only disk costs speed, not the trial
                _log.warning("could not cache tokenised %s at %s: %s", task, path, err)
    _CACHE[key] = out
    while len(_CACHE) > MEMORY_TASKS:
        _CACHE.popitem(last=False)
    return out


def _lengths(input_ids: list) -> list[int]:
    if input_ids and input_ids[0] and isinstance(input_ids[0][0], list):
        return [max(len(ids) for ids in choices) for choices in input_ids]
    return [len(ids) for ids in input_ids]


def clear_cache() -> None:
    """Forget the splits cached in memory (tests; memory); the disk cache stays."""
    _CACHE.clear()


def encode_examples(task: str, examples: list[dict], tokenizer, max_length: int) -> EncodedSplit:
    """Tokenise examples {"text_a", "text_b" | None, "label"} (or "choices") of ``task``."""
    spec = get_task(task)
    labels = [ex["label"] for ex in examples]
    types = uses_token_types(tokenizer)
    if examples and "choices" in examples[0]:
        encoded = [
            _encode_pairs(
                tokenizer,
                [ex["text_a"]] * len(ex["choices"]),
                ex["choices"],
                max_length,
                spec.truncation,
            )
            for ex in examples
        ]
        input_ids = [ids for ids, _ in encoded]
        token_types = [t for _, t in encoded] if types else None
    else:
        firsts = [ex["text_a"] for ex in examples]
        seconds = [ex.get("text_b") for ex in examples]
        input_ids, token_types = _encode_pairs(
            tokenizer, firsts, seconds, max_length, spec.truncation
        )
        token_types = token_types if types else None
    return EncodedSplit(
        task, spec.problem_type, input_ids, labels, _lengths(input_ids), token_types
    )


def uses_token_types(tokenizer) -> bool:
    """Whether the tokenizer gives segment ids (its model was trained with them)."""
    return "token_type_ids" in getattr(tokenizer, "model_input_names", ())


def _encode_pairs(
    tokenizer, firsts: list[str], seconds: list, max_length: int, truncation: str = "longest_first"
) -> tuple[list[list[int]], list[list[int]] | None]:
    """Token ids (and segment ids, if the tokenizer gives them) of single texts or pairs in the
    tokenizer's own template; pairs are cut by ``truncation`` (ReCoRD: the first text, the
    passage, only)."""
    if not firsts:
        return [], []
    if all(s is None for s in seconds):
        enc = tokenizer(firsts, truncation=True, max_length=max_length)
        return list(enc["input_ids"]), _types(enc)
    seconds = [s or "" for s in seconds]
    try:
        enc = tokenizer(firsts, seconds, truncation=truncation, max_length=max_length)
    except Exception:
        if truncation == "longest_first":
            raise
        # a second text too long on its own cannot be kept whole: cut both for those pairs only
        pairs = [
            _encode_pair(tokenizer, a, b, max_length, truncation)
            for a, b in zip(firsts, seconds, strict=True)
        ]
        ids = [p["input_ids"] for p in pairs]
        types = [p.get("token_type_ids") for p in pairs]
        return ids, (types if all(t is not None for t in types) else None)
    return list(enc["input_ids"]), _types(enc)


def _types(enc) -> list[list[int]] | None:
    types = enc.get("token_type_ids")
    return list(types) if types is not None else None


def _encode_pair(tokenizer, first: str, second: str, max_length: int, truncation: str):
    try:
        return tokenizer(first, second, truncation=truncation, max_length=max_length)
    except Exception:
        return tokenizer(first, second, truncation="longest_first", max_length=max_length)


def pass_batches(
    split: EncodedSplit,
    batch_size: int,
    seed: int,
    index: int,
    shuffle: bool = True,
    group_by_length: bool = False,
    rows: int | None = None,
) -> list[list[int]]:
    """The batches (example indices) of one pass over ``split`` (its first ``rows`` examples when
    given); a pure function of its arguments.

    With ``group_by_length``, examples of similar length share a batch (less padding) while the
    order of batches stays random.
    """
    order = list(range(len(split) if rows is None else min(rows, len(split))))
    # a string seed is hashed deterministically, and (seed, task, pass) never collide
    rng = random.Random(f"{seed}:{split.task}:{index}")
    if shuffle:
        rng.shuffle(order)
    if group_by_length:
        window = batch_size * LENGTH_GROUP_BATCHES
        order = [
            i
            for start in range(0, len(order), window)
            for i in sorted(order[start : start + window], key=lambda j: -split.lengths[j])
        ]
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if shuffle and group_by_length:
        rng.shuffle(batches)
    return batches


def eval_batches(split: EncodedSplit, batch_size: int) -> list[list[int]]:
    """Batches of example indices sorted by length: least padding, order-free metrics."""
    order = sorted(range(len(split)), key=lambda i: split.lengths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def collate(
    split: EncodedSplit, indices: list[int], pad_id: int, pad_to: int | None = None
) -> dict[str, torch.Tensor]:
    """A batch padded to its longest sequence (or to ``pad_to``, the reference scripts' fixed
    padding): input_ids, attention_mask and, where the split has them, token_type_ids (B, L) or
    (B, C, L)."""
    rows = [split.input_ids[i] for i in indices]
    width = max(split.lengths[i] for i in indices)
    if pad_to is not None:
        width = max(width, pad_to)
    types = [split.token_type_ids[i] for i in indices] if split.token_type_ids else None
    batch = {}
    if rows and rows[0] and isinstance(rows[0][0], list):  # multiple choice
        n_choices = max(len(r) for r in rows)
        ids = torch.full((len(rows), n_choices, width), pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        segments = torch.zeros_like(ids)
        for b, choices in enumerate(rows):
            for c, seq in enumerate(choices):
                ids[b, c, : len(seq)] = torch.tensor(seq)
                mask[b, c, : len(seq)] = 1
                if types is not None:
                    segments[b, c, : len(seq)] = torch.tensor(types[b][c])
    else:
        # one tensor from padded lists: far fewer small copies than a row-by-row fill
        ids = torch.tensor([seq + [pad_id] * (width - len(seq)) for seq in rows], dtype=torch.long)
        mask = torch.tensor([[1] * len(seq) + [0] * (width - len(seq)) for seq in rows])
        if types is not None:
            segments = torch.tensor([t + [0] * (width - len(t)) for t in types], dtype=torch.long)
    if types is not None:
        batch["token_type_ids"] = segments
    labels = [split.labels[i] for i in indices]
    dtype = torch.float if split.problem_type in (REGRESSION, MULTILABEL) else torch.long
    batch.update(input_ids=ids, attention_mask=mask, labels=torch.tensor(labels, dtype=dtype))
    return batch
