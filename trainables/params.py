"""Parameter counts of every method, from real modules built on the meta device (no weights)."""

from __future__ import annotations

import torch

from orchestrator.contract.methods import METHODS, Kind
from trainables.backbone_ref import parse
from trainables.models import CLASSIFICATION, HeadSpec, NodeModel


def count_params(
    backbone: str,
    n_sources: int,
    vocab_size: int | None = None,
    hparams: dict[str, dict] | None = None,
) -> list[dict]:
    """``[{"method", "kind", "trainable_params", "transfer_params", "counted"}]`` per method; a
    method whose hyperparameters do not fit the backbone has counts None and an ``error``.

    ``counted`` is what the paper counts for the method (its catalogue entry's ``counted``):
    the transfer layer for transfer methods, else the trainable parameters without the heads.

    Heads are for a 2-label classification task; transfer methods get ``n_sources`` fresh
    ``seq_bn`` sources and joint methods ``n_sources`` tasks. Models are built from the
    backbone's config alone (shipped, a folder's, or the hub cache's), so no weights are read or
    downloaded. ``hparams`` maps a method to the hparams its build gets (e.g.
    ``{"compacter_pp": {"reduction_factor": 8}}`` for tiny-roberta).
    """
    if n_sources < 1:
        raise ValueError("n_sources must be at least 1")
    name = parse(backbone).uri
    tasks = [f"task{i}" for i in range(n_sources)]
    hparams = hparams or {}
    rows = []
    # meta tensors have shapes but no storage: even roberta-large builds in well under a second
    with torch.device("meta"):
        for method, entry in METHODS.items():
            kind = entry.kind
            head_tasks = tasks if kind == Kind.JOINT else tasks[:1]
            heads = [HeadSpec(t, CLASSIFICATION, 2) for t in head_tasks]
            sources = [(t, None) for t in tasks] if kind.has_sources else None
            settings = dict(hparams.get(method, {}))
            if kind == Kind.PROBE:  # a probe scales each source by a fixed omega
                settings.setdefault("probe_omegas", [1.0] * len(tasks))
            row = {"method": method, "kind": kind.value}
            try:
                node = NodeModel.build(
                    name,
                    method,
                    heads,
                    settings,
                    seed=0,
                    sources=sources,
                    vocab_size=vocab_size,
                )
            except ValueError as e:  # hyperparameters that do not fit this backbone's sizes
                row.update(trainable_params=None, transfer_params=None, counted=None, error=str(e))
                rows.append(row)
                continue
            counts = node.param_counts()
            head_params = sum(
                p.numel()
                for n, p in node.model.named_parameters()
                if n.startswith("heads.") and p.requires_grad
            )
            counted = (
                counts["transfer_params"]
                if entry.counted == "transfer"
                else counts["trainable_params"] - head_params
            )
            rows.append({**row, **counts, "counted": counted})
    return rows
