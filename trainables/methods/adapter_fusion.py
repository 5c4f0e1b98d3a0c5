"""AdapterFusion: attention over the frozen source adapters' outputs at every layer (``Fuse``)."""

from __future__ import annotations

import os

import torch
from safetensors.torch import load_file, save_file

from orchestrator.contract.methods import FusionSettings
from trainables.methods.base import MethodImpl, fusion_parameters, load_sources

TRANSFER_FILE = "transfer.safetensors"
LIBRARY_REG_WEIGHT = 0.01  # adapters' get_fusion_regularization_loss multiplies by this
FUSION_DIR = "adapter_fusion"


class AdapterFusion(MethodImpl):
    """The adapters library's fusion layer over the node's sources (config ``fusion_config``)."""

    def setup(self, node) -> None:
        from adapters.composition import Fuse

        fuse = Fuse(*load_sources(node))
        config = node.hparams.settings(FusionSettings).fusion_config
        node.model.add_adapter_fusion(fuse, config=config)
        node.model.set_active_adapters(fuse)
        node.fusion_name = fuse.name

    def set_trainable(self, node) -> None:
        from adapters.composition import Fuse

        node.model.train_adapter_fusion(Fuse(*[name for name, _ in node.sources]))

    def extra_loss(self, node) -> torch.Tensor | None:
        # the value matrices' regulariser sum ||I - V||^2, in the step it belongs to and at its
        # nominal weight (the official trainer adds it one step late, under fp16 divided by the
        # loss scale; docs/differences.md); the library computes it with a fixed weight of 0.01
        weight = node.hparams.settings(FusionSettings).fusion_reg_weight
        if not weight:
            return None
        loss = node.model.base_model.get_fusion_regularization_loss()
        return None if loss is None else loss * (weight / LIBRARY_REG_WEIGHT)

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
