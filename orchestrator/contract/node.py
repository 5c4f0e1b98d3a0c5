"""The node as a trainer receives it, its data and its sources; the states a node goes through."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from typing import Any

from orchestrator.contract.hparams import HParams
from orchestrator.contract.methods import Kind, ProbeSettings


class NodeStatus(str, Enum):
    """Where a node of a run stands; the finished ones are also result rows' ``status``."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"  # a dependency failed
    CACHED = "cached"  # committed in the store before the run started
    PRUNED = "pruned"  # a search sample its pruner stopped

    def __str__(self) -> str:
        return self.value


# The order progress lines and summaries show the states in.
STATUS_ORDER = (
    NodeStatus.PENDING,
    NodeStatus.RUNNING,
    NodeStatus.DONE,
    NodeStatus.FAILED,
    NodeStatus.BLOCKED,
    NodeStatus.CACHED,
)


def content_hash(value: Any, chars: int) -> str:
    """The first ``chars`` hex digits of the SHA-256 of ``value`` as canonical JSON (sorted keys,
    no spaces): what node ids, search group ids and the plan-size guard's cells hash."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:chars]


def node_label(
    method: str,
    where: str,
    seed: int,
    sources: tuple[str, ...] | list[str] = (),
    k: int | None = None,
    omegas: list[float] | None = None,
) -> str:
    """``method/task/s0``; a few-shot node adds ``k16``, a probe its sources' omegas
    (``probe/rte/mnli@0.5/s0``), so the nodes of one task and seed are told apart in logs."""
    parts = [method, where]
    if k is not None:
        parts.append(f"k{k}")
    if omegas is not None:
        parts.append("+".join(f"{t}@{o:g}" for t, o in zip(sources, omegas, strict=False)))
    return "/".join([*parts, f"s{seed}"])


@dataclass(frozen=True)
class DataSpec:
    """Where one task's data comes from, and how its train (and dev) split is cut down.

    ``source`` is "hub" (``repo``, ``config``, ``revision``), "local" (``dir``) or "synthetic"
    (``seed``, ``n_train``, ``n_test``, and the generator's ``version``). ``train_limit`` keeps at
    most that many train rows and ``k`` exactly that many (few-shot); ``dev_limit`` keeps the
    first dev rows.
    """

    source: str
    dir: str | None = None
    repo: str | None = None
    config: str | None = None
    revision: str | None = None
    seed: int | None = None
    n_train: int | None = None
    n_test: int | None = None
    version: int | None = None
    train_limit: int | None = None
    k: int | None = None
    dev_limit: int | None = None
    sample_seed: int | None = None

    @classmethod
    def from_dict(cls, values: dict) -> DataSpec:
        """From the planner's dict; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown data keys {unknown}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def to_dict(self) -> dict:
        """The keys that are set (what loaders and cache keys read)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class SourceRef:
    """A source adapter of a transfer node: its node, its task and, in a trial, its files."""

    node_id: str
    task: str
    path: str | None = None  # a local folder with the committed payload, filled by the trial


@dataclass(frozen=True)
class NodeSearch:
    """A node's part in a hyperparameter search: a sample whose values Optuna proposes, or the
    seed node that trains with the best values the samples found."""

    group: str  # the search's id, a hash of its definition
    role: str  # "sample" or "best"
    index: int | None = None  # a sample's number within its group
    keys: tuple[str, ...] = ()  # the hyperparameters searched
    spec: dict = field(default_factory=dict, compare=False)  # the search block, as planned

    def identity(self) -> dict:
        """What of the search enters the node's id (its definition's hash, not its block)."""
        out = {"group": self.group, "keys": list(self.keys), "role": self.role}
        if self.index is not None:
            out["index"] = self.index
        return out

    def to_dict(self) -> dict:
        """What the store's ``node.json`` keeps of it: the group, the role, a sample's index."""
        out = {"group": self.group, "role": self.role}
        if self.index is not None:
            out["index"] = self.index
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NodeSearch:
        """The search part from ``to_dict``'s data (or a planner's, with keys and block)."""
        return cls(
            group=values["group"],
            role=values["role"],
            index=values.get("index"),
            keys=tuple(values.get("keys") or ()),
            spec=dict(values.get("spec") or {}),
        )


@dataclass(frozen=True)
class NodeSpec:
    """One training run: everything that determines its output, and the runs it waits for.

    The planner makes it, the DAG orders it, and a trainer receives it: one type across the seam.
    A search's keys are None in ``hparams`` until the search chooses them (``with_hparams``).
    """

    id: str
    kind: Kind
    method: str
    benchmark: str
    task: str | None  # None for joint nodes
    tasks: tuple[str, ...]  # joint: its tasks; transfer: its sources' tasks; stl: (task,)
    seed: int
    backbone: str
    hparams: HParams
    data: dict[str, DataSpec]  # task -> data, for every task in ``tasks``
    sources: tuple[SourceRef, ...] = ()  # transfer: the frozen adapters, in ``tasks`` order
    simulated: bool = False
    resources: dict = field(default_factory=dict)  # {"cpu": n, "gpu": g} one trial asks for
    cost: float = 0.0  # the cost model's seconds on one reference GPU
    search: NodeSearch | None = None  # search nodes: group, role, index, searched keys
    deps: tuple[str, ...] = ()  # nodes that must be committed first (sources, a search's samples)
    # a local copy of a backbone kept in the store (the tiny model), filled by the trial
    backbone_path: str | None = None

    @property
    def label(self) -> str:
        """A short human name: method, task or benchmark, few-shot k or probed sources, seed."""
        own = self.hparams.method
        omegas = own.probe_omegas if isinstance(own, ProbeSettings) else None
        return node_label(
            self.method, self.task or self.benchmark, self.seed, self.tasks, self.hparams.k, omegas
        )

    @property
    def scored_tasks(self) -> list[str]:
        """The tasks the node reports a result for: every task of a joint node, else its own."""
        return list(self.tasks) if self.kind == Kind.JOINT else [str(self.task)]

    def data_for(self, task: str) -> DataSpec:
        """The data of ``task``; KeyError names the tasks the node has data for."""
        try:
            return self.data[task]
        except KeyError:
            raise KeyError(
                f"node {self.id}: no data for {task!r}; has {sorted(self.data)}"
            ) from None

    def with_source_paths(self, paths: dict[str, str]) -> NodeSpec:
        """The node with each source's local payload folder filled in."""
        return replace(self, sources=tuple(replace(s, path=paths[s.node_id]) for s in self.sources))

    def with_backbone_path(self, path: str | None) -> NodeSpec:
        """The node with the local folder of its stored backbone filled in."""
        return replace(self, backbone_path=path)

    def with_hparams(self, values: dict) -> NodeSpec:
        """The node with other hyperparameter values (a search's choice)."""
        values = {**self.hparams.to_dict(), **values}
        return replace(self, hparams=HParams.from_dict(values, self.method))

    def to_dict(self) -> dict:
        """Plain JSON-able data (the store's ``node.json``)."""
        out = asdict(self)
        out["kind"] = self.kind.value
        out["tasks"] = list(self.tasks)
        out["hparams"] = self.hparams.to_dict()
        out["data"] = {t: d.to_dict() for t, d in self.data.items()}
        out["sources"] = [asdict(s) for s in self.sources]
        out["search"] = self.search.to_dict() if self.search else None
        out["deps"] = list(self.deps)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NodeSpec:
        """The node from ``to_dict``'s data."""
        v = dict(values)
        v["kind"] = Kind(v["kind"])
        v["tasks"] = tuple(v["tasks"])
        v["hparams"] = HParams.from_dict(v["hparams"], v["method"])
        v["data"] = {t: DataSpec.from_dict(d) for t, d in v["data"].items()}
        v["sources"] = tuple(SourceRef(**s) for s in v.get("sources") or ())
        v["search"] = NodeSearch.from_dict(v["search"]) if v.get("search") else None
        v["deps"] = tuple(v.get("deps") or ())
        return cls(**v)


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of one run shares: where it writes, and how it trains."""

    store: str
    results: str
    sweep: str
    run_id: str
    simulate: bool = False
    speed: float = 1.0  # simulated runs: durations divided by this
    fail: str | None = None  # simulated runs: a glob of nodes that fail on purpose
