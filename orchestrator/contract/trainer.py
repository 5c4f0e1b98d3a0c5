"""The interface of a trainer: what trains a node, for real or simulated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from orchestrator.contract.node import NodeSpec
from orchestrator.contract.rows import TaskResult

# report(metrics, checkpoint_dir): called after every evaluation; the folder lives only during the
# call (the caller copies it, as Ray Tune's report does) and is what ``resume_from`` later gets.
Report = Callable[[dict, "str | None"], None]


class Trainer(Protocol):
    """Trains one node into ``out_dir`` (existing, empty) and returns one result per task.

    ``resume_from`` is a checkpoint folder an earlier ``report`` of the same node wrote; training
    continues from it and ends exactly where an uninterrupted run would.
    """

    def train(
        self,
        node: NodeSpec,
        out_dir: str,
        report: Report | None = None,
        resume_from: str | None = None,
    ) -> list[TaskResult]: ...
