"""What a trainer returns per task, and the result row every finished (or failed) node gets.

``ResultRow`` is the one definition of a row: ``orchestrator.results.row_files`` derives the Parquet
schema from its fields (their order is the columns' order), and both the real and the simulated
trainer return ``TaskResult``s, which ``ResultRow.build`` completes with what the run knows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NewType

from orchestrator.contract.node import NodeSpec, NodeStatus

Json = NewType("Json", str)  # a column holding JSON text


@dataclass
class TaskResult:
    """One task's outcome of a trained node (scores on the 0-100 scale)."""

    task: str
    score: float | None = None  # the task's score on test (the official validation split)
    dev_score: float | None = None  # the same on dev, of the kept evaluation
    metrics: dict[str, float] = field(default_factory=dict)  # every test metric
    dev_metrics: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None  # the kept evaluation (1-based)
    epochs_run: int | None = None
    trainable_params: int | None = None  # parameters trained, heads included
    transfer_params: int | None = None  # the transfer layer's alone (transfer nodes)
    extra: dict[str, Any] = field(default_factory=dict)  # method extras: learned omegas, losses

    def to_dict(self) -> dict:
        """Plain JSON-able data (the store's ``rows.json``)."""
        return {
            "task": self.task,
            "score": self.score,
            "dev_score": self.dev_score,
            "metrics": dict(self.metrics),
            "dev_metrics": dict(self.dev_metrics),
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "trainable_params": self.trainable_params,
            "transfer_params": self.transfer_params,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, values: dict) -> TaskResult:
        """From ``to_dict``'s data; keys of other versions are ignored."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class ResultRow:
    """One row of ``<results>/<sweep>/trials/<node_id>.parquet``: a node and one of its tasks."""

    sweep: str
    run_id: str  # the ``orchestrator run`` invocation that trained the node
    node_id: str
    kind: str  # stl | transfer | joint
    method: str
    benchmark: str
    task: str
    seed: int
    backbone: str
    status: str  # done | failed | blocked | pruned
    score: float | None = None
    dev_score: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    dev_metrics: dict[str, float] = field(default_factory=dict)
    trainable_params: int | None = None
    transfer_params: int | None = None
    best_epoch: int | None = None
    epochs_run: int | None = None
    wall_s: float | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    artifact_uri: str | None = None  # the committed payload in the store
    simulated: bool = False
    hparams: Json | None = None  # the resolved hyperparameters it trained with
    sources: list[str] = field(default_factory=list)  # node ids of a transfer node's sources
    search_group: str | None = None
    search_role: str | None = None  # "sample" (a configuration tried) or "best"
    extra: Json | None = None
    error: str | None = None

    @classmethod
    def build(
        cls,
        node: NodeSpec,
        result: TaskResult,
        *,
        sweep: str,
        run_id: str,
        status: NodeStatus | str = NodeStatus.DONE,
        started_at: float | None = None,
        finished_at: float | None = None,
        artifact_uri: str | None = None,
        error: str | None = None,
    ) -> ResultRow:
        """The full row of one of ``node``'s tasks."""
        search = node.search
        wall = finished_at - started_at if None not in (started_at, finished_at) else None
        return cls(
            sweep=sweep,
            run_id=run_id,
            node_id=node.id,
            kind=node.kind.value,
            method=node.method,
            benchmark=node.benchmark,
            task=result.task,
            seed=node.seed,
            backbone=node.backbone,
            status=NodeStatus(status).value,
            score=result.score,
            dev_score=result.dev_score,
            metrics=_floats(result.metrics),
            dev_metrics=_floats(result.dev_metrics),
            trainable_params=result.trainable_params,
            transfer_params=result.transfer_params,
            best_epoch=result.best_epoch,
            epochs_run=result.epochs_run,
            wall_s=wall,
            started_at=_timestamp(started_at),
            finished_at=_timestamp(finished_at),
            artifact_uri=artifact_uri,
            simulated=node.simulated,
            hparams=Json(json.dumps(node.hparams.to_dict(), sort_keys=True)),
            sources=[s.node_id for s in node.sources],
            search_group=search.group if search else None,
            search_role=search.role if search else None,
            extra=Json(json.dumps(result.extra, sort_keys=True, default=float)),
            error=error,
        )


def _floats(metrics: dict) -> dict[str, float]:
    return {str(k): float(v) for k, v in (metrics or {}).items() if v is not None}


def _timestamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), tz=timezone.utc)
