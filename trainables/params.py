"""Parameter counts of every method, from real modules built on the meta device (no weights)."""

from __future__ import annotations

import torch

from orchestrator.contract.methods import METHODS, Kind
from trainables.backbones import RANDOM_PREFIX, TINY, base_name
from trainables.models import CLASSIFICATION, HeadSpec, NodeModel


def count_params(
    backbone: str,
    n_sources: int,
    vocab_size: int | None = None,
    hparams: dict[str, dict] | None = None,
) -> list[dict]:
    """``[{"method", "kind", "trainable_params", "transfer_params", "counted"}]`` per method.

    ``counted`` is what the paper counts for the method (its catalogue entry's ``counted``):
    the transfer layer for transfer methods, else the trainable parameters without the heads.

    Heads are for a 2-label classification task; transfer methods get ``n_sources`` fresh
    ``seq_bn`` sources and joint methods ``n_sources`` tasks. Hub names are counted on their
    random twin (same architecture), so nothing is downloaded. ``hparams`` maps a method to the
    hparams its build gets (e.g. ``{"compacter_pp": {"reduction_factor": 8}}`` for tiny-roberta).
    """
    if n_sources < 1:
        raise ValueError("n_sources must be at least 1")
    base = base_name(backbone)
    name = base if base == TINY else RANDOM_PREFIX + base
    tasks = [f"task{i}" for i in range(n_sources)]
    hparams = hparams or {}
    rows = []
    # meta tensors have shapes but no storage: even roberta-large builds in well under a second
    with torch.device("meta"):
        for method, entry in METHODS.items():
            kind = entry.kind
            head_tasks = tasks if kind == Kind.JOINT else tasks[:1]
            heads = [HeadSpec(t, CLASSIFICATION, 2) for t in head_tasks]
            sources = [(t, None) for t in tasks] if kind == Kind.TRANSFER else None
            node = NodeModel.build(
                name,
                method,
                heads,
                hparams.get(method, {}),
                seed=0,
                sources=sources,
                vocab_size=vocab_size,
            )
            counts = node.param_counts()
            heads = sum(
                p.numel()
                for n, p in node.model.named_parameters()
                if n.startswith("heads.") and p.requires_grad
            )
            counted = (
                counts["transfer_params"]
                if entry.counted == "transfer"
                else counts["trainable_params"] - heads
            )
            rows.append({"method": method, "kind": kind.value, **counts, "counted": counted})
    return rows
