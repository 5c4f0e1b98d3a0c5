"""A sweep becomes nodes: one node per training run, identified by a hash of what it depends on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from orchestrator.cost import node_cost
from orchestrator.data_identity import data_identity, resolve_data
from orchestrator.methods import JOINT, METHODS, STL, TRANSFER, methods_of_kind
from orchestrator.search import group_id
from orchestrator.spec import SpecError, SweepSpec

ID_HASH_CHARS = 20


@dataclass
class Node:
    """One training run of a sweep."""

    id: str
    kind: str
    method: str
    benchmark: str
    task: str | None
    tasks: list[str]
    seed: int
    backbone: str
    hparams: dict
    data: dict  # task -> resolved data spec
    deps: list[str] = field(default_factory=list)  # nodes that must finish first
    sources: list[str] = field(default_factory=list)  # transfer: source adapters, task order
    resources: dict = field(default_factory=dict)
    cost: float = 0.0
    simulated: bool = False
    cached: bool = False
    # Search nodes: {"group", "role": "sample" | "best", "index" (samples), "spec", "keys"}
    search: dict | None = None

    def to_dict(self) -> dict:
        """Plain data for JSON, Ray trial configs and result rows."""
        return asdict(self)

    @property
    def label(self) -> str:
        """A short human name: method, task or benchmark, seed."""
        return f"{self.method}/{self.task or self.benchmark}/s{self.seed}"


@dataclass
class Plan:
    """The nodes of a sweep in dependency order (dependencies before dependents)."""

    sweep: str
    nodes: list[Node]

    def by_id(self) -> dict[str, Node]:
        """Nodes keyed by id."""
        return {n.id: n for n in self.nodes}

    def to_dict(self) -> dict:
        """The plan as ``plan --json`` prints it."""
        keys = (
            "id",
            "kind",
            "method",
            "benchmark",
            "task",
            "seed",
            "backbone",
            "hparams",
            "deps",
            "resources",
            "cached",
        )
        nodes = []
        for n in self.nodes:
            d = {k: getattr(n, k) for k in keys}
            d["tasks"] = n.tasks
            d["cost_s"] = round(n.cost, 1)
            if n.search:
                d["search"] = {k: v for k, v in n.search.items() if k != "spec"}
            nodes.append(d)
        return {"sweep": self.sweep, "nodes": nodes}


def node_id(kind: str, method: str, label: str, seed: int, identity: dict) -> str:
    """A content hash of everything that determines a node's output, readable at a glance."""
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:ID_HASH_CHARS]
    return f"{method}-{label}-s{seed}-{digest}"


def _make_node(
    spec: SweepSpec,
    method: str,
    benchmark: str,
    task: str | None,
    tasks: list[str],
    seed: int,
    deps: list[str],
    simulated: bool,
    search: dict | None = None,
    sources: list[str] | None = None,
    hparams_override: dict | None = None,
) -> Node:
    kind = METHODS[method].kind
    # few-shot nodes (orchestrator.fewshot_plan) resolve their own hyperparameters
    hparams = (
        spec.hparams(method, benchmark, task) if hparams_override is None else hparams_override
    )
    if search:
        # searched values are chosen at run time; the search's definition stands in for them
        hparams = {k: (None if k in search["keys"] else v) for k, v in hparams.items()}
    bench = spec.benchmarks[benchmark]
    data = {t: resolve_data(t, bench.data[t]) for t in tasks}
    identity = {
        "kind": kind,
        "method": method,
        # A stage-one node is the same run whichever benchmark lists its task (SuperGLUE's RTE is
        # GLUE's), so the benchmark enters the identity only through the tasks of multi-task nodes.
        "task": task,
        "tasks": tasks if kind != STL else None,
        "seed": seed,
        "backbone": spec.backbone,
        "hparams": hparams,
        "data": {t: data_identity(d) for t, d in data.items()},
        "deps": deps,
        "simulated": simulated,
    }
    label = task or benchmark
    if search:
        identity["search"] = {k: v for k, v in search.items() if k != "spec"}
        if search["role"] == "sample":
            label = f"{label}-search{search['index']}"
    return Node(
        id=node_id(kind, method, label, seed, identity),
        kind=kind,
        method=method,
        benchmark=benchmark,
        task=task,
        tasks=tasks,
        seed=seed,
        backbone=spec.backbone,
        hparams=hparams,
        data=data,
        deps=list(deps),
        sources=list(deps if sources is None else sources) if kind == TRANSFER else [],
        resources=spec.method_resources(method),
        cost=node_cost(
            method,
            spec.backbone,
            tasks,
            hparams if hparams_override else _costed(hparams, spec, method, benchmark, task),
        ),
        simulated=simulated,
        search=search,
    )


def _costed(hparams: dict, spec: SweepSpec, method: str, benchmark: str, task: str | None) -> dict:
    """Hyperparameters for the cost model: searched values (unknown yet) at their base value."""
    if all(v is not None for v in hparams.values()):
        return hparams
    base = spec.hparams(method, benchmark, task)
    return {k: (base[k] if v is None else v) for k, v in hparams.items()}


def _with_search(
    spec: SweepSpec,
    method: str,
    benchmark: str,
    task: str | None,
    tasks: list[str],
    seed: int,
    deps: list[str],
    simulated: bool,
) -> list[Node]:
    """The node of (method, task, seed), preceded by its search's sample nodes if it has one.

    The last node returned is the seed node; with a search it depends on every sample.
    """
    search = spec.search_for(method, benchmark, task)
    if search is None:
        return [_make_node(spec, method, benchmark, task, tasks, seed, deps, simulated)]
    base = spec.hparams(method, benchmark, task)
    keys = sorted(search.space)
    gid = group_id(
        {
            "method": method,
            "task": task,
            "tasks": tasks,
            "backbone": spec.backbone,
            "hparams": {k: v for k, v in base.items() if k not in keys},
            "data": {
                t: data_identity(resolve_data(t, spec.benchmarks[benchmark].data[t])) for t in tasks
            },
            "deps": deps,
            "search": search.to_dict(),
            "simulated": simulated,
        }
    )
    info = {"group": gid, "spec": search.to_dict(), "keys": keys}
    samples = [
        _make_node(
            spec,
            method,
            benchmark,
            task,
            tasks,
            s,
            deps,
            simulated,
            {**info, "role": "sample", "index": i},
        )
        for i in range(search.samples)
        for s in search.seeds
    ]
    best = _make_node(
        spec,
        method,
        benchmark,
        task,
        tasks,
        seed,
        [*deps, *(n.id for n in samples)],
        simulated,
        {**info, "role": "best"},
        sources=deps,
    )
    return [*samples, best]


def plan_sweep(spec: SweepSpec, committed=None, simulate: bool = False) -> Plan:
    """Every node of a sweep; ``committed(node_id) -> bool`` marks nodes already in the store.

    Raises SpecError when a transfer method's source adapters are neither trained by the sweep nor
    already committed in the store.
    """
    if spec.fewshot is not None:
        from orchestrator.fewshot_plan import plan_fewshot  # it imports this module

        return plan_fewshot(spec, committed, simulate)
    committed = committed or (lambda _id: False)
    nodes: dict[str, Node] = {}
    problems: list[str] = []

    def add(node: Node) -> Node:
        nodes.setdefault(node.id, node)
        return nodes[node.id]

    for bname, bench in spec.benchmarks.items():
        for method in methods_of_kind(STL):
            if method not in spec.methods:
                continue
            m = spec.methods[method]
            for task in bench.tasks:
                for seed in m.seeds or bench.seeds[task]:
                    for n in _with_search(spec, method, bname, task, [task], seed, [], simulate):
                        add(n)

        transfer = [m for m in methods_of_kind(TRANSFER) if m in spec.methods]
        if transfer:
            sources = []
            for task in bench.tasks:
                *src_search, src = _with_search(
                    spec, spec.source_method, bname, task, [task], spec.source_seed, [], simulate
                )
                if src.id not in nodes and not committed(src.id):
                    problems.append(
                        f"methods.{transfer[0]}: needs the stage-one {spec.source_method!r} "
                        f"adapter of {task!r} with seed {spec.source_seed} as a source; "
                        "the sweep does not train it and the store does not hold it. "
                        f"Add {spec.source_method!r} to methods with seed {spec.source_seed} "
                        f"for {task!r}, or point --store at a store that has it"
                    )
                    continue
                for n in src_search:
                    add(n)
                sources.append(add(src))
            source_ids = [s.id for s in sources]
            for method in transfer:
                m = spec.methods[method]
                for task in bench.tasks:
                    for seed in m.seeds or bench.seeds[task]:
                        for n in _with_search(
                            spec,
                            method,
                            bname,
                            task,
                            list(bench.tasks),
                            seed,
                            source_ids,
                            simulate,
                        ):
                            add(n)

        for method in methods_of_kind(JOINT):
            if method not in spec.methods:
                continue
            m = spec.methods[method]
            seeds = m.seeds or sorted({s for t in bench.tasks for s in bench.seeds[t]})
            for seed in seeds:
                for n in _with_search(
                    spec, method, bname, None, list(bench.tasks), seed, [], simulate
                ):
                    add(n)

    if problems:
        raise SpecError(spec.path, sorted(set(problems)))
    for n in nodes.values():
        n.cached = bool(committed(n.id))
    return Plan(spec.name, list(nodes.values()))
