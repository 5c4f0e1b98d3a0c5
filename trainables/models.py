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

from trainables import scalearn
from trainables.backbones import base_name, build_adapter_model
from trainables.tasks.registry import CLASSIFICATION, MULTILABEL, MULTIPLE_CHOICE, REGRESSION

PROBLEM_TYPES = (CLASSIFICATION, REGRESSION, MULTILABEL, MULTIPLE_CHOICE)

STL_METHODS = ("adapter", "full_ft", "compacter_pp")
TRANSFER_METHODS = (
    "scalearn",
    "scalearn_uniform",
    "scalearn_pp",
    "scalearn_uniform_pp",
    "adapter_fusion",
)
JOINT_METHODS = ("adapter_m", "full_ft_m")
ALL_METHODS = STL_METHODS + TRANSFER_METHODS + JOINT_METHODS

FULL_METHODS = ("full_ft", "full_ft_m")

JOINT_ADAPTER = "joint"  # the shared adapter's name in adapter_m
ADAPTER_DIR = "adapter"
FUSION_DIR = "adapter_fusion"
META_FILE = "node_model.json"
HEADS_FILE = "heads.safetensors"
TRANSFER_FILE = "transfer.safetensors"
MODEL_FILE = "model.safetensors"
FORMAT_VERSION = 1


def method_kind(method: str) -> str:
    """``stl`` | ``transfer`` | ``joint`` for a method name."""
    if method in STL_METHODS:
        return "stl"
    if method in TRANSFER_METHODS:
        return "transfer"
    if method in JOINT_METHODS:
        return "joint"
    raise ValueError(f"unknown method {method!r}; known: {', '.join(ALL_METHODS)}")


@dataclass
class HeadSpec:
    """A task head; ``num_labels`` is the choices for multiple choice, 1 for regression."""

    task: str
    problem_type: str  # one of PROBLEM_TYPES (same strings as trainables.tasks.registry)
    num_labels: int


def _check_build_args(method: str, heads: list[HeadSpec], sources) -> None:
    """Raises ValueError for an inconsistent method / heads / sources combination."""
    kind = method_kind(method)
    if not heads:
        raise ValueError("at least one HeadSpec is needed")
    for h in heads:
        if h.problem_type not in PROBLEM_TYPES:
            raise ValueError(f"head {h.task!r}: unknown problem_type {h.problem_type!r}")
        if h.problem_type == REGRESSION and h.num_labels != 1:
            raise ValueError(f"head {h.task!r}: regression needs num_labels=1")
    if len({h.task for h in heads}) != len(heads):
        raise ValueError("head tasks must be distinct")
    if kind != "joint" and len(heads) != 1:
        raise ValueError(f"method {method!r} takes exactly one head, got {len(heads)}")
    if kind == "transfer":
        if not sources:
            raise ValueError(f"method {method!r} needs sources [(name, payload_dir), ...]")
        if len({name for name, _ in sources}) != len(sources):
            raise ValueError("source names must be distinct")
    elif sources:
        raise ValueError(f"method {method!r} takes no sources")


def _check_phm(hidden: int, reduction_factor: float, phm_dim: int) -> None:
    """Compacter's PHM layers need both sizes divisible by phm_dim: say so clearly."""
    down = int(hidden // reduction_factor)
    if hidden % phm_dim or down % phm_dim:
        raise ValueError(
            f"compacter_pp: hidden size {hidden} and bottleneck {hidden} // {reduction_factor} = "
            f"{down} must be divisible by phm_dim {phm_dim}; change hparams reduction_factor "
            "(e.g. 8 for tiny-roberta) or phm_dim"
        )


def _add_head(model, spec: HeadSpec) -> None:
    """Adds an ``adapters`` flexible head whose loss matches the problem type."""
    if spec.problem_type == MULTIPLE_CHOICE:
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
    """Backbone + adapters + heads + transfer layer for one node; see ``build``."""

    def __init__(
        self,
        model,
        backbone: str,
        method: str,
        heads: list[HeadSpec],
        hparams: dict,
        seed: int,
        sources: list[tuple[str, str | None]],
        vocab_size: int | None,
    ):
        super().__init__()
        self.model = model
        self.backbone = backbone
        self.method = method
        self.heads = list(heads)
        self.hparams = dict(hparams)
        self.seed = seed
        self.sources = list(sources)
        self.vocab_size = vocab_size
        self.adapter_name: str | None = None
        self.fusion_name: str | None = None
        # plain list, not a ModuleList: the layers live in the AdapterModel already
        self._scalearn_layers: list[scalearn.ScaLearnLayer] = []

    # building

    @classmethod
    def build(
        cls,
        backbone: str,
        method: str,
        heads: list[HeadSpec],
        hparams: dict,
        seed: int,
        sources: list[tuple[str, str | None]] | None = None,
        vocab_size: int | None = None,
    ) -> NodeModel:
        """Builds the model of a node; ``seed`` fixes the init of everything new.

        ``sources`` (transfer methods) are ``(name, payload_dir)`` pairs; the source adapter is read
        from ``payload_dir/adapter`` and frozen. A ``payload_dir`` of None adds a fresh ``seq_bn``
        adapter instead (parameter counts, tests).
        """
        _check_build_args(method, heads, sources)
        model = build_adapter_model(backbone, vocab_size)
        node = cls(model, backbone, method, heads, hparams, seed, sources or [], vocab_size)
        # fork: building must not shift the caller's RNG stream (data order, dropout)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            node._setup()
        return node

    def _setup(self) -> None:
        """Adds adapters / transfer layer / heads for ``self.method`` and sets what trains."""
        from adapters import CompacterPlusPlusConfig, SeqBnConfig

        model, method = self.model, self.method
        rf = self.hparams.get("reduction_factor", 16)
        if method in ("adapter", "adapter_m"):
            self.adapter_name = self.heads[0].task if method == "adapter" else JOINT_ADAPTER
            model.add_adapter(self.adapter_name, config=SeqBnConfig(reduction_factor=rf))
        elif method == "compacter_pp":
            self.adapter_name = self.heads[0].task
            config = CompacterPlusPlusConfig(reduction_factor=rf)
            if "phm_dim" in self.hparams:
                config = config.replace(phm_dim=self.hparams["phm_dim"])
            _check_phm(model.config.hidden_size, rf, config.phm_dim)
            model.add_adapter(self.adapter_name, config=config)
        elif method in TRANSFER_METHODS:
            self._add_transfer()
        for spec in self.heads:
            _add_head(model, spec)

        if self.adapter_name is not None:
            model.train_adapter(self.adapter_name)
        elif self.fusion_name is not None:
            from adapters.composition import Fuse

            fuse = Fuse(*[name for name, _ in self.sources])
            model.train_adapter_fusion(fuse)
        else:  # full fine-tuning
            model.train()
            for p in model.parameters():
                p.requires_grad = True
            # the flexible heads read the <s> token, never the pooler: leave it out of training
            pooler = getattr(model.base_model, "pooler", None)
            if pooler is not None:
                for p in pooler.parameters():
                    p.requires_grad = False
        for spec in self.heads:
            for p in model.heads[spec.task].parameters():
                p.requires_grad = True

    def _add_transfer(self) -> None:
        """Loads (or adds) the frozen sources and the transfer layer over them."""
        from adapters import SeqBnConfig

        model = self.model
        names = [name for name, _ in self.sources]
        for name, payload in self.sources:
            if payload is None:
                model.add_adapter(name, config=SeqBnConfig())
            else:
                path = os.path.join(payload, ADAPTER_DIR)
                model.load_adapter(path, load_as=name, with_head=False, use_safetensors=True)
        if self.method == "adapter_fusion":
            from adapters.composition import Fuse

            fuse = Fuse(*names)
            model.add_adapter_fusion(fuse, config=self.hparams.get("fusion_config", "dynamic"))
            model.set_active_adapters(fuse)
            self.fusion_name = fuse.name
        else:
            self.fusion_name, self._scalearn_layers = scalearn.add_scalearn(
                model, names, self.method, dropout=self.hparams.get("omega_dropout")
            )

    # running

    def forward(self, batch: dict, task: str) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(loss, logits) of ``task``'s head; loss is None when ``batch`` has no labels."""
        spec = self._head(task)
        labels = batch.get("labels")
        if labels is not None:
            # the heads' losses need float targets for MSE/BCE and long ones for cross-entropy
            floating = spec.problem_type in (REGRESSION, MULTILABEL)
            labels = labels.float() if floating else labels.long()
        out = self.model(
            input_ids=batch["input_ids"],
            attention_mask=batch.get("attention_mask"),
            labels=labels,
            head=task,
            return_dict=True,
        )
        loss = out.loss
        if loss is not None and self.training and self.method == "adapter_fusion":
            # AdapterFusion's value-matrix regularisation (adapters' trainer adds it when training)
            reg = self.model.base_model.get_fusion_regularization_loss()
            if reg is not None:
                loss = loss + reg
        return loss, out.logits

    @torch.no_grad()
    def encode(self, batch: dict) -> torch.Tensor:
        """Final hidden states ``(batch, seq, hidden)`` with the active adapter setup."""
        out = self.model.base_model(
            input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")
        )
        return out.last_hidden_state

    def _head(self, task: str) -> HeadSpec:
        for spec in self.heads:
            if spec.task == task:
                return spec
        raise KeyError(f"no head for task {task!r}; heads: {[h.task for h in self.heads]}")

    # parameters

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters that train (each shared parameter once)."""
        return [p for p in self.parameters() if p.requires_grad]

    def _transfer_named(self) -> dict[str, nn.Parameter]:
        """Transfer-layer parameters by state-dict name (a shared omega appears once)."""
        if self.fusion_name is None:
            return {}
        marker = f".adapter_fusion_layer.{self.fusion_name}."
        return {n: p for n, p in self.model.named_parameters() if marker in n}

    def param_counts(self) -> dict:
        """``trainable_params`` (head included) and ``transfer_params`` (None if no transfer)."""
        trainable = sum(p.numel() for p in self.trainable_parameters())
        transfer = None
        if self.method in TRANSFER_METHODS:
            transfer = sum(p.numel() for p in self._transfer_named().values())
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
        """ScaLearn: per-layer, per-source mean omega; other methods: {}."""
        if not self._scalearn_layers:
            return {}
        return {
            "omegas": scalearn.omega_table(self._scalearn_layers),
            "sources": [name for name, _ in self.sources],
            "shared_across_layers": scalearn.get_variant(self.method).shared,
        }

    def use_fused_transfer(self, enabled: bool = True) -> None:
        """ScaLearn: run the frozen sources as one batched operation (the default, where valid)
        or through the library's per-adapter modules (for comparison); other methods: no-op."""
        scalearn.set_fused(self._scalearn_layers, enabled)

    def set_omegas(self, values) -> None:
        """Sets ScaLearn's ``omega[l][s]`` (a scalar broadcasts over the hidden size)."""
        if not self._scalearn_layers:
            raise ValueError(f"method {self.method!r} has no omegas")
        scalearn.set_omega_table(self._scalearn_layers, values)

    # artifacts

    def _heads_state(self) -> dict[str, torch.Tensor]:
        return {n: p for n, p in self.model.named_parameters() if n.startswith("heads.")}

    def save_artifact(self, out_dir: str) -> None:
        """Writes adapter (adapters' format), heads, transfer layer, full weights and a json."""
        os.makedirs(out_dir, exist_ok=True)
        files = []
        if self.adapter_name is not None:
            # STL: the head goes along, so plain load_adapter restores adapter + head
            with_head = self.method != "adapter_m"
            self.model.save_adapter(
                os.path.join(out_dir, ADAPTER_DIR),
                self.adapter_name,
                with_head=with_head,
                use_safetensors=True,
            )
            files.append(ADAPTER_DIR)
        save_file(_to_cpu(self._heads_state()), os.path.join(out_dir, HEADS_FILE))
        files.append(HEADS_FILE)
        if self.fusion_name is not None:
            save_file(_to_cpu(self._transfer_named()), os.path.join(out_dir, TRANSFER_FILE))
            files.append(TRANSFER_FILE)
            if self.method == "adapter_fusion":
                self.model.save_adapter_fusion(
                    os.path.join(out_dir, FUSION_DIR), self.fusion_name, use_safetensors=True
                )
                files.append(FUSION_DIR)
        if self.method in FULL_METHODS:
            body = {n: p for n, p in self.model.named_parameters() if not n.startswith("heads.")}
            save_file(_to_cpu(body), os.path.join(out_dir, MODEL_FILE))
            files.append(MODEL_FILE)
        meta = {
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "backbone": self.backbone,
            "vocab_size": self.vocab_size,
            "heads": [asdict(h) for h in self.heads],
            "hparams": self.hparams,
            "seed": self.seed,
            "sources": [name for name, _ in self.sources],
            "adapter_name": self.adapter_name,
            "fusion_name": self.fusion_name,
            "files": files,
        }
        with open(os.path.join(out_dir, META_FILE), "w", encoding="utf-8") as f:
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
        with open(os.path.join(out_dir, META_FILE), encoding="utf-8") as f:
            meta = json.load(f)
        if base_name(meta["backbone"]) != base_name(backbone):
            raise ValueError(f"artifact was trained on {meta['backbone']!r}, not {backbone!r}")
        if meta["method"] in TRANSFER_METHODS:
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
        tensors: dict[str, torch.Tensor] = {}
        if self.adapter_name is not None:
            tensors.update(load_file(os.path.join(out_dir, ADAPTER_DIR, "adapter.safetensors")))
        tensors.update(load_file(os.path.join(out_dir, HEADS_FILE)))
        if self.fusion_name is not None:
            tensors.update(load_file(os.path.join(out_dir, TRANSFER_FILE)))
        if self.method in FULL_METHODS:
            tensors.update(load_file(os.path.join(out_dir, MODEL_FILE)))
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
