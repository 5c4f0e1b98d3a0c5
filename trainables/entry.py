"""The one entry point the orchestrator calls inside a Ray trial: ``train_node``."""

from __future__ import annotations

import gc
import random

from trainables.loop import Report

KINDS = ("stl", "transfer", "joint")


def train_node(
    node: dict,
    sources: dict[str, str],
    out_dir: str,
    report: Report | None = None,
    resume_from: str | None = None,
    num_threads: int | None = None,
) -> dict:
    """Train one node and write its payload into ``out_dir`` (existing, empty).

    ``sources`` maps source node id -> local payload folder; ``report(metrics, checkpoint_dir)`` is
    called after every epoch (the folder lives only during the call); ``resume_from`` is such a
    folder, copied earlier, to continue from. Returns {"rows": [one row per task]}.
    """
    import numpy as np
    import torch

    from trainables import joint, stl, transfer

    kind = node.get("kind")
    if kind not in KINDS:
        raise ValueError(f"node {node.get('id')}: kind must be one of {KINDS}, not {kind!r}")
    if num_threads:
        torch.set_num_threads(int(num_threads))
    # the loop seeds torch itself; these cover any library that draws from the global RNGs
    random.seed(node["seed"])
    np.random.seed(node["seed"] % 2**32)
    module = {"stl": stl, "transfer": transfer, "joint": joint}[kind]
    try:
        return module.train(node, sources, out_dir, report=report, resume_from=resume_from)
    finally:
        # Ray reuses this process for the next trial: give back what this one held
        gc.collect()
        if torch.cuda.is_initialized():
            torch.cuda.empty_cache()
