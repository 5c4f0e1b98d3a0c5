"""ScaLearn and its variants: learned scaling of the frozen source adapters' outputs.

The variant (omega a vector of the hidden size or one scalar per source; one omega per layer or
one shared by all layers; dropout on omega) comes from the catalogue entry's options, so a new
variant is a catalogue entry. The layer itself is ``trainables.scalearn_layer``.
"""

from __future__ import annotations

import os

import torch
from safetensors.torch import load_file, save_file

from orchestrator.contract.methods import ScaLearnSettings
from trainables import scalearn_layer
from trainables.methods.adapter_fusion import TRANSFER_FILE
from trainables.methods.base import MethodImpl, fusion_parameters, load_sources


class ScaLearn(MethodImpl):
    """``trainables.scalearn_layer.add_scalearn`` over the node's sources."""

    @property
    def variant(self) -> scalearn_layer.Variant:
        o = self.options
        return scalearn_layer.Variant(self.entry.name, o["vector"], o["shared"], o["dropout"])

    def setup(self, node) -> None:
        dropout = node.hparams.settings(ScaLearnSettings).omega_dropout
        node.fusion_name, node.scalearn_layers = scalearn_layer.add_scalearn(
            node.model, load_sources(node), self.variant, dropout=dropout
        )

    def set_trainable(self, node) -> None:
        from adapters.composition import Fuse

        node.model.train_adapter_fusion(Fuse(*[name for name, _ in node.sources]))

    def transfer_parameters(self, node):
        return fusion_parameters(node)

    def save(self, node, out_dir: str) -> list[str]:
        tensors = {k: v.detach().contiguous().cpu() for k, v in fusion_parameters(node).items()}
        save_file(tensors, os.path.join(out_dir, TRANSFER_FILE))
        return [TRANSFER_FILE]

    def load_tensors(self, node, out_dir: str) -> dict[str, torch.Tensor]:
        return load_file(os.path.join(out_dir, TRANSFER_FILE))

    def summary(self, node) -> dict:
        return {
            "omegas": scalearn_layer.omega_table(node.scalearn_layers),
            "sources": [name for name, _ in node.sources],
            "shared_across_layers": self.variant.shared,
        }

    def use_fused(self, node, enabled: bool) -> None:
        scalearn_layer.set_fused(node.scalearn_layers, enabled)
