"""Full fine-tuning (Full FT; Full FT-m on all tasks at once): every backbone weight trains (the
pooler only where a head reads it)."""

from __future__ import annotations

import os

import torch
from safetensors.torch import load_file, save_file

from trainables.methods.base import MethodImpl, reads_pooler

MODEL_FILE = "model.safetensors"


class FullFineTuning(MethodImpl):
    """Nothing added; the whole backbone trains, except the pooler the heads never read."""

    def set_trainable(self, node) -> None:
        node.model.train()
        for p in node.model.parameters():
            p.requires_grad = True
        # the flexible heads read the <s> token, not the pooler: leave it out of training unless
        # a head reads it (choice_head: pooler, as the official Full FT's COPA model)
        pooler = getattr(node.model.base_model, "pooler", None)
        if pooler is not None and not any(
            reads_pooler(h.problem_type, node.hparams) for h in node.heads
        ):
            for p in pooler.parameters():
                p.requires_grad = False

    def save(self, node, out_dir: str) -> list[str]:
        body = {
            n: p.detach().contiguous().cpu()
            for n, p in node.model.named_parameters()
            if not n.startswith("heads.")
        }
        save_file(body, os.path.join(out_dir, MODEL_FILE))
        return [MODEL_FILE]

    def load_tensors(self, node, out_dir: str) -> dict[str, torch.Tensor]:
        return load_file(os.path.join(out_dir, MODEL_FILE))
