"""ScaLearn transfer layers (Frohmann et al., ACL 2024) plugged into ``adapters``' ``Fuse``.

At every layer l: ``output = residual + sum_s omega[l, s] * up[l, s]``, where ``up[l, s]`` is
source adapter s's output before its residual. ``adapters``' ``compose_fuse`` already computes
every child's ``up`` (``bottleneck_up``), stacks them to ``(batch, seq, n_sources, hidden)`` and
calls ``adapter_fusion_layer[name](query, up_list, up_list, residual, output_attentions=...)``;
``ScaLearnLayer`` takes that call in place of ``BertFusion``. With ``seq_bn`` (Pfeiffer) sources,
``residual`` is the FFN output before the layer norm and ``post_forward`` then applies
``LayerNorm(output + input_tensor)``, exactly what a single adapter does with its own ``up``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Variant:
    """One ScaLearn variant: omega shape, sharing across layers, dropout on omega."""

    name: str
    vector: bool  # omega has the hidden size; otherwise one scalar per source
    shared: bool  # one omega for all layers (the "++" variants)
    dropout: float


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("scalearn", vector=True, shared=False, dropout=0.3),
        Variant("scalearn_uniform", vector=False, shared=False, dropout=0.3),
        Variant("scalearn_pp", vector=True, shared=True, dropout=0.3),
        # 8 parameters for GLUE: the paper trains this one without dropout
        Variant("scalearn_uniform_pp", vector=False, shared=True, dropout=0.0),
    )
}

INIT_SCALE = 2.0  # omega ~ N(INIT_SCALE / n_sources, INIT_STD)
INIT_STD = 0.001

# A fusion config that makes ``add_adapter_fusion`` register the fusion (name, adapters, query
# position) and build only a tiny placeholder per layer, which we then replace.
_PLACEHOLDER_FUSION = dict(
    key=False,
    query=False,
    value=False,
    query_before_ln=False,
    regularization=False,
    residual_before=False,
    temperature=False,
    value_before_softmax=True,
    value_initialized=False,
    dropout_prob=0.0,
)


def get_variant(name: str) -> Variant:
    """The variant called ``name``; ValueError names the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        known = ", ".join(VARIANTS)
        raise ValueError(f"unknown ScaLearn variant {name!r}; known: {known}") from None


def transfer_param_count(variant: str, n_layers: int, hidden: int, n_sources: int) -> int:
    """Analytic number of omega parameters (cross-checks the module count)."""
    v = get_variant(variant)
    per_layer = n_sources * (hidden if v.vector else 1)
    return per_layer if v.shared else per_layer * n_layers


class ScaLearnLayer(nn.Module):
    """Scales each source adapter's output and adds the sum to the residual.

    ``omega`` has shape ``(n_sources, hidden)`` or ``(n_sources, 1)``; the "++" variants pass the
    same ``Parameter`` to every layer, so it is registered (and counted, and saved) once.
    """

    def __init__(self, omega: nn.Parameter, dropout: float):
        super().__init__()
        self.omega = omega
        self.dropout = dropout

    def forward(self, query, key, value, residual, output_attentions: bool = False):
        """``adapters``' fusion-layer call: ``value`` is ``(batch, seq, n_sources, hidden)``."""
        # dropout on the scaling factors themselves, as in the reference implementation
        omega = nn.functional.dropout(self.omega, self.dropout, self.training)
        # elementwise product + sum (not einsum/matmul) keeps it exact under TF32 settings
        output = residual + torch.sum(value * omega, dim=2)
        if output_attentions:
            return output, omega.detach().cpu().numpy()
        return output


def _fusion_slots(model, fusion_name: str) -> list[nn.ModuleDict]:
    """The ``adapter_fusion_layer`` dicts holding ``fusion_name``, in layer order."""
    from adapters.methods.bottleneck import BottleneckLayer

    slots = []
    for _, layer in model.iter_layers():
        for module in layer.modules():
            if isinstance(module, BottleneckLayer) and fusion_name in module.adapter_fusion_layer:
                slots.append(module.adapter_fusion_layer)
    return slots


def add_scalearn(
    model, sources: Sequence[str], variant: str, dropout: float | None = None
) -> tuple[str, list[ScaLearnLayer]]:
    """Adds a ScaLearn transfer layer over the (already loaded) ``sources`` and activates it.

    Returns the fusion name and the per-layer modules. Omegas are drawn from torch's default
    generator, so the caller's seed fixes them.
    """
    from adapters.composition import Fuse

    v = get_variant(variant)
    fuse = Fuse(*sources)
    model.add_adapter_fusion(fuse, config=dict(_PLACEHOLDER_FUSION))
    slots = _fusion_slots(model, fuse.name)
    if not slots:
        raise ValueError(f"sources {list(sources)} share no adapter location to scale")
    width = model.config.hidden_size if v.vector else 1
    mean = INIT_SCALE / len(sources)

    def new_omega() -> nn.Parameter:
        return nn.Parameter(torch.empty(len(sources), width).normal_(mean, INIT_STD))

    shared = new_omega() if v.shared else None
    p = v.dropout if dropout is None else dropout
    layers = []
    for slot in slots:
        layer = ScaLearnLayer(shared if shared is not None else new_omega(), p)
        layer.train(model.training)
        slot[fuse.name] = layer
        layers.append(layer)
    model.set_active_adapters(fuse)
    return fuse.name, layers


def omega_table(layers: Sequence[ScaLearnLayer]) -> list[list[float]]:
    """``[layer][source]`` mean omega (the scalar itself for uniform variants)."""
    return [layer.omega.detach().float().mean(dim=1).cpu().tolist() for layer in layers]


@torch.no_grad()
def set_omega_table(layers: Sequence[ScaLearnLayer], values) -> None:
    """Sets ``omega[l][s]`` from ``values[l][s]`` (a scalar broadcasts over the hidden size).

    ``values`` has one row per layer, or a single row applied to every layer. Layers that share
    one omega (the "++" variants) must get identical rows.
    """
    rows = [values[0]] * len(layers) if len(values) == 1 else list(values)
    if len(rows) != len(layers):
        raise ValueError(f"expected {len(layers)} rows (one per layer) or 1, got {len(values)}")
    written: dict[int, torch.Tensor] = {}
    for layer, row in zip(layers, rows, strict=True):
        omega = layer.omega
        new = torch.as_tensor(row, dtype=omega.dtype, device=omega.device)
        if new.dim() == 1:
            new = new.unsqueeze(-1)
        new = new.expand_as(omega)
        key = id(omega)
        if key in written and not torch.equal(written[key], new):
            raise ValueError("this variant shares one omega across layers: all rows must be equal")
        written[key] = new.clone()
        omega.copy_(new)
