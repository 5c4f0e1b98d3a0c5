"""What a method's implementation provides to ``NodeModel``, and helpers several methods share."""

from __future__ import annotations

import importlib
import os
from typing import Any, Protocol

import torch
from torch import nn

from orchestrator.contract.hparams import HParams
from orchestrator.contract.methods import Method, get_method
from trainables.adapter_modules import output_adapters

ADAPTER_DIR = "adapter"  # a payload's adapter in the adapters library's own format


class HostModel(Protocol):
    """What a method reads and sets of the node's model (``trainables.models.NodeModel``).

    Described here rather than imported, so that ``models`` (which builds a method through
    ``implementation``) and the methods never import each other.
    """

    model: Any  # the adapters library's AdapterModel
    hparams: HParams
    heads: list[Any]  # ``trainables.models.HeadSpec``: ``task``, ``problem_type``, ``num_labels``
    sources: list[tuple[str, str | None]]  # (name, payload folder) of a transfer node's sources
    adapter_name: str | None
    fusion_name: str | None
    scalearn_layers: list[Any]

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters that train (each shared parameter once)."""
        ...


class MethodImpl:
    """One method's part of a node's model. Subclasses override what differs from these defaults.

    The order ``NodeModel`` calls them in: ``setup`` (before heads exist), heads are added, then
    ``set_trainable``; ``optimizer_groups`` when the loop builds its optimizer; per forward pass
    ``select_task`` (before the backbone runs) and, while training, ``extra_loss``; ``save`` /
    ``load_tensors`` for the payload.
    """

    def __init__(self, entry: Method):
        self.entry = entry
        self.options = dict(entry.options)

    def setup(self, node: HostModel) -> None:
        """Add what the method adds to ``node.model`` (adapters, a transfer layer)."""

    def set_trainable(self, node: HostModel) -> None:
        """Mark what trains (heads are made trainable after this, by ``NodeModel``)."""
        raise NotImplementedError

    def optimizer_groups(
        self, node: HostModel, lr: float, weight_decay: float
    ) -> list[dict] | None:
        """AdamW parameter groups (``{"params", "lr", "weight_decay"}``), for methods whose
        parameters train at different rates or decays (ProPETL's mask scores); together they
        hold every trainable parameter once. The loop's schedule scales every group's ``lr`` by
        the same factor. None (most methods): one group, ``lr`` and ``weight_decay`` for all."""
        return None

    def select_task(self, node: HostModel, task: str) -> None:
        """Called before every forward pass with the task the batch belongs to (a joint node's
        batches hold one task each), for methods conditioned on the task: task masks, task
        embeddings of a hypernetwork. Nothing for most methods."""

    def extra_loss(self, node: HostModel) -> torch.Tensor | None:
        """A term added to the training loss (e.g. a regulariser); None for most methods."""
        return None

    def transfer_parameters(self, node: HostModel) -> dict[str, nn.Parameter]:
        """The transfer layer's parameters by state-dict name; {} for methods without one."""
        return {}

    def save(self, node: HostModel, out_dir: str) -> list[str]:
        """Write the method's files into ``out_dir``; returns their names."""
        return []

    def load_tensors(self, node: HostModel, out_dir: str) -> dict[str, torch.Tensor]:
        """The method's saved tensors, by the names ``node.model`` knows them."""
        return {}

    def summary(self, node: HostModel) -> dict:
        """What a result row's ``extra.transfer`` shows of the trained method (learned omegas)."""
        return {}

    def use_fused(self, node: HostModel, enabled: bool) -> None:
        """Pick a faster path over the sources where the method has one (else nothing)."""


def reads_pooler(problem_type: str, hparams) -> bool:
    """Whether a head of ``problem_type`` reads the backbone's pooler (``choice_head: pooler``
    on a multiple-choice head)."""
    from trainables.tasks.registry import MULTIPLE_CHOICE

    return problem_type == MULTIPLE_CHOICE and hparams.choice_head == "pooler"


def implementation(method: str) -> MethodImpl:
    """The catalogue's implementation of ``method``, ready to set up a model."""
    entry = get_method(method)
    module, _, name = entry.implementation.partition(":")
    return getattr(importlib.import_module(module), name)(entry)


def load_sources(node: HostModel) -> list[str]:
    """Load the node's frozen source adapters (a fresh ``seq_bn`` for a source without a payload,
    as parameter counts use); returns their names in order."""
    from adapters import SeqBnConfig

    for name, payload in node.sources:
        if payload is None:
            node.model.add_adapter(name, config=SeqBnConfig())
        else:
            path = os.path.join(payload, ADAPTER_DIR)
            node.model.load_adapter(path, load_as=name, with_head=False, use_safetensors=True)
    return [name for name, _ in node.sources]


def fusion_parameters(node: HostModel) -> dict[str, nn.Parameter]:
    """Parameters of the node's fusion layer (``Fuse`` of its sources), by state-dict name."""
    if node.fusion_name is None:
        return {}
    marker = f".adapter_fusion_layer.{node.fusion_name}."
    return {n: p for n, p in node.model.named_parameters() if marker in n}


def export_adapter(
    node: HostModel, path: str, task: str, config, layers: list[dict[str, torch.Tensor]]
) -> None:
    """Writes ``task``'s adapter in the adapters library's own format, with ``task``'s head.

    ``config`` is a ``seq_bn``-style bottleneck config; ``layers[l]`` holds layer l's tensors by
    their names in the library's ``Adapter`` module (``adapter_down.0.weight``, ...). The adapter
    is added to the model under ``task``'s name only while it is written (so the head, named
    after the task too, goes with it), then deleted: ``model.load_adapter(path)`` gives a plain
    adapters model what this node computes for ``task``.
    """
    model = node.model
    os.makedirs(path, exist_ok=True)
    with torch.random.fork_rng(devices=[]):  # its throwaway init must not move the RNG
        model.add_adapter(task, config=config)
    try:
        modules = output_adapters(model, task)
        if len(modules) != len(layers):
            raise ValueError(f"{task}: {len(layers)} layers of weights for {len(modules)} layers")
        with torch.no_grad():
            for module, tensors in zip(modules, layers, strict=True):
                module.load_state_dict({k: v.detach() for k, v in tensors.items()}, strict=True)
        model.save_adapter(path, task, with_head=True, use_safetensors=True)
    finally:
        model.delete_adapter(task)
