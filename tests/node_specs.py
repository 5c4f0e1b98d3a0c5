"""Building ``NodeSpec``s in tests without a sweep file."""

from __future__ import annotations

from orchestrator.contract.hparams import HParams
from orchestrator.contract.methods import Kind
from orchestrator.contract.node import DataSpec, NodeSpec, SourceRef


def node_spec(
    method: str,
    task: str | None,
    tasks: list[str],
    hparams: dict,
    data: dict[str, dict],
    *,
    kind: str,
    benchmark: str = "synthetic",
    seed: int = 0,
    backbone: str = "tiny-roberta",
    sources: list[tuple[str, str, str | None]] = (),
    node_id: str | None = None,
    cpu: int = 1,
) -> NodeSpec:
    """A node of ``method``; ``sources`` are (node id, task, payload folder) triples."""
    return NodeSpec(
        id=node_id or f"{method}-{task}",
        kind=Kind(kind),
        method=method,
        benchmark=benchmark,
        task=task,
        tasks=tuple(tasks),
        seed=seed,
        backbone=backbone,
        hparams=HParams.from_dict(hparams, method),
        data={t: DataSpec.from_dict(d) for t, d in data.items()},
        sources=tuple(SourceRef(i, t, p) for i, t, p in sources),
        resources={"cpu": cpu, "gpu": 0},
    )
