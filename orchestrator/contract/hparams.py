"""Every hyperparameter a trainer reads: its meaning, default and legal values, in one place.

``HParams`` holds the training keys every method reads, and in ``HParams.method`` the settings of
the node's own method: a dataclass of the catalogue (``orchestrator.contract.methods``, e.g.
``ScaLearnSettings``), one per family of methods, named by each method's entry. The sweep checker
derives from these dataclasses the keys a sweep file may set, how each is checked and which
methods read it (``FIELDS``, ``readers``): a key set on a method that does not read it is a
problem, not a silent no-op. The planner resolves a node's values into a plain dict of the keys its
method reads, and the trainers read them back as ``HParams`` (``from_dict``). A value is checked by
``check_value`` wherever it comes from (``training``, a method block, ``per_benchmark`` /
``per_task``, search bounds).

Node identity: the twelve keys the first version of the project had always enter a node's id; a
key added since enters it only when a node sets it to something other than its default, so adding
a knob never moves the id of a node that does not use it (``identity_hparams``). A node's id
covers only the keys its method reads.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, TypeVar

from orchestrator.contract.legal import (
    FRACTION,
    MAX_INT,
    NON_NEGATIVE,
    PLANNER,
    POSITIVE,
    POSITIVE_INT,
    POSITIVE_INT_OR_NULL,
    SWEEP,
    Field,
    Legal,
    fields_of,
    is_int,
    is_number,
    number_hint,
    show,
    table_lines,
)
from orchestrator.contract.legal import hparam as _hp
from orchestrator.contract.methods import METHODS, MethodSettings

# What other modules read from here (the rules of a value live in ``legal``).
__all__ = [
    "FIELDS",
    "MAX_INT",
    "NUMERICS",
    "NUMERICS_KEY",
    "PLANNER",
    "SHARED",
    "SWEEP",
    "SWEEP_KEYS",
    "Field",
    "HParams",
    "Legal",
    "check_value",
    "coerce",
    "defaults",
    "identity_hparams",
    "is_int",
    "is_number",
    "number_hint",
    "read_by",
    "readers",
    "reads",
    "reference_table",
    "reference_tables",
    "show",
]

S = TypeVar("S", bound=MethodSettings)


@dataclass(frozen=True)
class HParams:
    """The resolved hyperparameters of one node (defaults are the project's, not a method's): the
    training keys every method reads, and ``method``, the settings of the node's own method."""

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
    choice_head: str = _hp(
        "two_layer",
        Legal(str, choices=("two_layer", "pooler")),
        "multiple-choice heads (COPA): two layers on the <s> token, or the backbone's "
        "pre-trained pooler and one linear layer (the official stage two and Full FT)",
    )
    k: int | None = _hp(
        None, POSITIVE_INT_OR_NULL, "few-shot: train rows of the target task", set_by=PLANNER
    )
    dev_limit: int | None = _hp(
        None, POSITIVE_INT_OR_NULL, "few-shot: dev rows kept (the first ones)", set_by=PLANNER
    )
    # the node's own method's settings (None: a method that reads only the keys above); not a key
    method: MethodSettings | None = None

    @classmethod
    def from_dict(cls, values: dict, method: str | None = None) -> HParams:
        """Typed values from a node's hparams dict; ``method``: the node's method, whose own
        settings the dict holds (defaults where it lacks them). Unknown keys are an error; keys
        of other methods' settings are dropped, since this method never read them (a node of
        the first version held every key)."""
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown hyperparameters {unknown}; known: {', '.join(FIELDS)}")
        own = METHODS[method].settings if method is not None else None
        foreign = sorted(k for k in values if k not in SHARED and FIELDS[k].owner is not own)
        if foreign and method is None:
            raise ValueError(f"{foreign} are a method's own settings: name the node's method")
        settings = own(**{k: values[k] for k in _keys(own) if k in values}) if own else None
        return cls(**{k: v for k, v in values.items() if k in SHARED}, method=settings)

    def to_dict(self) -> dict:
        """Every value, the shared keys in the field order, then the method's own settings."""
        out = {name: getattr(self, name) for name in SHARED}
        if self.method is not None:
            out.update({f.name: getattr(self.method, f.name) for f in fields(self.method)})
        return out

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, shared or the method's own; ``default`` when the node's method
        does not read it."""
        if key in SHARED:
            return getattr(self, key)
        if self.method is not None and key in {f.name for f in fields(self.method)}:
            return getattr(self.method, key)
        return default

    def settings(self, kind: type[S]) -> S:
        """The method's own settings, as the ``kind`` its trainer reads; TypeError when the node's
        method has other settings (a trainer of another method)."""
        if not isinstance(self.method, kind):
            held = type(self.method).__name__ if self.method is not None else "no settings"
            raise TypeError(f"these hyperparameters hold {held}, not {kind.__name__}")
        return self.method


def _keys(settings: type[MethodSettings] | None) -> tuple[str, ...]:
    """The keys a settings class declares (none for None)."""
    return tuple(n for n, f in FIELDS.items() if settings is not None and f.owner is settings)


def _families() -> list[type[MethodSettings]]:
    """Every settings class of the catalogue once, in the catalogue's order."""
    return list(dict.fromkeys(m.settings for m in METHODS.values() if m.settings is not None))


def _all_fields() -> dict[str, Field]:
    """The shared keys, then each family's; a key declared twice is a bug in the declarations."""
    out = fields_of(HParams)
    for family in _families():
        for name, f in fields_of(family).items():
            if name in out:
                first = out[name].owner.__name__
                raise TypeError(f"{name!r} is declared by {first} and {family.__name__}")
            out[name] = f
    return out


FIELDS: dict[str, Field] = _all_fields()
SHARED: tuple[str, ...] = tuple(fields_of(HParams))  # the keys every method reads
SWEEP_KEYS: tuple[str, ...] = tuple(n for n, f in FIELDS.items() if f.set_by == SWEEP)

# ``numerics: NAME`` in a hyperparameter block sets these keys at once; a key the same block sets
# itself wins. "reference": as the official runs (fp16, every batch padded to max_length, random
# batches); "project": the defaults (faster, the same model).
NUMERICS_KEY = "numerics"
NUMERICS: dict[str, dict[str, Any]] = {
    "reference": {"precision": "fp16", "padding": "max_length", "group_by_length": False},
    "project": {name: FIELDS[name].default for name in ("precision", "padding", "group_by_length")},
}


def reads(method: str, key: str) -> bool:
    """Whether ``method`` reads hyperparameter ``key`` (a shared key, or one of its settings)."""
    return key in SHARED or FIELDS[key].owner is METHODS[method].settings


def readers(key: str) -> list[str]:
    """The methods that read ``key``, in the catalogue's order."""
    return [name for name in METHODS if reads(name, key)]


def defaults(method: str | None = None) -> dict:
    """The default of every sweep-settable key ``method`` reads (of every one without it)."""
    return {n: FIELDS[n].default for n in SWEEP_KEYS if method is None or reads(method, n)}


def read_by(method: str, values: dict) -> dict:
    """The values of the keys ``method`` reads (a shared block's values for one method)."""
    return {k: v for k, v in values.items() if reads(method, k)}


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
    """The README's reference of the training keys every method reads, as Markdown table lines
    (a test keeps the README equal to it)."""
    return table_lines([FIELDS[n] for n in SHARED if FIELDS[n].set_by == SWEEP])


def reference_tables() -> dict[str, list[str]]:
    """The README's reference of every sweep key, one Markdown table per group: the training keys
    (every method), then each family's own settings, titled with the methods that read them."""
    tables = {"Training (every method)": reference_table()}
    for family in _families():
        declared = [f for f in fields_of(family).values() if f.set_by == SWEEP]
        if declared:
            methods = [m.name for m in METHODS.values() if m.settings is family]
            tables[f"{family.title} ({', '.join(methods)})"] = table_lines(declared)
    return tables
