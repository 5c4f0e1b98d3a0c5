"""Validation helpers shared by a sweep file's parts: collect problems with their key paths.

Hyperparameters are checked by the rules of ``orchestrator.contract.hparams`` (one definition of
each key's legal values), wherever in a sweep file the value stands.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from orchestrator.contract import hparams as hp
from orchestrator.contract.hparams import is_int, is_number, show
from orchestrator.contract.methods import ProbeSettings
from orchestrator.problems import Problem

RESOURCE_KEYS = {"cpu", "gpu"}
# Seeds go to numpy, which takes 0 .. 2**32 - 1 (torch and Python's random take more).
MAX_SEED = 2**32 - 1
# Ray Tune restarts a failed trial up to this many times; more is a typo, not a plan.
MAX_RETRIES = 100

__all__ = [
    "MAX_RETRIES",
    "MAX_SEED",
    "Checker",
    "is_int",
    "is_number",
    "join",
    "not_read",
    "not_read_by_any",
    "show",
]


class Checker:
    """Collects problems with their key paths; the same problem for several tasks is one."""

    def __init__(self):
        self._found: dict[tuple[str, str], list[str]] = {}

    def add(self, key: str, message: str, task: str | None = None) -> None:
        """Record a problem at ``key``; ``task``: the task it concerns, listed on its line."""
        tasks = self._found.setdefault((key, message), [])
        if task is not None and task not in tasks:
            tasks.append(task)

    @property
    def problems(self) -> list[str]:
        """Every problem as 'key: message (tasks: ...)'."""
        return [p.text for p in self.found("")]

    def found(self, where: str) -> list[Problem]:
        """Every problem, located in the file ``where``."""
        return [Problem(where, k, m, list(t)) for (k, m), t in self._found.items()]

    def keys(self) -> list[str]:
        """The key paths that have a problem."""
        return [k for k, _ in self._found]

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

    def unknown_key(self, path: str, k: Any, allowed: set[str], task: str | None = None) -> None:
        """Report ``k`` at ``path`` as unknown, with the nearest allowed key or the whole list."""
        if k in hp.FIELDS and hp.FIELDS[k].set_by == hp.PLANNER:
            # the planner sets a probe's omegas from the probing block, k and dev_limit from fewshot
            block = "probing" if hp.FIELDS[k].owner is ProbeSettings else "fewshot"
            self.add(path, f"{k!r} is set by the sweep's {block} block, not here", task)
            return
        hint = difflib.get_close_matches(str(k), sorted(allowed), n=1)
        fix = f"did you mean {hint[0]!r}?" if hint else f"allowed: {', '.join(sorted(allowed))}"
        self.add(path, f"unknown key; {fix}", task)

    def seed(self, value: Any, key: str) -> bool:
        """Whether ``value`` is a seed; a problem at ``key`` if not."""
        if is_seed(value):
            return True
        self.add(key, f"expected a seed, an integer in [0, {MAX_SEED}], got {show(value)}")
        return False

    def seeds(self, value: Any, key: str) -> list[int] | None:
        if not isinstance(value, list) or not all(is_seed(s) for s in value):
            bad = [s for s in value if not is_seed(s)] if isinstance(value, list) else value
            self.add(
                key,
                f"expected a list of seeds, non-negative integers up to {MAX_SEED}, "
                f"got {show(bad)}",
            )
            return None
        if not value:
            self.add(key, "the seed list is empty; give at least one seed, e.g. [0]")
            return None
        if len(set(value)) != len(value):
            self.add(key, f"seeds repeat: {value}")
        return list(value)

    def hparams(
        self, value: dict, key: str, extra: set[str] = frozenset(), reader: str | None = None
    ) -> dict:
        """Validate the hyperparameter keys of ``value``; returns only those, a ``numerics``
        preset expanded into its keys (the block's own keys win over it). ``reader``: the one
        method the block is for; a key it does not read is a problem, and left out."""
        out = {}
        if hp.NUMERICS_KEY in value:
            preset = value[hp.NUMERICS_KEY]
            if preset in hp.NUMERICS:
                out.update(hp.NUMERICS[preset])
            else:
                self.add(
                    join(key, hp.NUMERICS_KEY),
                    f"expected one of {', '.join(map(repr, hp.NUMERICS))}, got {show(preset)}",
                )
        for k, v in value.items():
            if k in extra or k == hp.NUMERICS_KEY:
                continue
            path = join(key, k)
            if k not in hp.SWEEP_KEYS:
                self.unknown_key(path, k, set(hp.SWEEP_KEYS) | extra | {hp.NUMERICS_KEY})
                continue
            if reader is not None and not hp.reads(reader, k):
                self.add(path, not_read(k, reader))
                continue
            problem = hp.check_value(k, v)
            if problem:
                self.add(path, problem)
            else:
                out[k] = hp.coerce(k, v)
        return out

    def resources(self, value: Any, key: str) -> dict | None:
        value = self.mapping(value, key)
        if value is None:
            return None
        self.known_keys(value, RESOURCE_KEYS, key)
        out = {}
        for k in sorted(RESOURCE_KEYS & set(value)):
            v = value[k]
            if k == "cpu" and not (is_number(v) and math.isfinite(v) and v > 0):
                self.add(
                    join(key, k),
                    f"expected a positive number of CPUs per trial (fractions allowed), "
                    f"got {show(v)}{hp.number_hint(v)}",
                )
            elif k == "gpu" and not (is_number(v) and math.isfinite(v) and v >= 0):
                self.add(
                    join(key, k),
                    f"expected a non-negative number of GPUs per trial, got {show(v)}"
                    f"{hp.number_hint(v)}",
                )
            elif k == "gpu" and v > 1 and not float(v).is_integer():
                self.add(join(key, k), f"a fraction of a GPU must be at most 1, got {v}")
            else:
                out[k] = v
        return out


def not_read(key: str, method: str) -> str:
    """What is wrong with ``key`` set for ``method``, which does not read it."""
    return f"{method} does not read {key!r}; it is read by {', '.join(hp.readers(key))}"


def not_read_by_any(key: str, methods: list[str]) -> str:
    """What is wrong with ``key`` set for all of ``methods``, none of which reads it."""
    return (
        f"none of this sweep's methods ({', '.join(methods)}) reads {key!r}; it is read by "
        + ", ".join(hp.readers(key))
    )


def is_seed(v: Any) -> bool:
    """An integer numpy can seed with."""
    return is_int(v) and 0 <= v <= MAX_SEED


def join(key: str, sub: Any) -> str:
    return f"{key}.{sub}" if key else str(sub)
