"""Joint multi-task nodes (Full FT-m, Adapter-m): one model, a head per task, one row per task.

Tasks are sampled in proportion to their size; with ``max_steps`` the loop evaluates every
``eval_every`` steps, otherwise once per epoch over all tasks. One best state is kept, chosen by the
mean over tasks of the dev loss (or dev score).
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
    """Train the joint model on ``node["tasks"]``; ``sources`` is unused."""
    del sources
    tasks = list(node["tasks"])
    if not tasks:
        raise ValueError(f"joint node {node.get('id')} lists no tasks")
    return train_model(node, tasks, out_dir, report, resume_from)
