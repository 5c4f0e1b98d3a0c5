"""One node's model: backbone + adapters + heads (+ a transfer layer), and its artifacts.

``NodeModel`` wraps an ``adapters`` AdapterModel with flexible heads (one head per task, named
after the task). Artifacts are written in the ``adapters`` library's own formats where one exists
(``adapter/`` loads with ``model.load_adapter(path, use_safetensors=True)``) and as safetensors
otherwise; nothing is pickled.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from orchestrator.contract.entry_files import MODEL_FILE
from orchestrator.contract.hparams import HParams
from orchestrator.contract.methods import METHODS, Kind, get_method
from trainables.backbones import build_adapter_model, same_backbone
from trainables.methods.base import MethodImpl, implementation, reads_pooler
from trainables.tasks.registry import CLASSIFICATION, MULTILABEL, MULTIPLE_CHOICE, REGRESSION

PROBLEM_TYPES = (CLASSIFICATION, REGRESSION, MULTILABEL, MULTIPLE_CHOICE)
ALL_METHODS = tuple(METHODS)

HEADS_FILE = "heads.safetensors"
FORMAT_VERSION = 1

__all__ = ["CLASSIFICATION", "ALL_METHODS", "HeadSpec", "NodeModel", "method_kind"]


def method_kind(method: str) -> str:
    """``stl`` | ``transfer`` | ``joint`` for a method name."""
    try:
        return get_method(method).kind.value
    except KeyError as e:
        raise ValueError(str(e).strip("'\"")) from None


@dataclass
class HeadSpec:
    """A task head; ``num_labels`` is the choices for multiple choice, 1 for regression."""

    task: str
    problem_type: str  # one of PROBLEM_TYPES (same strings as trainables.tasks.registry)
    num_labels: int


def _check_build_args(method: str, heads: list[HeadSpec], sources) -> None:
    """Raises ValueError for an inconsistent method / heads / sources combination."""
    kind = get_method(method).kind
    if not heads:
        raise ValueError("at least one HeadSpec is needed")
    for h in heads:
        if h.problem_type not in PROBLEM_TYPES:
            raise ValueError(f"head {h.task!r}: unknown problem_type {h.problem_type!r}")
        if h.problem_type == REGRESSION and h.num_labels != 1:
            raise ValueError(f"head {h.task!r}: regression needs num_labels=1")
    if len({h.task for h in heads}) != len(heads):
        raise ValueError("head tasks must be distinct")
    if kind != Kind.JOINT and len(heads) != 1:
        raise ValueError(f"method {method!r} takes exactly one head, got {len(heads)}")
    if kind.has_sources:
        if not sources:
            raise ValueError(f"method {method!r} needs sources [(name, payload_dir), ...]")
        if len({name for name, _ in sources}) != len(sources):
            raise ValueError("source names must be distinct")
    elif sources:
        raise ValueError(f"method {method!r} takes no sources")


def _add_head(model, spec: HeadSpec, hparams: HParams) -> None:
    """Adds an ``adapters`` flexible head whose loss matches the problem type."""
    if spec.problem_type == MULTIPLE_CHOICE:
        if reads_pooler(spec.problem_type, hparams):
            # RobertaForMultipleChoice, the official stage two's model: the pre-trained pooler
            # (dense + tanh on <s>, trained only where the backbone trains), then dropout and
            # one linear layer scoring each choice
            model.add_multiple_choice_head(
                spec.task, num_choices=spec.num_labels, layers=1, use_pooler=True
            )
        else:
            model.add_multiple_choice_head(spec.task, num_choices=spec.num_labels)
    else:
        # num_labels=1 makes adapters' ClassificationHead use MSE (regression);
        # multilabel=True gives BCE-with-logits
        model.add_classification_head(
            spec.task, num_labels=spec.num_labels, multilabel=spec.problem_type == MULTILABEL
        )


def _to_cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies (what safetensors accepts)."""
    return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}


class NodeModel(nn.Module):
    """Backbone + the method's part (``trainables.methods``) + heads for one node; see ``build``."""

    def __init__(
        self,
        model,
        backbone: str,
        method: str,
        heads: list[HeadSpec],
        hparams: HParams,
        seed: int,
        sources: list[tuple[str, str | None]],
        vocab_size: int | None,
    ):
        super().__init__()
        self.model = model
        self.backbone = backbone
        self.method = method
        self.heads = list(heads)
        self.hparams = hparams
        self.seed = seed
        self.sources = list(sources)
        self.vocab_size = vocab_size
        self.impl: MethodImpl = implementation(method)
        self.adapter_name: str | None = None
        self.fusion_name: str | None = None
        # plain list, not a ModuleList: the layers live in the AdapterModel already
        self.scalearn_layers: list = []

    # building

    @classmethod
    def build(
        cls,
        backbone: str,
        method: str,
        heads: list[HeadSpec],
        hparams: HParams | dict,
        seed: int,
        sources: list[tuple[str, str | None]] | None = None,
        vocab_size: int | None = None,
        files: str | None = None,
    ) -> NodeModel:
        """Builds the model of a node; ``seed`` fixes the init of everything new.

        ``hparams`` is the node's ``HParams`` (a dict sets the keys it names, defaults the rest;
        either way ``method``'s own settings, with keys of other methods' left out).
        ``sources`` (transfer methods) are ``(name, payload_dir)`` pairs; the source adapter is read
        from ``payload_dir/adapter`` and frozen. A ``payload_dir`` of None adds a fresh ``seq_bn``
        adapter instead (parameter counts, tests). ``files``: a local copy of the backbone's
        checkpoint where one was fetched (the tiny backbone from the store).
        """
        _check_build_args(method, heads, sources)
        model = build_adapter_model(backbone, vocab_size, files=files)
        return cls.around(model, backbone, method, heads, hparams, seed, sources, vocab_size)

    @classmethod
    def around(
        cls,
        model,
        backbone: str,
        method: str,
        heads: list[HeadSpec],
        hparams: HParams | dict,
        seed: int,
        sources: list[tuple[str, str | None]] | None = None,
        vocab_size: int | None = None,
    ) -> NodeModel:
        """``build`` on an AdapterModel built already (``model``, named ``backbone``)."""
        _check_build_args(method, heads, sources)
        # through a dict: HParams made for no method, or another, get this method's settings
        values = hparams.to_dict() if isinstance(hparams, HParams) else hparams
        hparams = HParams.from_dict(values, method)
        node = cls(model, backbone, method, heads, hparams, seed, sources or [], vocab_size)
        # fork: building must not shift the caller's RNG stream (data order, dropout)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            node._setup()
        return node

    def _setup(self) -> None:
        """The method's additions, the heads, and what trains."""
        self.impl.setup(self)
        for spec in self.heads:
            _add_head(self.model, spec, self.hparams)
        self.impl.set_trainable(self)
        for spec in self.heads:
            for p in self.model.heads[spec.task].parameters():
                p.requires_grad = True

    # running

    def forward(self, batch: dict, task: str) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(loss, logits) of ``task``'s head; loss is None when ``batch`` has no labels."""
        spec = self._head(task)
        self.impl.select_task(self, task)
        labels = batch.get("labels")
        if labels is not None:
            # the heads' losses need float targets for MSE/BCE and long ones for cross-entropy
            floating = spec.problem_type in (REGRESSION, MULTILABEL)
            labels = labels.float() if floating else labels.long()
        out = self.model(
            **self._inputs(batch),
            labels=labels,
            head=task,
            return_dict=True,
        )
        loss = out.loss
        if loss is not None and self.training:
            extra = self.impl.extra_loss(self)
            if extra is not None:
                loss = loss + extra
        return loss, out.logits

    @torch.no_grad()
    def encode(self, batch: dict, task: str | None = None) -> torch.Tensor:
        """Final hidden states ``(batch, seq, hidden)`` with the active adapter setup; ``task``
        conditions task-conditioned methods (default: the first head's task)."""
        self.impl.select_task(self, task or self.heads[0].task)
        out = self.model.base_model(**self._inputs(batch))
        return out.last_hidden_state

    def _inputs(self, batch: dict) -> dict:
        """What the backbone reads of a batch: token ids, the attention mask and, for a model
        with segment embeddings (BERT and kin: ``type_vocab_size`` of 2 or more), segment ids."""
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch.get("attention_mask")}
        types = batch.get("token_type_ids")
        if types is not None and (getattr(self.model.config, "type_vocab_size", 0) or 0) >= 2:
            inputs["token_type_ids"] = types
        return inputs

    def _head(self, task: str) -> HeadSpec:
        for spec in self.heads:
            if spec.task == task:
                return spec
        raise KeyError(f"no head for task {task!r}; heads: {[h.task for h in self.heads]}")

    # parameters

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters that train (each shared parameter once)."""
        return [p for p in self.parameters() if p.requires_grad]

    def optimizer_groups(self, lr: float, weight_decay: float) -> list[dict]:
        """AdamW parameter groups: the method's own (``MethodImpl.optimizer_groups``) or one group
        of every trainable parameter."""
        groups = self.impl.optimizer_groups(self, lr, weight_decay)
        if groups is None:
            return [{"params": self.trainable_parameters(), "lr": lr, "weight_decay": weight_decay}]
        listed = [p for g in groups for p in g["params"]]
        if len({id(p) for p in listed}) != len(listed) or {id(p) for p in listed} != {
            id(p) for p in self.trainable_parameters()
        }:
            raise ValueError(
                f"{self.method}: optimizer groups must hold every trainable parameter once"
            )
        return groups

    def param_counts(self) -> dict:
        """``trainable_params`` (head included) and ``transfer_params`` (None if no transfer)."""
        trainable = sum(p.numel() for p in self.trainable_parameters())
        transfer = None
        if get_method(self.method).kind == Kind.TRANSFER:
            transfer = sum(p.numel() for p in self.impl.transfer_parameters(self).values())
        return {"trainable_params": trainable, "transfer_params": transfer}

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """Copies of the trainable tensors, by name (for per-epoch resume checkpoints)."""
        return {n: p.detach().clone() for n, p in self.named_parameters() if p.requires_grad}

    @torch.no_grad()
    def load_checkpoint_state(self, state: dict[str, torch.Tensor]) -> None:
        """Loads what ``checkpoint_state`` returned; the names must match exactly."""
        params = {n: p for n, p in self.named_parameters() if p.requires_grad}
        missing, unexpected = sorted(set(params) - set(state)), sorted(set(state) - set(params))
        if missing or unexpected:
            raise KeyError(f"checkpoint mismatch: missing {missing[:5]}, extra {unexpected[:5]}")
        for name, p in params.items():
            p.copy_(state[name])

    # transfer layer inspection

    def transfer_summary(self) -> dict:
        """What the method shows of itself after training (ScaLearn: per-layer, per-source mean
        omega); {} for most methods."""
        return self.impl.summary(self)

    def use_fused_transfer(self, enabled: bool = True) -> None:
        """ScaLearn: run the frozen sources as one batched operation (the default, where valid)
        or through the library's per-adapter modules (for comparison); other methods: no-op."""
        self.impl.use_fused(self, enabled)

    def set_omegas(self, values) -> None:
        """Sets ScaLearn's ``omega[l][s]`` (a scalar broadcasts over the hidden size)."""
        if not self.scalearn_layers:
            raise ValueError(f"method {self.method!r} has no omegas")
        from trainables import scalearn_layer

        scalearn_layer.set_omega_table(self.scalearn_layers, values)

    # artifacts

    def _heads_state(self) -> dict[str, torch.Tensor]:
        return {n: p for n, p in self.model.named_parameters() if n.startswith("heads.")}

    def save_artifact(self, out_dir: str) -> None:
        """Writes the method's files, the heads and a json describing the node's model."""
        os.makedirs(out_dir, exist_ok=True)
        files = self.impl.save(self, out_dir)
        save_file(_to_cpu(self._heads_state()), os.path.join(out_dir, HEADS_FILE))
        files.append(HEADS_FILE)
        meta = {
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "backbone": self.backbone,
            "vocab_size": self.vocab_size,
            "heads": [asdict(h) for h in self.heads],
            "hparams": self.hparams.to_dict(),
            "seed": self.seed,
            "sources": [name for name, _ in self.sources],
            "adapter_name": self.adapter_name,
            "fusion_name": self.fusion_name,
            "files": files,
        }
        with open(os.path.join(out_dir, MODEL_FILE), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, sort_keys=True)

    @classmethod
    def load_artifact(
        cls,
        out_dir: str,
        backbone: str,
        vocab_size: int | None = None,
        sources: list[tuple[str, str]] | None = None,
    ) -> NodeModel:
        """Rebuilds the node's model and loads its saved weights (same predictions).

        Transfer artifacts need ``sources`` (the same names as saved, any order).
        """
        with open(os.path.join(out_dir, MODEL_FILE), encoding="utf-8") as f:
            meta = json.load(f)
        if not same_backbone(meta["backbone"], backbone):
            raise ValueError(f"artifact was trained on {meta['backbone']!r}, not {backbone!r}")
        if get_method(meta["method"]).kind.has_sources:
            sources = _order_sources(meta["sources"], sources)
        node = cls.build(
            backbone,
            meta["method"],
            [HeadSpec(**h) for h in meta["heads"]],
            meta["hparams"],
            meta["seed"],
            sources=sources,
            vocab_size=vocab_size if vocab_size is not None else meta.get("vocab_size"),
        )
        node._load_weights(out_dir)
        return node

    @torch.no_grad()
    def _load_weights(self, out_dir: str) -> None:
        """Loads every trainable tensor from ``out_dir``; raises if one is missing."""
        tensors = dict(self.impl.load_tensors(self, out_dir))
        tensors.update(load_file(os.path.join(out_dir, HEADS_FILE)))
        # adapters' file may hold the head too (same tensors as heads.safetensors)
        params = dict(self.model.named_parameters())
        unexpected = sorted(set(tensors) - set(params))
        if unexpected:
            raise KeyError(f"{out_dir}: tensors the model does not have: {unexpected[:5]}")
        trainable = {n for n, p in params.items() if p.requires_grad}
        missing = sorted(trainable - set(tensors))
        if missing:
            raise KeyError(f"{out_dir}: trainable tensors not in the artifact: {missing[:5]}")
        for name, value in tensors.items():
            params[name].copy_(value)


def _order_sources(saved: list[str], given: list[tuple[str, str]] | None) -> list[tuple[str, str]]:
    """``given`` in the saved order (omega rows follow it); ValueError if the names differ."""
    if not given:
        raise ValueError(f"this transfer artifact needs sources for {saved}")
    by_name = dict(given)
    if sorted(by_name) != sorted(saved):
        raise ValueError(f"artifact sources {saved} differ from the given {sorted(by_name)}")
    return [(name, by_name[name]) for name in saved]
