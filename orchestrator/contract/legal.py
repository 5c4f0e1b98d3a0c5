"""How a hyperparameter is declared and checked: its legal values, default, meaning and identity.

``hparam`` declares one as a dataclass field (``HParams``' shared training keys in
``orchestrator.contract.hparams``, each method family's own settings beside its catalogue entry in
``orchestrator.contract.methods``); ``fields_of`` reads the declarations back for the checker, node
identity and the docs. This module imports nothing of the project, so both can build on it.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Legal:
    """The legal values of one hyperparameter."""

    kind: type  # int, float, str or bool
    low: float | None = None  # smallest legal value (included unless low_open)
    high: float | None = None  # largest legal value (excluded unless high_closed)
    low_open: bool = False
    high_closed: bool = False
    choices: tuple = ()
    nullable: bool = False

    def describe(self) -> str:
        """What a legal value is, in words (error messages, the README's reference)."""
        if len(self.choices) == 2:
            text = " or ".join(repr(c) for c in self.choices)
        elif self.choices:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind is bool:
            text = "true or false"
        else:
            noun = "integer" if self.kind is int else "number"
            text = _range_words(noun, self)
        return f"{text}, or null" if self.nullable else text

    def check(self, value: Any) -> str | None:
        """None when ``value`` is legal, else what is wrong with it."""
        if value is None:
            return None if self.nullable else f"expected {self.describe()}, got null"
        if self.choices:
            return (
                None if value in self.choices else f"expected {self.describe()}, got {show(value)}"
            )
        if self.kind is bool:
            return None if isinstance(value, bool) else f"expected true or false, got {show(value)}"
        if self.kind is str:
            return None if isinstance(value, str) else f"expected a string, got {show(value)}"
        ok_type = is_int(value) if self.kind is int else is_number(value)
        if not ok_type:
            hint = number_hint(value)
            if self.kind is int and isinstance(value, float) and value.is_integer():
                hint = f" (write it without a decimal point: {int(value)})"
            return f"expected {self.describe()}, got {show(value)}{hint}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"expected {self.describe()}, got {value} (not a finite number)"
        if isinstance(value, int) and abs(value) > MAX_INT:
            return f"expected {self.describe()}, got {show(value)} (beyond a 64-bit integer)"
        if not _in_range(value, self):
            return f"expected {self.describe()}, got {value}"
        return None

    def coerce(self, value: Any) -> Any:
        """The value as it is stored: floats for float keys (``1`` -> ``1.0``), else unchanged."""
        if value is not None and self.kind is float and not isinstance(value, bool):
            return float(value)
        return value


def _range_words(noun: str, legal: Legal) -> str:
    lo, hi = legal.low, legal.high
    if lo == 0 and legal.low_open and hi is None:
        return f"a positive {noun}"
    if lo == 1 and hi is None and noun == "integer":
        return "a positive integer"
    if lo == 0 and not legal.low_open and hi is None:
        return f"a non-negative {noun}"
    left = "(" if legal.low_open else "["
    right = "]" if legal.high_closed else ")"
    return f"a {noun} in {left}{_num(lo)}, {_num(hi)}{right}"


def _num(v: float | None) -> str:
    if v is None:
        return "inf"
    return str(int(v)) if float(v).is_integer() else str(v)


def _in_range(v: float, legal: Legal) -> bool:
    if legal.low is not None and (v <= legal.low if legal.low_open else v < legal.low):
        return False
    if legal.high is not None and (v > legal.high if legal.high_closed else v >= legal.high):
        return False
    return True


def number_hint(value: Any) -> str:
    """A hint for a number YAML read as a string (``1e-3``: YAML 1.1 wants a dot), else ''."""
    if isinstance(value, str) and _reads_as_number(value):
        return f" (YAML reads {value} as a string: write it with a dot, e.g. 1.0e-3)"
    return ""


def _reads_as_number(text: str) -> bool:
    """A string YAML 1.1 leaves unread that is a finite number in other notations (1e-3)."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def is_int(v: Any) -> bool:
    """An integer that is not a bool."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """An int or float that is not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def show(v: Any, limit: int = 80) -> str:
    """A value and its type, for messages; a long value cut to ``limit`` characters."""
    text = repr(v)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(v).__name__})"


# Integers beyond 64 bits fit no tensor, array or counter a trainer uses.
MAX_INT = 2**63 - 1


POSITIVE_INT = Legal(int, low=1)
POSITIVE_INT_OR_NULL = Legal(int, low=1, nullable=True)
POSITIVE = Legal(float, low=0, low_open=True)
NON_NEGATIVE = Legal(float, low=0)
FRACTION = Legal(float, low=0, high=1)  # [0, 1)

# Where a key may be set: in a sweep's training blocks, or only by the planner (few-shot's k).
SWEEP, PLANNER = "sweep", "planner"


def hparam(
    default: Any, legal: Legal, doc: str, *, always_in_id: bool = False, set_by: str = SWEEP
) -> Any:
    """A hyperparameter as a dataclass field: its default, legal values and meaning; whether it
    enters every node id (``always_in_id``: the first version's twelve keys) or only where it
    differs from its default; who sets it (a sweep file, or the planner)."""
    return field(
        default=default,
        metadata={"legal": legal, "doc": doc, "always_in_id": always_in_id, "set_by": set_by},
    )


@dataclass(frozen=True)
class Field:
    """One hyperparameter as the checker and the docs see it."""

    name: str
    default: Any
    legal: Legal
    doc: str
    always_in_id: bool
    set_by: str
    owner: type  # the dataclass that declares it: HParams, or a method family's settings


def fields_of(cls: type) -> dict[str, Field]:
    """The hyperparameters a dataclass declares with ``hparam``, in its field order (fields
    declared otherwise, such as ``HParams.method``, are not hyperparameters)."""
    return {
        f.name: Field(
            f.name,
            f.default if f.default is not MISSING else None,
            f.metadata["legal"],
            f.metadata["doc"],
            f.metadata["always_in_id"],
            f.metadata["set_by"],
            cls,
        )
        for f in fields(cls)
        if "legal" in f.metadata
    }


def table_lines(declared: list[Field]) -> list[str]:
    """Markdown table lines (a header, its rule, one row per key) of some hyperparameters."""
    lines = ["| key | default | legal values | meaning |", "|---|---|---|---|"]
    for f in declared:
        lines.append(f"| `{f.name}` | `{_yaml(f.default)}` | {f.legal.describe()} | {f.doc} |")
    return lines


def _yaml(value: Any) -> str:
    """A value as a sweep file writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.1e}" if value and abs(value) < 1e-2 else repr(value)
        return text.replace("e-0", "e-")
    return str(value)
