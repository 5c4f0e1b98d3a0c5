"""The methods a sweep can name: their kind, table group, display name and paper defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

STL, TRANSFER, JOINT = "stl", "transfer", "joint"


@dataclass(frozen=True)
class Method:
    """A training method and the reference code's defaults for it (DESIGN.md protocol table)."""

    name: str
    kind: str
    display: str
    defaults: dict = field(default_factory=dict)


# Order is the paper's row order within each group.
_METHODS = [
    Method("full_ft", STL, "Full FT", {"lr": 2e-5}),
    Method("adapter", STL, "Adapter", {"lr": 3e-4, "reduction_factor": 16}),
    Method("compacter_pp", STL, "Compacter++", {"lr": 3e-3, "reduction_factor": 16}),
    Method("full_ft_m", JOINT, "Full FT-m", {"lr": 2e-5, "warmup_ratio": 0.1, "patience": 10}),
    Method(
        "adapter_m",
        JOINT,
        "Adapter-m",
        {"lr": 3e-4, "warmup_ratio": 0.1, "patience": 10, "reduction_factor": 16},
    ),
    Method("adapter_fusion", TRANSFER, "AdapterFusion", {"lr": 5e-5}),
    Method("scalearn", TRANSFER, "ScaLearn", {"lr": 6e-3, "patience": None}),
    Method("scalearn_uniform", TRANSFER, "ScaLearnUniform", {"lr": 6e-3, "patience": None}),
    Method("scalearn_pp", TRANSFER, "ScaLearn++", {"lr": 6e-3, "patience": None}),
    Method("scalearn_uniform_pp", TRANSFER, "ScaLearnUniform++", {"lr": 6e-3, "patience": None}),
]

METHODS: dict[str, Method] = {m.name: m for m in _METHODS}

# Table groups in the paper's order.
GROUPS = {STL: "STL", JOINT: "Joint MTL", TRANSFER: "Two-stage transfer"}


def methods_of_kind(kind: str) -> list[str]:
    """Names of the methods of one kind, in the paper's order."""
    return [m.name for m in _METHODS if m.kind == kind]
