"""ScaLearn transfer layers (Frohmann et al., ACL 2024) plugged into ``adapters``' ``Fuse``.

At every layer l: ``output = residual + sum_s omega[l, s] * up[l, s]``, where ``up[l, s]`` is
source adapter s's output before its residual. ``adapters``' ``compose_fuse`` already computes
every child's ``up`` (``bottleneck_up``), stacks them to ``(batch, seq, n_sources, hidden)`` and
calls ``adapter_fusion_layer[name](query, up_list, up_list, residual, output_attentions=...)``;
``ScaLearnLayer`` takes that call in place of ``BertFusion``. With ``seq_bn`` (Pfeiffer) sources,
``residual`` is the FFN output before the layer norm and ``post_forward`` then applies
``LayerNorm(output + input_tensor)``, exactly what a single adapter does with its own ``up``.

The fused path: ``compose_fuse`` runs the n frozen source adapters one after another and stacks
their outputs to ``(batch, seq, n, hidden)`` before scaling. When the sources are plain ``seq_bn``
adapters with one config, ScaLearn instead concatenates their down projections into one matrix and
folds ``omega`` (and the adapters' scaling) into their up projections, so a layer is two matmuls
and the stacked outputs are never built: same result, less time and memory. The stacked weights
are a cache keyed on the source tensors' storage and version, so loading or editing a source later
(``copy_``, ``load_state_dict``, ``.to(device)``) rebuilds it. Anything else falls back to the
per-adapter path: sources that differ in config or are not plain bottlenecks, sources that train,
or ``ScaLearnLayer.fused = False``.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from orchestrator.contract.methods import METHODS


@dataclass(frozen=True)
class Variant:
    """One ScaLearn variant: omega shape, sharing across layers, dropout on omega."""

    name: str
    vector: bool  # omega has the hidden size; otherwise one scalar per source
    shared: bool  # one omega for all layers (the "++" variants)
    dropout: float


# The catalogue entry of every variant names this implementation; its options are the shape.
IMPLEMENTATION = "trainables.methods.scalearn:ScaLearn"
VARIANTS: dict[str, Variant] = {
    m.name: Variant(m.name, m.options["vector"], m.options["shared"], m.options["dropout"])
    for m in METHODS.values()
    if m.implementation == IMPLEMENTATION
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
    ``fused`` picks the batched path over the sources where it is valid (see the module doc).
    """

    def __init__(self, omega: nn.Parameter, dropout: float):
        super().__init__()
        self.omega = omega
        self.dropout = dropout
        self.fused = True
        self.sources: tuple[str, ...] = ()  # set when the fused path is valid for this layer
        self._stack_key: tuple | None = None
        self._stack: _SourceStack | None = None

    def dropped_omega(self) -> torch.Tensor:
        """Omega after dropout: one mask per call (the reference drops the factors themselves)."""
        return F.dropout(self.omega, self.dropout, self.training)

    def forward(self, query, key, value, residual, output_attentions: bool = False):
        """``adapters``' fusion-layer call: ``value`` is ``(batch, seq, n_sources, hidden)``."""
        omega = self.dropped_omega()
        # elementwise product + sum (not einsum/matmul) keeps it exact under TF32 settings
        output = residual + torch.sum(value * omega, dim=2)
        if output_attentions:
            return output, omega.detach().cpu().numpy()
        return output


@dataclass
class _SourceStack:
    """The frozen sources of one layer as stacked tensors (n sources, bottleneck r)."""

    w_down: torch.Tensor  # (n * r, hidden): all down projections as one matrix
    b_down: torch.Tensor  # (n * r,)
    w_up: torch.Tensor  # (n, hidden, r)
    b_up: torch.Tensor  # (n, hidden)
    scaling: float
    activation: nn.Module


def _plain_bottleneck(adapter) -> bool:
    """A ``seq_bn``-style block: Linear, activation, Linear, constant scaling, no gate or norm."""
    from adapters.methods.modeling import Adapter

    down = getattr(adapter, "adapter_down", None)
    return (
        type(adapter) is Adapter
        and isinstance(down, nn.Sequential)
        and len(down) == 2
        and type(down[0]) is nn.Linear
        and type(adapter.adapter_up) is nn.Linear
        and isinstance(adapter.scaling, float)
        and not adapter.use_gating
        and not hasattr(adapter, "DropPath")
    )


def _fusable_sources(bottleneck, sources: Sequence[str]) -> tuple[str, ...]:
    """``sources`` if one layer can run them as a batch, else ``()`` (per-adapter path)."""
    adapters = [bottleneck.adapters[s] for s in sources if s in bottleneck.adapters]
    if len(adapters) != len(sources) or not all(_plain_bottleneck(a) for a in adapters):
        return ()
    configs = [bottleneck.adapters_config.get(s) for s in sources]
    if any(c is None for c in configs):
        return ()
    first = configs[0].to_dict()
    if any(c.to_dict() != first for c in configs[1:]):
        return ()
    return tuple(sources)


def _source_stack(layer: ScaLearnLayer, bottleneck) -> _SourceStack | None:
    """The layer's stacked source weights, rebuilt when a source tensor changed; None if a
    source trains (a cached stack would cut its gradient)."""
    adapters = [bottleneck.adapters[s] for s in layer.sources]
    linears = [m for a in adapters for m in (a.adapter_down[0], a.adapter_up)]
    tensors = [t for m in linears for t in (m.weight, m.bias)]
    if any(t is None or t.requires_grad for t in tensors):
        return None
    key = tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)
    if key != layer._stack_key:
        with torch.no_grad():
            layer._stack = _SourceStack(
                w_down=torch.cat([a.adapter_down[0].weight for a in adapters]),
                b_down=torch.cat([a.adapter_down[0].bias for a in adapters]),
                w_up=torch.stack([a.adapter_up.weight for a in adapters]),
                b_up=torch.stack([a.adapter_up.bias for a in adapters]),
                scaling=adapters[0].scaling,
                activation=adapters[0].non_linearity,
            )
        layer._stack_key = key
    return layer._stack


def _compose_fuse(self, adapter_setup, state, lvl: int = 0):
    """``BottleneckLayer.compose_fuse`` with the fused ScaLearn path (bound to one layer)."""
    layer = self.adapter_fusion_layer[adapter_setup.name]
    stack = None
    if isinstance(layer, ScaLearnLayer) and layer.fused and tuple(adapter_setup) == layer.sources:
        stack = _source_stack(layer, self)
    if stack is None:
        return type(self).compose_fuse(self, adapter_setup, state, lvl)

    from adapters.context import ForwardContext

    fusion_config, _ = self.adapters_config.get_fusion(adapter_setup.name)
    last = adapter_setup.last()
    hidden, _, residual = self.adapters[last].pre_forward(
        state.hidden_states, state.input_tensor, state.layer_norm, fusion_config=fusion_config
    )
    n, width, r = stack.w_up.shape
    down = stack.activation(F.linear(hidden, stack.w_down, stack.b_down))  # (..., n * r)
    # sum_s omega_s * scaling * (down_s @ W_s^T + b_s) == down @ [omega_s * scaling * W_s]^T + ...
    scale = layer.dropped_omega() * stack.scaling  # (n, hidden) or (n, 1)
    w_up = (stack.w_up * scale.unsqueeze(-1)).permute(1, 0, 2).reshape(width, n * r)
    b_up = (stack.b_up * scale).sum(0)
    output = residual + F.linear(down, w_up, b_up)

    context = ForwardContext.get_context()
    if context is not None and context.output_adapter_fusion_attentions:
        self._store_fusion_attentions(adapter_setup.name, scale.detach().cpu().numpy())
    return state._replace(hidden_states=output, adapter_residual=residual, last=last)


def set_fused(layers: Sequence[ScaLearnLayer], enabled: bool) -> None:
    """Turns the fused path on or off (off: the library's per-adapter path, for comparison)."""
    for layer in layers:
        layer.fused = enabled


def uses_fused_path(layers: Sequence[ScaLearnLayer]) -> bool:
    """Whether every layer will take the fused path on its next forward."""
    return bool(layers) and all(layer.fused and layer.sources for layer in layers)


def _fusion_bottlenecks(model, fusion_name: str) -> list:
    """The ``BottleneckLayer`` modules holding ``fusion_name``, in layer order."""
    from adapters.methods.bottleneck import BottleneckLayer

    found = []
    for _, layer in model.iter_layers():
        for module in layer.modules():
            if isinstance(module, BottleneckLayer) and fusion_name in module.adapter_fusion_layer:
                found.append(module)
    return found


def add_scalearn(
    model, sources: Sequence[str], variant: Variant | str, dropout: float | None = None
) -> tuple[str, list[ScaLearnLayer]]:
    """Adds a ScaLearn transfer layer over the (already loaded) ``sources`` and activates it.

    Returns the fusion name and the per-layer modules. Omegas are drawn from torch's default
    generator, so the caller's seed fixes them.
    """
    from adapters.composition import Fuse

    v = variant if isinstance(variant, Variant) else get_variant(variant)
    fuse = Fuse(*sources)
    model.add_adapter_fusion(fuse, config=dict(_PLACEHOLDER_FUSION))
    bottlenecks = _fusion_bottlenecks(model, fuse.name)
    if not bottlenecks:
        raise ValueError(f"sources {list(sources)} share no adapter location to scale")
    width = model.config.hidden_size if v.vector else 1
    mean = INIT_SCALE / len(sources)

    def new_omega() -> nn.Parameter:
        return nn.Parameter(torch.empty(len(sources), width).normal_(mean, INIT_STD))

    shared = new_omega() if v.shared else None
    p = v.dropout if dropout is None else dropout
    layers = []
    for bottleneck in bottlenecks:
        layer = ScaLearnLayer(shared if shared is not None else new_omega(), p)
        layer.train(model.training)
        layer.sources = _fusable_sources(bottleneck, sources)
        bottleneck.adapter_fusion_layer[fuse.name] = layer
        # an instance attribute shadows the class method for this layer only; other fusions
        # in the same layer (AdapterFusion) still reach the library's code through it
        bottleneck.compose_fuse = types.MethodType(_compose_fuse, bottleneck)
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
