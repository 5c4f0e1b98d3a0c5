"""Bottleneck adapters (Pfeiffer, ``seq_bn``): Adapter per task, or one shared by all (Adapter-m).

The payload's ``adapter/`` is in the adapters library's own format, so a user loads it with
``model.load_adapter(path)``; a single-task adapter carries its head along.
"""

from __future__ import annotations

import os

import torch
from safetensors.torch import load_file

from trainables.methods.base import ADAPTER_DIR, MethodImpl


class Adapter(MethodImpl):
    """A ``seq_bn`` adapter of the node's reduction factor; option ``shared_name`` names one
    adapter that every task's head shares (saved without heads)."""

    def config(self, node):
        from adapters import SeqBnConfig

        return SeqBnConfig(reduction_factor=node.hparams.reduction_factor)

    def setup(self, node) -> None:
        node.adapter_name = self.options.get("shared_name") or node.heads[0].task
        node.model.add_adapter(node.adapter_name, config=self.config(node))

    def set_trainable(self, node) -> None:
        node.model.train_adapter(node.adapter_name)

    def save(self, node, out_dir: str) -> list[str]:
        node.model.save_adapter(
            os.path.join(out_dir, ADAPTER_DIR),
            node.adapter_name,
            with_head="shared_name" not in self.options,
            use_safetensors=True,
        )
        return [ADAPTER_DIR]

    def load_tensors(self, node, out_dir: str) -> dict[str, torch.Tensor]:
        return load_file(os.path.join(out_dir, ADAPTER_DIR, "adapter.safetensors"))
