"""ProPETL (one task) and ProPETL-m (every task of a benchmark at once): a masked prototype.

One ``seq_bn`` (Pfeiffer) prototype adapter is shared by every layer and seen through learned
binary masks (``trainables.prototype``): per layer for ProPETL; per layer and per task for
ProPETL-m, whose batches each select their task's mask. The catalogue entry's options say which
(``task_masks``) and how the scores are initialised (``score_fan``); the node's hyperparameters
give the share kept (``sparsity``), whether masks learn (``mask_training``) and their learning
rate (``mask_lr``, or ``lr`` x ``mask_lr_ratio``).

Payload: ``propetl.safetensors`` (prototype and scores: what ``NodeModel.load_artifact`` reads)
and every task's effective adapter (the prototype under that task's masks) in the adapters
library's own format with its head: ``adapter/`` for ProPETL, ``adapters/<task>/`` for
ProPETL-m, each loading with ``model.load_adapter(path)`` into a plain adapters model.
"""

from __future__ import annotations

import os

import torch
from safetensors.torch import load_file, save_file

from orchestrator.contract.entry_files import ADAPTERS_DIR
from orchestrator.contract.methods import ProPETLSettings
from trainables import prototype
from trainables.methods.base import ADAPTER_DIR, MethodImpl, export_adapter

STATE_FILE = "propetl.safetensors"
NAME = "propetl"  # the adapter's name inside the model; never a task's


class ProPETL(MethodImpl):
    """A masked prototype adapter; option ``task_masks`` adds one mask per task (ProPETL-m)."""

    def __init__(self, entry):
        super().__init__(entry)
        self.masked: list[prototype.MaskedLinear] = []
        self.initial_masks: dict[str, torch.Tensor] = {}

    def config(self, node):
        from adapters import SeqBnConfig

        return SeqBnConfig(reduction_factor=node.hparams.reduction_factor)

    def setup(self, node) -> None:
        tasks = [h.task for h in node.heads] if self.options["task_masks"] else None
        node.adapter_name = NAME
        self.masked = prototype.add_prototype(
            node.model,
            NAME,
            self.config(node),
            node.hparams.settings(ProPETLSettings).sparsity,
            self.options["score_fan"],
            tasks,
        )
        if next(node.model.parameters()).device.type != "meta":
            self.initial_masks = self._masks()

    def set_trainable(self, node) -> None:
        node.model.train_adapter(NAME)
        if node.hparams.settings(ProPETLSettings).mask_training == "frozen":
            for p in self._scores(node).values():
                p.requires_grad = False

    def select_task(self, node, task: str) -> None:
        prototype.select_task(self.masked, task)

    def optimizer_groups(self, node, lr: float, weight_decay: float) -> list[dict]:
        # the reference trainer's groups: no decay on biases and layer norms; the scores at
        # their own rate and with the decay
        own = node.hparams.settings(ProPETLSettings)
        mask_lr = own.mask_lr if own.mask_lr is not None else lr * own.mask_lr_ratio
        scores = {id(p) for p in self._scores(node).values()}
        no_decay = _no_decay_ids(node.model)
        groups = {"decay": [], "no_decay": [], "scores": []}
        for p in node.trainable_parameters():
            key = "scores" if id(p) in scores else "no_decay" if id(p) in no_decay else "decay"
            groups[key].append(p)
        settings = {
            "decay": (lr, weight_decay),
            "no_decay": (lr, 0.0),
            "scores": (mask_lr, weight_decay),
        }
        return [
            {"params": params, "lr": settings[k][0], "weight_decay": settings[k][1]}
            for k, params in groups.items()
            if params
        ]

    def save(self, node, out_dir: str) -> list[str]:
        tensors = {n: t.detach().contiguous().cpu() for n, t in self._state(node).items()}
        save_file(tensors, os.path.join(out_dir, STATE_FILE))
        if not self.options["task_masks"]:
            task = node.heads[0].task
            self._export(node, os.path.join(out_dir, ADAPTER_DIR), task)
            return [STATE_FILE, ADAPTER_DIR]
        for head in node.heads:
            self._export(node, os.path.join(out_dir, ADAPTERS_DIR, head.task), head.task)
        return [STATE_FILE, ADAPTERS_DIR]

    def load_tensors(self, node, out_dir: str) -> dict[str, torch.Tensor]:
        return load_file(os.path.join(out_dir, STATE_FILE))

    def summary(self, node) -> dict:
        """Share of each mask's entries that training changed (0 with frozen masks): per layer
        ``[down, up]``, and per task for ProPETL-m."""
        now = self._masks()
        own = node.hparams.settings(ProPETLSettings)

        def changed(key: str) -> float:
            return round(float((now[key] != self.initial_masks[key]).float().mean()), 4)

        layers = [
            [changed(f"layer{i}.down"), changed(f"layer{i}.up")]
            for i in range(len(self.masked) // 2)
        ]
        out = {
            "mask_training": own.mask_training,
            "kept": own.sparsity,
            "changed_layer_masks": layers,
        }
        if self.options["task_masks"]:
            out["changed_task_masks"] = {
                h.task: [changed(f"task:{h.task}.down"), changed(f"task:{h.task}.up")]
                for h in node.heads
            }
        return out

    # helpers

    def _state(self, node) -> dict[str, torch.Tensor]:
        """The prototype and every score, by the model's parameter names (trainable or not)."""
        marker = f".adapters.{NAME}."
        return {n: p for n, p in node.model.named_parameters() if marker in n}

    def _scores(self, node) -> dict[str, torch.nn.Parameter]:
        """Every score tensor (layer masks, and task masks of ProPETL-m), by name."""
        ids = {id(m.scores) for m in self.masked}
        ids |= {id(p) for m in self.masked if m.task_masks for p in m.task_masks.scores.values()}
        return {n: p for n, p in self._state(node).items() if id(p) in ids}

    @torch.no_grad()
    def _masks(self) -> dict[str, torch.Tensor]:
        """Every binary mask as it stands (bool): ``layer<i>.down|up``, ``task:<t>.down|up``."""
        out = {}
        for i, module in enumerate(self.masked):
            which = "down" if i % 2 == 0 else "up"
            out[f"layer{i // 2}.{which}"] = prototype.top_mask(module.scores.abs(), module.keep)
            if module.task_masks is not None:
                for task, scores in module.task_masks.scores.items():
                    out[f"task:{task}.{which}"] = prototype.top_mask(scores.abs(), module.keep)
        return {k: v.bool().cpu() for k, v in out.items()}  # comparable wherever the model is

    @torch.no_grad()
    def _export(self, node, path: str, task: str) -> None:
        prototype.select_task(self.masked, task)
        layers = []
        for down, up in zip(self.masked[0::2], self.masked[1::2], strict=True):
            layers.append(
                {
                    "adapter_down.0.weight": down.effective_weight(),
                    "adapter_down.0.bias": down.prototype.bias,
                    "adapter_up.weight": up.effective_weight(),
                    "adapter_up.bias": up.prototype.bias,
                }
            )
        export_adapter(node, path, task, self.config(node), layers)


def _no_decay_ids(model) -> set[int]:
    """Biases and layer-norm weights (the reference trainer leaves them out of weight decay)."""
    out = set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if name == "bias" or isinstance(module, torch.nn.LayerNorm):
                out.add(id(p))
    return out
