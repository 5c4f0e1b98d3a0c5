"""Stage-two transfer nodes: a target task over the frozen stage-one adapters of all tasks.

The node lists its source tasks in ``node["tasks"]`` aligned with its source node ids
(``node["source_ids"]``, or ``node["deps"]`` as the planner names them); ``sources`` maps each id
to the local folder holding that source's payload.
"""

from __future__ import annotations

from trainables.loop import Report
from trainables.stl import train_model


def train(
    node: dict,
    sources: dict[str, str],
    out_dir: str,
    report: Report | None = None,
    resume_from: str | None = None,
) -> dict:
    """Train the transfer layer (ScaLearn variants or AdapterFusion) and a head for the target."""
    return train_model(
        node,
        [node["task"]],
        out_dir,
        report,
        resume_from,
        model_sources=source_payloads(node, sources),
    )


def source_payloads(node: dict, sources: dict[str, str]) -> list[tuple[str, str]]:
    """[(source task, payload folder)] in the node's source order (omega rows follow it)."""
    ids = node.get("source_ids") or node.get("deps") or []
    tasks = node.get("tasks") or []
    if len(ids) != len(tasks):
        raise ValueError(
            f"node {node.get('id')}: {len(tasks)} source tasks but {len(ids)} "
            "source ids; they must align"
        )
    missing = [i for i in ids if i not in sources]
    if missing:
        raise KeyError(f"node {node.get('id')}: no payload folder for sources {missing}")
    return [(task, sources[i]) for task, i in zip(tasks, ids, strict=True)]
