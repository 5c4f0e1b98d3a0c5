"""Nodes: one training run each, identified by a hash of everything that determines its output.

``NodeFactory`` makes the nodes of one sweep (the planners decide which). A node is the contract's
``NodeSpec``, the same object the planner makes, the DAG orders and a trainer receives; ``Node``
is its name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from orchestrator.contract import hparams as hp
from orchestrator.contract.hparams import HParams, identity_hparams
from orchestrator.contract.methods import METHODS, Kind
from orchestrator.contract.node import DataSpec, NodeSearch, NodeSpec, SourceRef, content_hash
from orchestrator.planning.cost_model import node_cost
from orchestrator.planning.data_identity import data_identity, resolve_data
from orchestrator.sweep.search import SearchSpec, group_id
from orchestrator.sweep.spec import SweepSpec
from trainables import backbone_ref
from trainables.tasks.registry import get_task

ID_HASH_CHARS = 20


Node = NodeSpec  # one node type across the seam between planner and trainer


@dataclass
class Plan:
    """The nodes of a sweep in dependency order (dependencies before dependents)."""

    sweep: str
    nodes: list[Node]
    cached: set[str] = field(default_factory=set)  # ids of nodes the store already holds

    def by_id(self) -> dict[str, Node]:
        """Nodes keyed by id."""
        return {n.id: n for n in self.nodes}

    def to_dict(self) -> dict:
        """The plan as ``plan --json`` prints it."""
        keys = ("id", "method", "benchmark", "task", "seed", "backbone", "deps", "resources")
        nodes = []
        for n in self.nodes:
            d = {"kind": n.kind.value, **{k: getattr(n, k) for k in keys}}
            d["deps"] = list(n.deps)
            d["hparams"] = n.hparams.to_dict()
            d["cached"] = n.id in self.cached
            d["tasks"] = list(n.tasks)
            d["cost_s"] = round(n.cost, 1)
            if n.search:
                d["search"] = n.search.identity()
            nodes.append(d)
        return {"sweep": self.sweep, "nodes": nodes}


def limits_train(hparams: dict) -> bool:
    """Whether a node keeps only some train rows (a train limit or few-shot k)."""
    return hparams.get("train_limit") is not None or hparams.get("k") is not None


def selection_identity(hparams: dict, tasks: list[str]) -> dict:
    """What ``select: score`` compares per scored task, where it is not what the project's first
    version compared (the mean of every metric): STS-B's Pearson, MRPC's, QQP's and CB's
    accuracy (the official few-shot scripts), MultiRC's F1a and ReCoRD's F1 (their scores)."""
    if hparams.get("select") != "score":
        return {}
    out = {}
    for t in tasks:
        spec = get_task(t)
        if spec.select_metric or spec.logged:
            out[t] = spec.select_metric or "+".join(spec.metrics)
    return out


def _nonempty(key: str, value: dict) -> dict:
    return {key: value} if value else {}


def node_id(method: str, label: str, seed: int, identity: dict) -> str:
    """A content hash of everything that determines a node's output, readable at a glance."""
    return f"{method}-{label}-s{seed}-{content_hash(identity, ID_HASH_CHARS)}"


class NodeFactory:
    """Makes the nodes of one sweep: resolved hyperparameters, data, identity, cost."""

    def __init__(self, spec: SweepSpec, simulated: bool):
        self.spec, self.simulated = spec, simulated
        ref = spec.backbone_ref or backbone_ref.parse(spec.backbone)
        # once per sweep: a local checkpoint's identity hashes its files
        self.backbone_identity = backbone_ref.identity(ref)
        config = backbone_ref.config_dict(ref)
        self.backbone_arch = backbone_ref.arch(config) if config else None

    def node(
        self,
        method: str,
        benchmark: str,
        task: str | None,
        tasks: list[str],
        seed: int,
        deps: list[str],
        *,
        search: NodeSearch | None = None,
        sources: list[str] | None = None,
        hparams: dict | None = None,
    ) -> Node:
        """The node of ``method`` on ``task`` (or a joint node's ``tasks``) with ``seed``.

        ``hparams`` replaces the sweep's resolution (few-shot and source nodes resolve their own);
        ``sources`` are a transfer node's source adapters when its ``deps`` hold more (a search's
        samples).
        """
        spec = self.spec
        kind = METHODS[method].kind
        resolved, costed, data = self.resolve(method, benchmark, task, tasks, search, hparams)
        identity = self.identity(method, task, tasks, seed, resolved, data, deps, search)
        label = task or benchmark
        if search and search.role == "sample":
            label = f"{label}-search{search.index}"
        # a transfer node's sources follow its tasks, one adapter per task (fewer only in a plan
        # that lacks some, which the planner refuses with a problem naming them)
        source_ids = list(deps if sources is None else sources) if kind.has_sources else []
        return Node(
            id=node_id(method, label, seed, identity),
            kind=kind,
            method=method,
            benchmark=benchmark,
            task=task,
            tasks=tuple(tasks),
            seed=seed,
            backbone=spec.backbone,
            hparams=HParams.from_dict(resolved, method),
            data={t: DataSpec.from_dict(d) for t, d in data.items()},
            sources=tuple(SourceRef(i, t) for i, t in zip(source_ids, tasks, strict=False)),
            simulated=self.simulated,
            resources=spec.method_resources(method),
            cost=node_cost(method, self.backbone_arch, tasks, costed),
            search=search,
            deps=tuple(deps),
        )

    def resolve(
        self,
        method: str,
        benchmark: str,
        task: str | None,
        tasks: list[str],
        search: NodeSearch | None = None,
        hparams: dict | None = None,
    ) -> tuple[dict, dict, dict]:
        """(hyperparameters as planned, as costed, data per task) of a node."""
        resolved = self.spec.hparams(method, benchmark, task) if hparams is None else hparams
        costed = resolved
        if search:
            # searched values are chosen at run time; the search's definition stands in for them
            resolved = {k: (None if k in search.keys else v) for k, v in resolved.items()}
        data = {t: resolve_data(t, self._data_of(benchmark, t)) for t in tasks}
        if task is not None and task not in data:  # a probe scores a task none of its sources has
            data[task] = resolve_data(task, self._data_of(benchmark, task))
        return resolved, costed, data

    def identity(
        self,
        method: str,
        task: str | None,
        tasks: list[str],
        seed: int | None,
        resolved: dict,
        data: dict,
        deps: list[str],
        search: NodeSearch | None = None,
    ) -> dict:
        """Everything that determines a node's output: what its id hashes."""
        kind = METHODS[method].kind
        identity = {
            "kind": kind.value,
            "method": method,
            # A stage-one node is the same run whichever benchmark lists its task (SuperGLUE's RTE
            # is GLUE's), so the benchmark enters the identity only through multi-task nodes' tasks.
            "task": task,
            "tasks": tasks if kind != Kind.STL else None,
            "seed": seed,
            "backbone": self.backbone_identity,
            "hparams": identity_hparams(resolved),
            "data": {t: data_identity(d, t, limits_train(resolved)) for t, d in data.items()},
            "deps": deps,
            "simulated": self.simulated,
        }
        selection = selection_identity(resolved, [task] if task else tasks)
        if selection:
            identity["selection"] = selection
        if search:
            identity["search"] = search.identity()
        return identity

    def search_group(
        self,
        method: str,
        benchmark: str,
        task: str | None,
        tasks: list[str],
        deps: list[str],
        search: SearchSpec,
    ) -> NodeSearch:
        """The group of a search (its seed node's part, ``role="best"``): its id (a hash of what
        defines it), block and searched keys."""
        base = self.spec.hparams(method, benchmark, task)
        keys = sorted(search.space)
        gid = group_id(
            {
                "method": method,
                "task": task,
                "tasks": tasks,
                "backbone": self.backbone_identity,
                "hparams": identity_hparams({k: v for k, v in base.items() if k not in keys}),
                "data": {
                    t: data_identity(
                        resolve_data(t, self._data_of(benchmark, t)), t, limits_train(base)
                    )
                    for t in tasks
                },
                **_nonempty("selection", selection_identity(base, [task] if task else tasks)),
                "deps": deps,
                "search": search.to_dict(),
                "simulated": self.simulated,
            }
        )
        return NodeSearch(gid, "best", keys=tuple(keys), spec=search.to_dict())

    def _data_of(self, benchmark: str, task: str) -> dict:
        """``task``'s data spec: of ``benchmark`` if it lists the task, else of the sweep's first
        benchmark that does (a probe's source may belong to another benchmark)."""
        if benchmark in self.spec.benchmarks and task in self.spec.benchmarks[benchmark].data:
            return self.spec.benchmarks[benchmark].data[task]
        return self.spec.benchmarks[self.spec.benchmark_of(task)].data[task]

    def stage_one_node(
        self, task: str, seed: int, overrides: dict, benchmark: str | None = None
    ) -> Node:
        """The source method's full-data node of ``task``: the paper's stage-one hyperparameters
        and ``overrides``, not the sweep's ``training`` (which is for the sweep's own runs), so it
        is the same node, with the same id, as a full sweep's."""
        spec = self.spec
        resolved = self.stage_one_hparams(task, overrides)
        bench = benchmark or spec.benchmark_of(task)
        return self.node(spec.source_method, bench, task, [task], seed, [], hparams=resolved)

    def stage_one_hparams(self, task: str, overrides: dict) -> dict:
        """The hyperparameters of ``stage_one_node``."""
        method = self.spec.source_method
        resolved = hp.defaults(method)
        resolved.update(METHODS[method].defaults)
        resolved.update(hp.read_by(method, overrides))
        if resolved["max_length"] is None:
            resolved["max_length"] = get_task(task).max_length
        return resolved

    def with_search(
        self,
        method: str,
        benchmark: str,
        task: str | None,
        tasks: list[str],
        seed: int,
        deps: list[str],
    ) -> list[Node]:
        """The node of (method, task, seed), preceded by its search's sample nodes if it has one.

        The last node returned is the seed node; with a search it depends on every sample.
        """
        spec = self.spec
        search = spec.search_for(method, benchmark, task)
        if search is None:
            return [self.node(method, benchmark, task, tasks, seed, deps)]
        info = self.search_group(method, benchmark, task, tasks, deps, search)
        samples = [
            self.node(
                method,
                benchmark,
                task,
                tasks,
                s,
                deps,
                search=replace(info, role="sample", index=i),
            )
            for i in range(search.samples)
            for s in search.seeds
        ]
        best = self.node(
            method,
            benchmark,
            task,
            tasks,
            seed,
            [*deps, *(n.id for n in samples)],
            search=info,
            sources=deps,
        )
        return [*samples, best]
