"""Tokenised splits kept on disk, so a fresh trial process does not tokenise a task again.

Every Ray trial is a new process; without this, a sweep of hundreds of nodes tokenises the same
task hundreds of times (MNLI: minutes each on a CPU). One file per (task, data, tokenizer,
max_length) under ``$SCALEARN_CACHE/tokenized`` (default ``~/.cache/scalearn``) holds all three
splits as safetensors: token ids flat with offsets, labels as JSON in the header. No pickle: a
cache file is data, never code. Files are written to a temporary name and renamed, so parallel
trials on one node never read half a file; a file that fails to read is treated as absent.

The key covers what decides the tokens: the task, the data spec (local files by name, size and
modification time), the tokenizer's content (vocabulary, merges, normaliser, special tokens; not
its name), max_length and the source of the code that loads and encodes data. ``SCALEARN_CACHE=off``
(or ``SCALEARN_TOKENIZED_CACHE=0``) turns the disk cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

FORMAT = "tokenized-v2"
_OFF = ("off", "0", "false", "no")
# the code that turns a data spec into token ids: a change to any of it invalidates the cache
_CODE_GLOBS = ("tasks/*.py", "encode.py", "encode_cache.py")
_HEAD_LIMIT = 4096  # the serialised truncation and padding settings are far shorter


def cache_root() -> Path | None:
    """The folder of tokenised splits, or None when the disk cache is off."""
    from trainables.tokenizer import cache_dir

    if os.environ.get("SCALEARN_TOKENIZED_CACHE", "1").lower() in _OFF:
        return None
    root = cache_dir()
    if str(root).lower() in _OFF:
        return None
    return root.expanduser() / "tokenized"


def tokenizer_digest(tokenizer) -> str:
    """A digest of what a tokenizer does to text, independent of its name or where it lies."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        text = backend.to_str()
        # a call with truncation=True changes "truncation" and "padding" on the object: they are
        # per call, not content. They come first in the serialisation, so the content is what
        # follows them; parsing the whole JSON instead costs a third of a second for RoBERTa's.
        cut = text.find(',"added_tokens":')
        if 0 < cut < _HEAD_LIMIT:
            body = text[cut:]
        else:
            state = json.loads(text)
            state.pop("truncation", None)
            state.pop("padding", None)
            body = json.dumps(state, sort_keys=True)
    else:
        body = json.dumps(sorted(tokenizer.get_vocab().items()))
    extra = json.dumps(
        [type(tokenizer).__name__, tokenizer.all_special_tokens, len(tokenizer)], sort_keys=True
    )
    return hashlib.sha256(f"{body}\n{extra}".encode()).hexdigest()[:32]


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the source that loads, splits and encodes data."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(FORMAT.encode())
    for pattern in _CODE_GLOBS:
        for path in sorted(here.glob(pattern)):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def data_key(data: dict) -> dict:
    """The data spec as it decides the examples; local folders by their files' names and stats."""
    key = dict(data)
    if data.get("source") == "local" and data.get("dir"):
        folder = Path(data["dir"])
        files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
        stats = [(p, p.stat()) for p in files]
        key["files"] = [[str(p.relative_to(folder)), st.st_size, st.st_mtime_ns] for p, st in stats]
    return key


def cache_key(task: str, data: dict, tokenizer_id: str, max_length: int) -> str:
    """The key of one task's tokenised splits, as JSON (kept in the file and checked on read)."""
    return json.dumps(
        {
            "task": task,
            "data": data_key(data),
            "tokenizer": tokenizer_id,
            "max_length": max_length,
            "code": code_digest(),
        },
        sort_keys=True,
        default=str,
    )


def cache_path(root: Path, key: str) -> Path:
    """Where the splits of ``key`` lie under ``root``."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return root / f"{digest}.safetensors"


def read_splits(path: Path, key: str) -> dict | None:
    """The splits stored at ``path`` as {split: (problem_type, input_ids, labels,
    token_type_ids)}, or None (``token_type_ids`` is None where the tokenizer gives none).

    None when the file is absent, unreadable or written for another key.
    """
    from safetensors import safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            if meta.get("key") != key:
                return None
            body = json.loads(meta["splits"])
            out = {}
            for split, info in body.items():
                offsets = f.get_tensor(f"{split}.offsets").tolist()
                groups = f.get_tensor(f"{split}.choices").tolist() if info["choices"] else None
                ids = _unflatten(f.get_tensor(f"{split}.ids").tolist(), offsets, groups)
                types = None
                if info.get("types"):
                    types = _unflatten(f.get_tensor(f"{split}.types").tolist(), offsets, groups)
                out[split] = (info["problem_type"], ids, info["labels"], types)
            return out
    except Exception:  # a damaged cache file costs a re-tokenisation, never a failed trial
        return None


def _unflatten(flat: list, offsets: list[int], groups: list[int] | None) -> list:
    """Sequences from one flat list cut at ``offsets`` (and grouped into choices at ``groups``)."""
    seqs = [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    if groups is not None:
        seqs = [seqs[groups[i] : groups[i + 1]] for i in range(len(groups) - 1)]
    return seqs


def _flat(nested: list, multichoice: bool) -> list:
    """The sequences of a split, each example's choices one after another for multiple choice."""
    return [s for choices in nested for s in choices] if multichoice else nested


def write_splits(path: Path, key: str, splits: dict) -> None:
    """Store {split: EncodedSplit} at ``path`` atomically (temporary file, then rename)."""
    from safetensors.numpy import save_file

    tensors: dict[str, np.ndarray] = {}
    body = {}
    for split, enc in splits.items():
        multichoice = bool(enc.input_ids) and isinstance(enc.input_ids[0][0], list)
        seqs = _flat(enc.input_ids, multichoice)
        count = sum(len(s) for s in seqs)
        tensors[f"{split}.ids"] = np.fromiter((t for s in seqs for t in s), np.int32, count)
        if enc.token_type_ids is not None:
            types = _flat(enc.token_type_ids, multichoice)
            tensors[f"{split}.types"] = np.fromiter((t for s in types for t in s), np.int8, count)
        tensors[f"{split}.offsets"] = np.cumsum([0] + [len(s) for s in seqs], dtype=np.int64)
        if multichoice:
            tensors[f"{split}.choices"] = np.cumsum(
                [0] + [len(c) for c in enc.input_ids], dtype=np.int64
            )
        body[split] = {
            "problem_type": enc.problem_type,
            "labels": enc.labels,
            "choices": multichoice,
            "types": enc.token_type_ids is not None,
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"key": key, "splits": json.dumps(body)})
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
