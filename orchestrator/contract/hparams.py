"""Every hyperparameter a trainer reads: its meaning, default and legal values, in one place.

``HParams`` is the single definition. The sweep checker derives the keys a sweep file may set, and
how each is checked, from it (``FIELDS``); the planner resolves a node's values into a plain dict
and the trainers read them back as ``HParams``. A value is checked by ``check_value`` wherever it
comes from (``training``, a method block, ``per_benchmark`` / ``per_task``, search bounds).

Node identity: the twelve keys the first version of the project had always enter a node's id; a
key added since enters it only when a node sets it to something other than its default, so adding
a knob never moves the id of a node that does not use it (``identity_hparams``).
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


def _hp(default: Any, legal: Legal, doc: str, *, always_in_id: bool = False, set_by: str = SWEEP):
    return field(
        default=default,
        metadata={"legal": legal, "doc": doc, "always_in_id": always_in_id, "set_by": set_by},
    )


@dataclass(frozen=True)
class HParams:
    """The resolved hyperparameters of one node (defaults are the project's, not a method's)."""

    lr: float = _hp(1e-4, POSITIVE, "peak learning rate of AdamW", always_in_id=True)
    epochs: int = _hp(30, POSITIVE_INT, "training epochs (without max_steps)", always_in_id=True)
    batch_size: int = _hp(32, POSITIVE_INT, "examples per training step", always_in_id=True)
    max_length: int | None = _hp(
        None,
        POSITIVE_INT_OR_NULL,
        "tokens per sequence; null: the task's own (128; MultiRC 324; ReCoRD 256), in a joint "
        "node each task's own",
        always_in_id=True,
    )
    patience: int | None = _hp(
        5,
        POSITIVE_INT_OR_NULL,
        "early-stopping patience in evaluations; null: none, keep the best epoch",
        always_in_id=True,
    )
    warmup_ratio: float = _hp(
        0.0, FRACTION, "share of the steps with a linear warmup", always_in_id=True
    )
    weight_decay: float = _hp(0.0, NON_NEGATIVE, "AdamW weight decay", always_in_id=True)
    select: str = _hp(
        "loss",
        Legal(str, choices=("loss", "score")),
        "what picks the best evaluation on dev: the dev loss or the task's dev score (STS-B: "
        "Pearson; MRPC, QQP, CB: accuracy, as the official few-shot scripts)",
        always_in_id=True,
    )
    train_limit: int | None = _hp(
        None,
        POSITIVE_INT_OR_NULL,
        "keep at most this many train rows (the first of the 90/10 split's train part)",
        always_in_id=True,
    )
    max_steps: int | None = _hp(
        None,
        POSITIVE_INT_OR_NULL,
        "train this many steps instead of epochs (joint and few-shot runs)",
        always_in_id=True,
    )
    eval_every: int | None = _hp(
        None,
        POSITIVE_INT_OR_NULL,
        "with max_steps: steps between dev evaluations; null: once per epoch",
        always_in_id=True,
    )
    reduction_factor: int = _hp(
        16,
        POSITIVE_INT,
        "adapter and Compacter++ bottleneck: hidden size / this",
        always_in_id=True,
    )
    precision: str = _hp(
        "bf16",
        Legal(str, choices=("bf16", "fp16", "fp32")),
        "mixed precision on GPUs (fp16 with loss scaling); CPUs always train in fp32",
    )
    padding: str = _hp(
        "dynamic",
        Legal(str, choices=("dynamic", "max_length")),
        "pad each batch to its longest sequence, or every batch to max_length",
    )
    group_by_length: bool = _hp(
        True,
        Legal(bool),
        "training batches of similar length (random groups in random order)",
    )
    max_grad_norm: float | None = _hp(
        1.0, Legal(float, low=0, low_open=True, nullable=True), "gradient clipping; null: none"
    )
    eval_batch_size: int | None = _hp(
        None, POSITIVE_INT_OR_NULL, "examples per evaluation step; null: twice batch_size"
    )
    omega_dropout: float | None = _hp(
        None,
        Legal(float, low=0, high=1, nullable=True),
        "ScaLearn: dropout on the scaling factors; null: the variant's own (0.3; "
        "ScaLearnUniform++ 0)",
    )
    phm_dim: int | None = _hp(
        None, POSITIVE_INT_OR_NULL, "Compacter++: PHM dimension; null: the library's default (4)"
    )
    fusion_config: str = _hp(
        "dynamic",
        Legal(str, choices=("dynamic", "static")),
        "AdapterFusion: the adapters library's fusion configuration",
    )
    choice_head: str = _hp(
        "two_layer",
        Legal(str, choices=("two_layer", "pooler")),
        "multiple-choice heads (COPA): two layers on the <s> token, or the backbone's "
        "pre-trained pooler and one linear layer (the official stage two and Full FT)",
    )
    fusion_reg_weight: float = _hp(
        0.01,
        NON_NEGATIVE,
        "AdapterFusion: weight of the regulariser pulling the value matrices to the identity "
        "(squared distance), added to each step's loss; the official trainer's acts one step "
        "late, under fp16 at 1/loss scale",
    )
    sparsity: float = _hp(
        0.5,
        Legal(float, low=0, high=1, low_open=True, high_closed=True),
        "ProPETL: share of each prototype matrix a mask KEEPS, as the reference code's "
        "--sparsity (0.3 keeps 30 %)",
    )
    mask_lr: float | None = _hp(
        None,
        Legal(float, low=0, low_open=True, nullable=True),
        "ProPETL: peak learning rate of the mask scores (same schedule as lr); "
        "null: lr x mask_lr_ratio",
    )
    mask_lr_ratio: float = _hp(
        10.0, POSITIVE, "ProPETL: with mask_lr null, the mask scores learn at lr x this"
    )
    mask_training: str = _hp(
        "learned",
        Legal(str, choices=("learned", "frozen")),
        "ProPETL: masks learned (straight-through), or kept at their random init as the "
        "ScaLearn authors' single-task runs had them",
    )
    task_embedding_dim: int = _hp(
        512, POSITIVE_INT, "HyperFormer: size of each task's (and, ++, each layer's) embedding"
    )
    task_hidden_dim: int = _hp(
        128, POSITIVE_INT, "HyperFormer: hidden size of the MLP that projects the embedding"
    )
    projected_task_embedding_dim: int = _hp(
        64, POSITIVE_INT, "HyperFormer: size of the projected embedding the generators read"
    )
    k: int | None = _hp(
        None, POSITIVE_INT_OR_NULL, "few-shot: train rows of the target task", set_by=PLANNER
    )
    dev_limit: int | None = _hp(
        None, POSITIVE_INT_OR_NULL, "few-shot: dev rows kept (the first ones)", set_by=PLANNER
    )
    probe_omegas: list[float] | None = _hp(
        None,
        Legal(float, nullable=True),
        "probing: the fixed scale of each source adapter's output, in the node's source order",
        set_by=PLANNER,
    )

    @classmethod
    def from_dict(cls, values: dict) -> HParams:
        """Typed values from a node's hparams dict; unknown keys are an error, not ignored."""
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown hyperparameters {unknown}; known: {', '.join(FIELDS)}")
        return cls(**{k: v for k, v in values.items()})

    def to_dict(self) -> dict:
        """Every value, in the field order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Field:
    """One hyperparameter as the checker and the docs see it."""

    name: str
    default: Any
    legal: Legal
    doc: str
    always_in_id: bool
    set_by: str


FIELDS: dict[str, Field] = {
    f.name: Field(
        f.name,
        f.default if f.default is not MISSING else None,
        f.metadata["legal"],
        f.metadata["doc"],
        f.metadata["always_in_id"],
        f.metadata["set_by"],
    )
    for f in fields(HParams)
}
SWEEP_KEYS: tuple[str, ...] = tuple(n for n, f in FIELDS.items() if f.set_by == SWEEP)

# ``numerics: NAME`` in a hyperparameter block sets these keys at once; a key the same block sets
# itself wins. "reference": as the official runs (fp16, every batch padded to max_length, random
# batches); "project": the defaults (faster, the same model).
NUMERICS_KEY = "numerics"
NUMERICS: dict[str, dict[str, Any]] = {
    "reference": {"precision": "fp16", "padding": "max_length", "group_by_length": False},
    "project": {name: FIELDS[name].default for name in ("precision", "padding", "group_by_length")},
}


def defaults() -> dict:
    """The default of every sweep-settable key."""
    return {n: FIELDS[n].default for n in SWEEP_KEYS}


def check_value(key: str, value: Any) -> str | None:
    """None when ``value`` is legal for hyperparameter ``key``, else what is wrong."""
    return FIELDS[key].legal.check(value)


def coerce(key: str, value: Any) -> Any:
    """The value as stored for ``key`` (floats for float keys)."""
    return FIELDS[key].legal.coerce(value)


def identity_hparams(resolved: dict) -> dict:
    """The part of a node's hyperparameters that enters its id (see the module doc)."""
    return {
        k: v
        for k, v in resolved.items()
        if k not in FIELDS or FIELDS[k].always_in_id or v != FIELDS[k].default
    }


def reference_table() -> list[str]:
    """The README's reference of every sweep key, as Markdown table lines (a test keeps the
    README equal to it)."""
    lines = ["| key | default | legal values | meaning |", "|---|---|---|---|"]
    for name in SWEEP_KEYS:
        f = FIELDS[name]
        lines.append(f"| `{name}` | `{_yaml(f.default)}` | {f.legal.describe()} | {f.doc} |")
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
