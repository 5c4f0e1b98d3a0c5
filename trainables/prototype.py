"""ProPETL's masked prototype (Zeng et al., ACL 2023, "One Network, Many Masks").

One prototype bottleneck adapter serves every layer: its down and up projections are one pair of
``nn.Linear`` modules, shared. Each layer sees them through binary masks over the two weight
matrices (biases are not masked): the mask keeps the ``keep`` share of a matrix's entries whose
real-valued scores are largest in magnitude and zeroes the rest, a hard threshold in the forward
pass; the backward pass sends the gradient straight through the threshold to the scores.

Masks per layer (ProPETL), or per task and per layer (ProPETL-m: a task's mask is shared by every
layer, a layer's by every task, and a layer sees their union, the reference code's "or"
combination). ``MaskedLinear`` replaces a ``seq_bn`` adapter's two projections in the ``adapters``
library's own modules, so placement, residuals and layer norms stay the library's.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from trainables.adapter_modules import output_adapters


class _TopMagnitude(torch.autograd.Function):
    """1 at the ``keep`` share of largest entries of ``magnitudes``, 0 elsewhere; the gradient
    passes straight through."""

    @staticmethod
    def forward(ctx, magnitudes: torch.Tensor, keep: float) -> torch.Tensor:
        return top_mask(magnitudes, keep)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


def kept_count(numel: int, keep: float) -> int:
    """How many of ``numel`` entries a mask keeps: the reference zeroes ``int((1 - keep) * n)``."""
    return numel - int((1 - keep) * numel)


def top_mask(magnitudes: torch.Tensor, keep: float) -> torch.Tensor:
    """The binary mask (same dtype as the input) of the ``keep`` share of largest entries."""
    flat = magnitudes.detach().flatten()
    mask = torch.zeros_like(flat)
    k = kept_count(flat.numel(), keep)
    if k:
        mask[torch.topk(flat, k, sorted=False).indices] = 1
    return mask.view_as(magnitudes)


def binary_mask(scores: torch.Tensor, keep: float) -> torch.Tensor:
    """The mask of ``scores`` (by magnitude) with the straight-through gradient."""
    return _TopMagnitude.apply(scores.abs(), keep)


def new_scores(weight: nn.Parameter | torch.Tensor, fan: str) -> nn.Parameter:
    """Mask scores of ``weight``'s shape, U(-b, b) with b = 1/sqrt(fan), ``fan`` the weight's
    ``"in"`` or ``"out"`` features (the reference's kaiming init in its two layouts)."""
    out_features, in_features = weight.shape
    bound = 1 / math.sqrt(in_features if fan == "in" else out_features)
    return nn.Parameter(torch.empty(weight.shape, device=weight.device).uniform_(-bound, bound))


class TaskMasks(nn.Module):
    """Scores of one matrix per task, shared by every layer, and the task they currently mask."""

    def __init__(self, weight: torch.Tensor, tasks: list[str], fan: str):
        super().__init__()
        self.scores = nn.ParameterDict({t: new_scores(weight, fan) for t in tasks})
        self.task: str | None = None


class MaskedLinear(nn.Module):
    """``prototype`` (a shared ``nn.Linear``) under this layer's binary mask.

    ``scores`` are this layer's; ``task_masks`` (ProPETL-m), when given, adds the current task's
    mask: the layer sees the union of both.
    """

    def __init__(
        self,
        prototype: nn.Linear,
        keep: float,
        fan: str,
        task_masks: TaskMasks | None = None,
    ):
        super().__init__()
        self.prototype = prototype
        self.keep = keep
        self.scores = new_scores(prototype.weight, fan)
        self.task_masks = task_masks

    def mask(self) -> torch.Tensor:
        """The binary mask of this forward pass (differentiable to the scores)."""
        mask = binary_mask(self.scores, self.keep)
        if self.task_masks is not None:
            task = self.task_masks.task
            if task is None:
                raise RuntimeError("ProPETL-m: no task selected for this forward pass")
            task_mask = binary_mask(self.task_masks.scores[task], self.keep)
            mask = 1 - (1 - mask) * (1 - task_mask)  # the reference's "or"
        return mask

    def effective_weight(self) -> torch.Tensor:
        """The prototype's weight as this layer (and task) uses it."""
        return self.prototype.weight * self.mask()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight(), self.prototype.bias)


def add_prototype(
    model, name: str, config, keep: float, fan: str, tasks: list[str] | None = None
) -> list[MaskedLinear]:
    """Adds ``seq_bn`` adapter ``name`` with ``config`` and turns it into a masked prototype:
    every layer's projections become masked views of layer 0's. ``tasks`` adds task masks
    (ProPETL-m). Returns the masked modules, down and up of each layer in order."""
    model.add_adapter(name, config=config)
    layers = output_adapters(model, name)
    if not layers:
        raise ValueError(f"adapter config {config} adds no adapter after the FFN to mask")
    down, up = layers[0].adapter_down[0], layers[0].adapter_up
    down_tasks = up_tasks = None
    if tasks:
        down_tasks = TaskMasks(down.weight, tasks, fan)
        up_tasks = TaskMasks(up.weight, tasks, fan)
    masked = []
    for adapter in layers:
        adapter.adapter_down[0] = MaskedLinear(down, keep, fan, down_tasks)
        adapter.adapter_up = MaskedLinear(up, keep, fan, up_tasks)
        masked += [adapter.adapter_down[0], adapter.adapter_up]
    return masked


def select_task(masked: list[MaskedLinear], task: str) -> None:
    """Points every task mask at ``task`` (a no-op without task masks)."""
    for module in masked:
        if module.task_masks is not None:
            if task not in module.task_masks.scores:
                known = ", ".join(module.task_masks.scores)
                raise KeyError(f"ProPETL-m has no mask for task {task!r}; tasks: {known}")
            module.task_masks.task = task
