"""AdapterFusion: attention over the frozen source adapters' outputs at every layer (``Fuse``)."""

from __future__ import annotations

import os

import torch
from safetensors.torch import load_file, save_file

from trainables.methods.base import MethodImpl, fusion_parameters, load_sources

TRANSFER_FILE = "transfer.safetensors"
FUSION_DIR = "adapter_fusion"


class AdapterFusion(MethodImpl):
    """The adapters library's fusion layer over the node's sources (config ``fusion_config``)."""

    def setup(self, node) -> None:
        from adapters.composition import Fuse

        fuse = Fuse(*load_sources(node))
        node.model.add_adapter_fusion(fuse, config=node.hparams.fusion_config)
        node.model.set_active_adapters(fuse)
        node.fusion_name = fuse.name

    def set_trainable(self, node) -> None:
        from adapters.composition import Fuse

        node.model.train_adapter_fusion(Fuse(*[name for name, _ in node.sources]))

    def extra_loss(self, node) -> torch.Tensor | None:
        # the value-matrix regularisation, which adapters' own trainer adds while training
        return node.model.base_model.get_fusion_regularization_loss()

    def transfer_parameters(self, node):
        return fusion_parameters(node)

    def save(self, node, out_dir: str) -> list[str]:
        tensors = {k: v.detach().contiguous().cpu() for k, v in fusion_parameters(node).items()}
        save_file(tensors, os.path.join(out_dir, TRANSFER_FILE))
        node.model.save_adapter_fusion(
            os.path.join(out_dir, FUSION_DIR), node.fusion_name, use_safetensors=True
        )
        return [TRANSFER_FILE, FUSION_DIR]

    def load_tensors(self, node, out_dir: str) -> dict[str, torch.Tensor]:
        return load_file(os.path.join(out_dir, TRANSFER_FILE))
