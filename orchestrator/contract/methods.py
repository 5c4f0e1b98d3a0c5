"""The method catalogue: every method a sweep can name, each as ONE entry.

An entry says what the method is (kind, the paper's table group and name, in the paper's row
order), the paper's hyperparameters for it, its relative cost, how its parameters are counted,
which implementation in ``trainables`` builds it and which settings of its own it reads beyond
the shared training keys (``settings``: a ``MethodSettings`` dataclass, one per family of
methods). Spec checking, planning, the cost model, the trainers, the tables and ``params`` all
read this catalogue; nothing else names methods.

Adding a method: one entry here and the method's own module under ``trainables/methods/``; its
own hyperparameters are the fields of its settings class here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, ClassVar

from orchestrator.contract.legal import (
    NON_NEGATIVE,
    PLANNER,
    POSITIVE,
    POSITIVE_INT,
    POSITIVE_INT_OR_NULL,
    Legal,
    hparam,
)


class Kind(str, Enum):
    """How a node of a method trains: alone, over frozen sources, or on all tasks at once."""

    STL = "stl"  # stage one: one task
    TRANSFER = "transfer"  # stage two: one target over the frozen stage-one adapters of all tasks
    JOINT = "joint"  # joint multi-task: one model, a head per task
    PROBE = "probe"  # a new head over frozen source adapters scaled by fixed omegas (probing)

    def __str__(self) -> str:
        return self.value

    @property
    def has_sources(self) -> bool:
        """Whether a node of this kind stands on frozen stage-one adapters (its ``sources``)."""
        return self in (Kind.TRANSFER, Kind.PROBE)


# The paper's table groups, in its order.
GROUPS: dict[Kind, str] = {
    Kind.STL: "STL",
    Kind.JOINT: "Joint MTL",
    Kind.TRANSFER: "Two-stage transfer",
    Kind.PROBE: "Probing",
}


@dataclass(frozen=True)
class Arch:
    """What a parameter formula needs to know of a backbone (read from its config)."""

    layers: int
    hidden: int
    intermediate: int
    vocab: int
    positions: int
    type_vocab: int


# (architecture, number of sources or tasks, hyperparameters) -> parameters
Formula = Callable[[Arch, int, Mapping[str, Any]], int]


@dataclass(frozen=True)
class MethodSettings:
    """The hyperparameters one family of methods reads beyond the shared training keys of
    ``HParams``: each field is declared with ``hparam`` (legal values, default, meaning). A node
    carries, and its id covers, only its own method's settings; a sweep that sets a key on a
    method that does not read it is told so."""

    title: ClassVar[str]  # the family's name in the docs' reference tables


@dataclass(frozen=True)
class Method:
    """One method of the catalogue."""

    name: str
    kind: Kind
    display: str  # the paper's name for it, as its tables (and the reference CSV) print it
    defaults: Mapping[str, Any]  # the paper's hyperparameters (reference code), over HParams'
    cost_factor: float  # compute per training example relative to full fine-tuning
    implementation: str  # "module:Class" in trainables that builds its model
    # What the paper counts for it: "transfer" (the transfer layer alone) or "trainable"
    counted: str
    # Analytic count of what ``counted`` names, heads excluded (checked against the real model)
    formula: Formula
    options: Mapping[str, Any] = field(default_factory=dict)  # the implementation's settings
    family: str = ""  # methods that are variants of one idea share it (figures colour by it)
    # the hyperparameters of its own that the method reads (None: only the shared ones)
    settings: type[MethodSettings] | None = None

    def __post_init__(self) -> None:
        if not self.family:
            object.__setattr__(self, "family", self.name)

    @property
    def group(self) -> str:
        """The paper's table group."""
        return GROUPS[self.kind]


def _bottleneck(a: Arch, rf: int) -> int:
    """One ``seq_bn`` adapter in one layer: down and up projections with biases."""
    r = a.hidden // rf
    return 2 * a.hidden * r + r + a.hidden


def _adapter(a: Arch, n: int, hp: Mapping[str, Any]) -> int:
    return a.layers * _bottleneck(a, int(hp.get("reduction_factor") or 16))


def _compacter_pp(a: Arch, n: int, hp: Mapping[str, Any]) -> int:
    # PHM layers with the adapters library's defaults (rank-1 factorised weights, one 4x4x4 rule
    # shared by every layer): W_down is h + r numbers, W_up r + h, plus both biases
    p = int(hp.get("phm_dim") or 4)
    r = a.hidden // int(hp.get("reduction_factor") or 16)
    return a.layers * 3 * (a.hidden + r) + p**3


def _full(a: Arch, n: int, hp: Mapping[str, Any]) -> int:
    h, i = a.hidden, a.intermediate
    embeddings = (a.vocab + a.positions + a.type_vocab) * h + 2 * h
    layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h
    return embeddings + a.layers * layer  # the pooler stays frozen: heads read <s>


def _scalearn(vector: bool, shared: bool) -> Formula:
    def formula(a: Arch, n: int, hp: Mapping[str, Any]) -> int:
        per_layer = n * (a.hidden if vector else 1)
        return per_layer if shared else per_layer * a.layers

    return formula


def _head_only(a: Arch, n: int, hp: Mapping[str, Any]) -> int:
    return 0  # only a new head trains, and heads are not counted here


def _propetl(joint: bool) -> Formula:
    # One prototype adapter for every layer; mask scores of its two weight matrices per layer
    # (ProPETL) or per layer and per task (ProPETL-m: a task's mask is shared across layers, a
    # layer's across tasks). The paper counts the scores as parameters.
    def formula(a: Arch, n: int, hp: Mapping[str, Any]) -> int:
        rf = int(hp.get("reduction_factor") or 16)
        scores = 2 * a.hidden * (a.hidden // rf)
        return _bottleneck(a, rf) + (a.layers + (n if joint else 0)) * scores

    return formula


def _hyperformer(shared: bool) -> Formula:
    # Task embeddings (plus layer embeddings for ++) -> MLP -> LayerNorm -> generators of one
    # layer's adapter (down and up weights and biases) and of the layer norm on its output; one
    # generator per layer (HyperFormer) or one for all layers (HyperFormer++)
    def formula(a: Arch, n: int, hp: Mapping[str, Any]) -> int:
        e = int(hp["task_embedding_dim"])
        h = int(hp["task_hidden_dim"])
        p = int(hp["projected_task_embedding_dim"])
        d, r = a.hidden, a.hidden // int(hp.get("reduction_factor") or 16)
        embeddings = n * e + (a.layers * e if shared else 0)
        projector = (2 * e if shared else e) * h + h + h * p + p + 2 * p
        generator = (p + 1) * (2 * d * r + r + d + 2 * d)
        return embeddings + projector + generator * (1 if shared else a.layers)

    return formula


def _adapter_fusion(a: Arch, n: int, hp: Mapping[str, Any]) -> int:
    # "dynamic": query and key projections of the hidden size with biases, and a value
    # projection without, per layer
    return a.layers * (3 * a.hidden * a.hidden + 2 * a.hidden)


# Each family's own settings, beside its entries below; a field's name is its key in sweep files,
# node hparams and result rows.


@dataclass(frozen=True)
class ScaLearnSettings(MethodSettings):
    """What every ScaLearn variant reads."""

    title: ClassVar[str] = "ScaLearn"
    omega_dropout: float | None = hparam(
        None,
        Legal(float, low=0, high=1, nullable=True),
        "ScaLearn: dropout on the scaling factors; null: the variant's own (0.3; "
        "ScaLearnUniform++ 0)",
    )


@dataclass(frozen=True)
class CompacterSettings(MethodSettings):
    """What Compacter++ reads beyond the shared reduction factor."""

    title: ClassVar[str] = "Compacter++"
    phm_dim: int | None = hparam(
        None, POSITIVE_INT_OR_NULL, "Compacter++: PHM dimension; null: the library's default (4)"
    )


@dataclass(frozen=True)
class FusionSettings(MethodSettings):
    """What AdapterFusion reads."""

    title: ClassVar[str] = "AdapterFusion"
    fusion_config: str = hparam(
        "dynamic",
        Legal(str, choices=("dynamic", "static")),
        "AdapterFusion: the adapters library's fusion configuration",
    )
    fusion_reg_weight: float = hparam(
        0.01,
        NON_NEGATIVE,
        "AdapterFusion: weight of the regulariser pulling the value matrices to the identity "
        "(squared distance), added to each step's loss; the official trainer's acts one step "
        "late, under fp16 at 1/loss scale",
    )


@dataclass(frozen=True)
class ProPETLSettings(MethodSettings):
    """What ProPETL and ProPETL-m read: the masks over their prototype."""

    title: ClassVar[str] = "ProPETL"
    sparsity: float = hparam(
        0.5,
        Legal(float, low=0, high=1, low_open=True, high_closed=True),
        "ProPETL: share of each prototype matrix a mask KEEPS, as the reference code's "
        "--sparsity (0.3 keeps 30 %)",
    )
    mask_lr: float | None = hparam(
        None,
        Legal(float, low=0, low_open=True, nullable=True),
        "ProPETL: peak learning rate of the mask scores (same schedule as lr); "
        "null: lr x mask_lr_ratio",
    )
    mask_lr_ratio: float = hparam(
        10.0, POSITIVE, "ProPETL: with mask_lr null, the mask scores learn at lr x this"
    )
    mask_training: str = hparam(
        "learned",
        Legal(str, choices=("learned", "frozen")),
        "ProPETL: masks learned (straight-through), or kept at their random init as the "
        "ScaLearn authors' single-task runs had them",
    )


@dataclass(frozen=True)
class HyperFormerSettings(MethodSettings):
    """What HyperFormer and HyperFormer++ read: the sizes of the hypernetwork's embeddings."""

    title: ClassVar[str] = "HyperFormer"
    task_embedding_dim: int = hparam(
        512, POSITIVE_INT, "HyperFormer: size of each task's (and, ++, each layer's) embedding"
    )
    task_hidden_dim: int = hparam(
        128, POSITIVE_INT, "HyperFormer: hidden size of the MLP that projects the embedding"
    )
    projected_task_embedding_dim: int = hparam(
        64, POSITIVE_INT, "HyperFormer: size of the projected embedding the generators read"
    )


@dataclass(frozen=True)
class ProbeSettings(MethodSettings):
    """What a probe reads: its omegas, which the planner sets from the sweep's probing block."""

    title: ClassVar[str] = "Probing"
    probe_omegas: list[float] | None = hparam(
        None,
        Legal(float, nullable=True),
        "probing: the fixed scale of each source adapter's output, in the node's source order",
        set_by=PLANNER,
    )


_JOINT = {"warmup_ratio": 0.1, "patience": 10}
_HYPERFORMER = {
    "lr": 3e-4,
    **_JOINT,
    "reduction_factor": 16,
    "task_embedding_dim": 512,
    "task_hidden_dim": 128,
    "projected_task_embedding_dim": 64,
}
_SCALEARN_DEFAULTS = {"lr": 6e-3, "patience": None}
_SCALEARN = "trainables.methods.scalearn:ScaLearn"

# In the paper's row order within each group (the order of the tables' rows).
_CATALOGUE = (
    Method(
        name="full_ft",
        kind=Kind.STL,
        display="Full FT",
        defaults={"lr": 2e-5},
        cost_factor=1.0,
        implementation="trainables.methods.full:FullFineTuning",
        counted="trainable",
        formula=_full,
    ),
    Method(
        name="adapter",
        kind=Kind.STL,
        display="Adapter",
        defaults={"lr": 3e-4, "reduction_factor": 16},
        cost_factor=0.7,
        implementation="trainables.methods.adapter:Adapter",
        counted="trainable",
        formula=_adapter,
    ),
    Method(
        name="propetl",
        kind=Kind.STL,
        display="ProPETL",
        defaults={
            "lr": 1e-3,
            "mask_lr": 5e-3,
            "sparsity": 0.5,
            "weight_decay": 0.1,
            "reduction_factor": 16,
        },
        cost_factor=0.7,
        implementation="trainables.methods.propetl:ProPETL",
        counted="trainable",
        formula=_propetl(joint=False),
        # the reference code stores single-task scores transposed: its kaiming bounds are
        # 1/sqrt(out features) of each weight, the joint code's 1/sqrt(in features)
        options={"task_masks": False, "score_fan": "out"},
        settings=ProPETLSettings,
    ),
    Method(
        name="compacter_pp",
        kind=Kind.STL,
        display="Compacter++",
        defaults={"lr": 3e-3, "reduction_factor": 16},
        cost_factor=0.75,
        implementation="trainables.methods.compacter:CompacterPlusPlus",
        counted="trainable",
        formula=_compacter_pp,
        settings=CompacterSettings,
    ),
    Method(
        name="full_ft_m",
        kind=Kind.JOINT,
        display="Full FT-m",
        defaults={"lr": 2e-5, **_JOINT},
        cost_factor=1.0,
        implementation="trainables.methods.full:FullFineTuning",
        counted="trainable",
        formula=_full,
    ),
    Method(
        name="adapter_m",
        kind=Kind.JOINT,
        display="Adapter-m",
        defaults={"lr": 3e-4, **_JOINT, "reduction_factor": 16},
        cost_factor=0.7,
        implementation="trainables.methods.adapter:Adapter",
        counted="trainable",
        formula=_adapter,
        options={"shared_name": "joint"},  # one adapter for every task, saved without heads
    ),
    Method(
        name="propetl_m",
        kind=Kind.JOINT,
        display="ProPETL-m",
        defaults={
            "lr": 3e-4,
            **_JOINT,
            "reduction_factor": 16,
            "sparsity": 0.3,
            "mask_lr_ratio": 10.0,
        },
        cost_factor=0.7,
        implementation="trainables.methods.propetl:ProPETL",
        counted="trainable",
        formula=_propetl(joint=True),
        options={"task_masks": True, "score_fan": "in"},
        family="propetl",
        settings=ProPETLSettings,
    ),
    Method(
        name="hyperformer",
        kind=Kind.JOINT,
        display="HyperFormer",
        defaults=_HYPERFORMER,
        cost_factor=0.75,
        implementation="trainables.methods.hyperformer:HyperFormer",
        counted="trainable",
        formula=_hyperformer(shared=False),
        options={"shared_generator": False},
        settings=HyperFormerSettings,
    ),
    Method(
        name="hyperformer_pp",
        kind=Kind.JOINT,
        display="HyperFormer++",
        defaults=_HYPERFORMER,
        cost_factor=0.75,
        implementation="trainables.methods.hyperformer:HyperFormer",
        counted="trainable",
        formula=_hyperformer(shared=True),
        options={"shared_generator": True},
        family="hyperformer",
        settings=HyperFormerSettings,
    ),
    Method(
        name="adapter_fusion",
        kind=Kind.TRANSFER,
        display="AdapterFusion",
        defaults={"lr": 5e-5},
        cost_factor=1.3,
        implementation="trainables.methods.adapter_fusion:AdapterFusion",
        counted="transfer",
        formula=_adapter_fusion,
        settings=FusionSettings,
    ),
    *(
        Method(
            name=name,
            kind=Kind.TRANSFER,
            display=display,
            defaults=_SCALEARN_DEFAULTS,
            cost_factor=0.8,
            implementation=_SCALEARN,
            counted="transfer",
            formula=_scalearn(vector, shared),
            options={"vector": vector, "shared": shared, "dropout": dropout},
            family="scalearn",
            settings=ScaLearnSettings,
        )
        for name, display, vector, shared, dropout in (
            ("scalearn", "ScaLearn", True, False, 0.3),
            ("scalearn_uniform", "ScaLearnUniform", False, False, 0.3),
            ("scalearn_pp", "ScaLearn++", True, True, 0.3),
            # 8 parameters for GLUE: the paper trains this one without dropout
            ("scalearn_uniform_pp", "ScaLearnUniform++", False, True, 0.0),
        )
    ),
    Method(
        # the paper's probing experiments: which frozen adapters help a target at which scale
        name="probe",
        kind=Kind.PROBE,
        display="Probing",
        defaults={"lr": 3e-4},
        cost_factor=0.4,  # forward through the frozen model, backward through the head only
        implementation="trainables.methods.probe:Probe",
        counted="trainable",
        formula=_head_only,
        settings=ProbeSettings,
    ),
)

METHODS: Mapping[str, Method] = MappingProxyType({m.name: m for m in _CATALOGUE})

# Systems of the paper's tables that no entry builds yet (reference CSV 'system' names).
NOT_YET_BUILT: tuple[str, ...] = ()

# The stage-one method whose adapters stage two scales, unless a sweep's ``sources`` says otherwise.
DEFAULT_SOURCE_METHOD = "adapter"
# The methods of the paper's headline claim: ScaLearn's transfer layer against AdapterFusion's.
HEADLINE, HEADLINE_BASELINE = "scalearn", "adapter_fusion"
# The row a grid's significance marks compare with unless told otherwise: the single-task adapter
# every two-stage method builds on (``table --significance``).
SIGNIFICANCE_BASELINE = "adapter"


def get_method(name: str) -> Method:
    """The entry called ``name``; KeyError names the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)}") from None


def methods_of_kind(kind: Kind | str) -> list[str]:
    """Names of the methods of one kind, in the paper's order."""
    return [m.name for m in _CATALOGUE if m.kind == Kind(kind)]


def by_display(display: str) -> Method | None:
    """The entry the paper's tables call ``display``, if any."""
    for m in _CATALOGUE:
        if m.display == display:
            return m
    return None
