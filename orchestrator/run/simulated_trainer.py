"""The stand-in trainable of ``run --simulate``: sleeps for the cost model's duration.

It lets a user check a sweep and its scheduling on real Ray Tune before spending GPU time.
Its scores are a hash of the node id, clearly not results; its nodes carry ``simulated = true`` in
their ids, artifacts and rows, so they can never pass for, or stand in for, real ones.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import time

from orchestrator.contract.node import NodeSpec
from orchestrator.contract.rows import TaskResult
from orchestrator.contract.trainer import Report

# pretend epochs: enough to exercise checkpoints and resume, few to keep Tune's cost low
REPORTS = 3


def fake_score(node_id: str, task: str) -> float:
    """A deterministic number in [40, 90) derived from the node id."""
    digest = hashlib.sha256(f"{node_id}/{task}".encode()).digest()
    return 40.0 + 50.0 * int.from_bytes(digest[:4], "big") / 2**32


class SimulatedFailure(RuntimeError):
    """A failure asked for with ``run --simulate --simulate-failures PATTERN``."""


def matches(node: NodeSpec, pattern: str | None) -> bool:
    """Whether ``pattern`` (a glob over node ids and method/task/seed labels) names the node."""
    if not pattern:
        return False
    return any(
        fnmatch.fnmatch(node.id, p) or fnmatch.fnmatch(node.label, p) for p in pattern.split(",")
    )


class SimulatedTrainer:
    """The ``Trainer`` of ``run --simulate``: sleeps ``cost / speed`` seconds in REPORTS steps,
    reporting and checkpointing each step; nodes matching ``fail`` raise after their first step,
    to rehearse failure handling."""

    def __init__(self, speed: float = 1.0, fail: str | None = None):
        self.speed, self.fail = speed, fail

    def train(
        self,
        node: NodeSpec,
        out_dir: str,
        report: Report | None = None,
        resume_from: str | None = None,
    ) -> list[TaskResult]:
        start_epoch = 0
        if resume_from:
            with open(os.path.join(resume_from, "state.json")) as f:
                start_epoch = json.load(f)["epoch"]
        step = node.cost / max(self.speed, 1e-9) / REPORTS
        for epoch in range(start_epoch + 1, REPORTS + 1):
            time.sleep(step)
            ckpt = os.path.join(out_dir, f".checkpoint-{epoch}")
            os.makedirs(ckpt, exist_ok=True)
            with open(os.path.join(ckpt, "state.json"), "w") as f:
                json.dump({"epoch": epoch}, f)
            if matches(node, self.fail):
                raise SimulatedFailure(f"simulated failure of {node.id} in epoch {epoch}")
            if report is not None:
                metrics = {"epoch": epoch, "epochs_total": REPORTS}
                report({**metrics, "dev_score": fake_score(node.id, "dev")}, ckpt)
        for name in os.listdir(out_dir):
            if name.startswith(".checkpoint-"):
                shutil.rmtree(os.path.join(out_dir, name))
        with open(os.path.join(out_dir, "SIMULATED"), "w") as f:
            f.write("a stand-in artifact written by `orchestrator run --simulate`; no model here\n")
        return [_fake_result(node, task) for task in node.scored_tasks]


def _fake_result(node: NodeSpec, task: str) -> TaskResult:
    s = fake_score(node.id, task)
    return TaskResult(
        task=task,
        score=s,
        dev_score=s,
        metrics={"simulated": s},
        dev_metrics={"simulated": s},
        best_epoch=REPORTS,
        epochs_run=REPORTS,
        trainable_params=0,
        transfer_params=None,
        # what a real trainer's summary says of the sources too, so tables of sources work
        extra={"transfer": {"sources": [s.task for s in node.sources]}} if node.sources else {},
    )
