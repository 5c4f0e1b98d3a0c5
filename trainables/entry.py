"""The real trainer, which the orchestrator calls inside a Ray trial: ``NodeTrainer``."""

from __future__ import annotations

import gc
import random

from orchestrator.contract.node import NodeSpec
from orchestrator.contract.rows import TaskResult
from orchestrator.contract.trainer import Report


class NodeTrainer:
    """The ``Trainer`` that trains for real, with as many threads as the node's CPUs."""

    def train(
        self,
        node: NodeSpec,
        out_dir: str,
        report: Report | None = None,
        resume_from: str | None = None,
    ) -> list[TaskResult]:
        threads = max(1, int(node.resources.get("cpu", 1)))
        return train_node(node, out_dir, report, resume_from, num_threads=threads)


def train_node(
    node: NodeSpec,
    out_dir: str,
    report: Report | None = None,
    resume_from: str | None = None,
    num_threads: int | None = None,
) -> list[TaskResult]:
    """Train one node and write its payload into ``out_dir`` (existing, empty).

    A transfer node's sources must have their local payload folders (``SourceRef.path``);
    ``report(metrics, checkpoint_dir)`` is called after every epoch (the folder lives only during
    the call); ``resume_from`` is such a folder, copied earlier, to continue from.
    """
    import numpy as np
    import torch

    from trainables.training import train_model

    if num_threads:
        torch.set_num_threads(int(num_threads))
    # the loop seeds torch itself; these cover any library that draws from the global RNGs
    random.seed(node.seed)
    np.random.seed(node.seed % 2**32)
    try:
        return train_model(node, out_dir, report, resume_from)
    finally:
        # Ray reuses this process for the next trial: give back what this one held
        gc.collect()
        if torch.cuda.is_initialized():
            torch.cuda.empty_cache()
