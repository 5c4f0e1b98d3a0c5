"""Validation helpers shared by sweep files' parts: collect problems with their key paths."""

from __future__ import annotations

import difflib
from typing import Any

RESOURCE_KEYS = {"cpu", "gpu"}

# Hyperparameters a sweep may set, with the defaults every method starts from.
TRAINING_DEFAULTS: dict[str, Any] = {
    "lr": 1e-4,
    "epochs": 30,
    "batch_size": 32,
    "max_length": None,  # None: the task's own (128; MultiRC 324; ReCoRD 256)
    "patience": 5,  # None: no early stopping, the best epoch is kept
    "warmup_ratio": 0.0,
    "weight_decay": 0.0,
    "select": "loss",  # what picks the best epoch on dev: "loss" or "score"
    "train_limit": None,  # subsample the train split to this many rows
    "max_steps": None,  # joint and few-shot runs count steps instead of epochs
    "eval_every": None,  # steps between dev evaluations when max_steps is set
    "reduction_factor": 16,
}


class Checker:
    """Collects problems with their key paths."""

    def __init__(self):
        self.problems: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}" if key else message)

    def mapping(self, value: Any, key: str) -> dict | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(key, f"expected a mapping, got {show(value)}")
            return None
        return value

    def known_keys(self, value: dict, allowed: set[str], key: str) -> None:
        for k in value:
            if k not in allowed:
                self.unknown_key(join(key, k), k, allowed)

    def unknown_key(self, path: str, k: Any, allowed: set[str]) -> None:
        """Report ``k`` at ``path`` as unknown, with the nearest allowed key or the whole list."""
        hint = difflib.get_close_matches(str(k), sorted(allowed), n=1)
        fix = f"did you mean {hint[0]!r}?" if hint else f"allowed: {', '.join(sorted(allowed))}"
        self.add(path, f"unknown key; {fix}")

    def seeds(self, value: Any, key: str) -> list[int] | None:
        if not isinstance(value, list) or not all(is_int(s) and s >= 0 for s in value):
            self.add(key, f"expected a list of non-negative integers, got {show(value)}")
            return None
        if not value:
            self.add(key, "the seed list is empty; give at least one seed, e.g. [0]")
            return None
        if len(set(value)) != len(value):
            self.add(key, f"seeds repeat: {value}")
        return list(value)

    def hparams(self, value: dict, key: str, extra: set[str] = frozenset()) -> dict:
        """Validate the hyperparameter keys of ``value``; returns only those."""
        out = {}
        for k, v in value.items():
            if k in extra:
                continue
            path = join(key, k)
            if k not in TRAINING_DEFAULTS:
                self.unknown_key(path, k, set(TRAINING_DEFAULTS) | extra)
                continue
            problem = check_hparam(k, v)
            if problem:
                self.add(path, problem)
            else:
                out[k] = float(v) if k in FLOAT_KEYS else v
        return out

    def resources(self, value: Any, key: str) -> dict | None:
        value = self.mapping(value, key)
        if value is None:
            return None
        self.known_keys(value, RESOURCE_KEYS, key)
        out = {}
        for k in RESOURCE_KEYS & set(value):
            v = value[k]
            if not is_number(v) or v < 0:
                self.add(join(key, k), f"expected a non-negative number, got {show(v)}")
            elif k == "gpu" and v > 1 and not float(v).is_integer():
                self.add(join(key, k), f"a fraction of a GPU must be at most 1, got {v}")
            else:
                out[k] = v
        return out


FLOAT_KEYS = {"lr", "warmup_ratio", "weight_decay"}


def check_hparam(key: str, v: Any) -> str | None:
    """A message when ``v`` is not a valid value for hyperparameter ``key``."""
    if key == "lr":
        return None if is_number(v) and v > 0 else f"expected a positive number, got {show(v)}"
    if key in ("epochs", "batch_size", "reduction_factor"):
        return None if is_int(v) and v > 0 else f"expected a positive integer, got {show(v)}"
    if key in ("max_length", "train_limit", "max_steps", "eval_every"):
        ok = v is None or (is_int(v) and v > 0)
        return None if ok else f"expected a positive integer or null, got {show(v)}"
    if key == "patience":
        ok = v is None or (is_int(v) and v > 0)
        return (
            None
            if ok
            else f"expected a positive integer, or null for no early stopping, got {show(v)}"
        )
    if key == "warmup_ratio":
        ok = is_number(v) and 0 <= v < 1
        return None if ok else f"expected a number in [0, 1), got {show(v)}"
    if key == "weight_decay":
        return None if is_number(v) and v >= 0 else f"expected a non-negative number, got {show(v)}"
    if key == "select":
        return None if v in ("loss", "score") else f"expected 'loss' or 'score', got {show(v)}"
    return None


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def show(v: Any) -> str:
    return f"{v!r} ({type(v).__name__})"


def join(key: str, sub: Any) -> str:
    return f"{key}.{sub}" if key else str(sub)
