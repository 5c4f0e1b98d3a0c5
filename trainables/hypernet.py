"""HyperFormer's hypernetworks (Karimi Mahabadi et al., ACL 2021), as the ScaLearn code ran them.

Every task has a learned embedding. A small MLP projects it (HyperFormer++: concatenated with a
learned embedding of the layer) and a layer norm normalises the result; linear generators turn
that into one layer's adapter: the down and up projections' weights and biases and the weight
and bias of a layer norm on the adapter's output. HyperFormer has one set of generators per layer;
HyperFormer++ one set for every layer, told apart by the layer embedding.

``GeneratedLinear`` and ``GeneratedLayerNorm`` take the places of a ``seq_bn`` adapter's two
projections and its ``ln_after`` norm in the ``adapters`` library's own modules, so placement,
residuals and the pretrained layer norms stay the library's: per layer
``out = LN_orig(LN_gen(up(gelu(down(LN_orig(h + x))))) + h + x)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

INIT_STD = 0.02  # every Linear and the layer embeddings; what the reference code ends up with
PROJECTION_LN_EPS = 1e-6


@dataclass(frozen=True)
class Dims:
    """Sizes of one hypernetwork."""

    hidden: int  # the backbone's hidden size
    bottleneck: int  # the adapter's: hidden // reduction factor
    layers: int
    embedding: int  # task (and layer) embedding
    projector_hidden: int
    projected: int


class _Generators(nn.Module):
    """Linear maps from a projected embedding to one layer's adapter and layer norm."""

    def __init__(self, d: Dims):
        super().__init__()
        h, r, p = d.hidden, d.bottleneck, d.projected
        self.down_weight = nn.Linear(p, r * h)
        self.down_bias = nn.Linear(p, r)
        self.up_weight = nn.Linear(p, h * r)
        self.up_bias = nn.Linear(p, h)
        self.norm_weight = nn.Linear(p, h)
        self.norm_bias = nn.Linear(p, h)


class HyperNetwork(nn.Module):
    """Task embeddings, the projector and the generators; ``task`` is the batch's task."""

    def __init__(self, dims: Dims, tasks: list[str], shared: bool):
        super().__init__()
        self.dims, self.shared = dims, shared
        self.task_embeddings = nn.ParameterDict(
            {t: nn.Parameter(torch.randn(dims.embedding)) for t in tasks}
        )
        self.layer_embeddings = nn.Embedding(dims.layers, dims.embedding) if shared else None
        width = 2 * dims.embedding if shared else dims.embedding
        self.projector = nn.Sequential(
            nn.Linear(width, dims.projector_hidden),
            nn.ReLU(),
            nn.Linear(dims.projector_hidden, dims.projected),
        )
        self.projection_norm = nn.LayerNorm(dims.projected, eps=PROJECTION_LN_EPS)
        count = 1 if shared else dims.layers
        self.generators = nn.ModuleList([_Generators(dims) for _ in range(count)])
        self._init()
        self.task: str | None = None

    @torch.no_grad()
    def _init(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, INIT_STD)
                module.bias.zero_()
        if self.layer_embeddings is not None:
            self.layer_embeddings.weight.normal_(0.0, INIT_STD)

    def select(self, task: str) -> None:
        """Generate the adapters of ``task`` from the next forward pass on."""
        if task not in self.task_embeddings:
            known = ", ".join(self.task_embeddings)
            raise KeyError(f"no task embedding for {task!r}; tasks: {known}")
        self.task = task

    def embedding(self, layer: int) -> torch.Tensor:
        """The projected, normalised embedding of the selected task (and ``layer``, ++)."""
        if self.task is None:
            raise RuntimeError("HyperFormer: no task selected for this forward pass")
        e = self.task_embeddings[self.task]
        if self.layer_embeddings is not None:
            e = torch.cat([e, self.layer_embeddings.weight[layer]])
        return self.projection_norm(self.projector(e))

    def generators_of(self, layer: int) -> _Generators:
        return self.generators[0 if self.shared else layer]

    def linear(self, layer: int, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight, bias) of ``layer``'s ``"down"`` or ``"up"`` projection for the task."""
        d, g, e = self.dims, self.generators_of(layer), self.embedding(layer)
        if which == "down":
            return g.down_weight(e).view(d.bottleneck, d.hidden), g.down_bias(e)
        return g.up_weight(e).view(d.hidden, d.bottleneck), g.up_bias(e)

    def norm(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight, bias) of ``layer``'s layer norm on the adapter output for the task."""
        g, e = self.generators_of(layer), self.embedding(layer)
        return g.norm_weight(e), g.norm_bias(e)


class _Generated(nn.Module):
    """Reads its tensors from the hypernetwork, which it does not own (it is registered once,
    elsewhere, so that its parameters have one name)."""

    def __init__(self, hypernet: HyperNetwork, layer: int):
        super().__init__()
        self._hypernet = (hypernet,)  # a tuple: not a submodule
        self.layer = layer

    @property
    def hypernet(self) -> HyperNetwork:
        return self._hypernet[0]


class GeneratedLinear(_Generated):
    """A projection whose weight and bias the hypernetwork generates for the batch's task."""

    def __init__(self, hypernet: HyperNetwork, layer: int, which: str):
        super().__init__(hypernet, layer)
        self.which = which

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.hypernet.linear(self.layer, self.which)
        return F.linear(x, weight, bias)


class GeneratedLayerNorm(_Generated):
    """A layer norm whose weight and bias the hypernetwork generates for the batch's task."""

    def __init__(self, hypernet: HyperNetwork, layer: int, eps: float):
        super().__init__(hypernet, layer)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.hypernet.norm(self.layer)
        return F.layer_norm(x, (x.shape[-1],), weight, bias, self.eps)


def install(adapters: list, hypernet: HyperNetwork) -> None:
    """Replaces the projections and the output norm of each layer's ``seq_bn`` adapter (one per
    layer, in order) by generated ones."""
    if len(adapters) != hypernet.dims.layers:
        raise ValueError(f"{len(adapters)} adapter layers for {hypernet.dims.layers} layers")
    for layer, adapter in enumerate(adapters):
        eps = adapter.adapter_norm_after.eps
        adapter.adapter_down[0] = GeneratedLinear(hypernet, layer, "down")
        adapter.adapter_up = GeneratedLinear(hypernet, layer, "up")
        adapter.adapter_norm_after = GeneratedLayerNorm(hypernet, layer, eps)
