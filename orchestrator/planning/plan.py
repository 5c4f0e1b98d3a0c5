"""A sweep becomes a plan: every training run as a node (``planning.nodes``), in DAG order.

Per benchmark: the stage-one methods on every task and seed; the source adapters of stage two (the
sweep's ``sources`` method with its seed, on every task) and every transfer method on every target
and seed over all of them; the joint methods per seed. Few-shot sweeps are planned by
``orchestrator.planning.fewshot``, probing sweeps by ``orchestrator.planning.probing``.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.contract.methods import Kind, methods_of_kind
from orchestrator.planning.fewshot import plan_fewshot
from orchestrator.planning.nodes import Node, NodeFactory, Plan
from orchestrator.planning.probing import plan_probing
from orchestrator.problems import Problem
from orchestrator.sweep.spec import SpecError, SweepSpec

__all__ = ["Node", "Plan", "build_plan", "plan_sweep"]


def plan_sweep(
    spec: SweepSpec, committed: Callable[[str], bool] | None = None, simulate: bool = False
) -> Plan:
    """Every node of a sweep; ``committed(node_id) -> bool`` marks nodes already in the store.

    Raises SpecError when a transfer method's source adapters are neither trained by the sweep nor
    already committed in the store.
    """
    plan, missing = build_plan(spec, committed, simulate)
    if missing:
        raise SpecError(spec.path, missing)
    return plan


def build_plan(
    spec: SweepSpec,
    committed: Callable[[str], bool] | None = None,
    simulate: bool = False,
    mark_cached: bool = True,
) -> tuple[Plan, list[Problem]]:
    """The plan and the problem of source adapters neither trained nor stored (one per cause,
    listing the tasks); ``mark_cached=False`` looks up only those sources in the store."""
    committed = committed or (lambda _id: False)
    missing: dict[str, list[str]] = {}  # benchmark -> tasks whose source is missing
    if spec.fewshot is not None:
        nodes = plan_fewshot(spec, simulate)
    elif spec.probing is not None:
        nodes = plan_probing(spec, simulate)
    else:
        nodes = _plan_full(spec, committed, simulate, missing)
    if mark_cached:
        for n in nodes:
            n.cached = bool(committed(n.id))
    key = f"methods.{_in_sweep(spec, Kind.TRANSFER)[0]}" if missing else ""
    problems = [
        Problem(spec.path, key, _missing_source(spec, benchmark), tasks)
        for benchmark, tasks in missing.items()
    ]
    return Plan(spec.name, nodes), problems


def _plan_full(
    spec: SweepSpec,
    committed: Callable[[str], bool],
    simulate: bool,
    missing: dict[str, list[str]],
) -> list[Node]:
    make = NodeFactory(spec, simulate)
    nodes: dict[str, Node] = {}

    def add(node: Node) -> Node:
        return nodes.setdefault(node.id, node)

    def have(node: Node) -> bool:
        return node.id in nodes or committed(node.id)

    stage_one = _in_sweep(spec, Kind.STL)
    if spec.pooled:
        for bname, bench in spec.benchmarks.items():
            _stage_one(make, add, spec, stage_one, bname, bench)
        seeds = {t: spec.benchmarks[spec.benchmark_of(t)].seeds[t] for t in spec.tasks}
        _stage_two(make, add, have, missing, spec, spec.pool, spec.tasks, seeds)
        _joint(make, add, spec, spec.pool, spec.tasks, seeds)
    else:
        for bname, bench in spec.benchmarks.items():
            _stage_one(make, add, spec, stage_one, bname, bench)
            _stage_two(make, add, have, missing, spec, bname, bench.tasks, bench.seeds)
            _joint(make, add, spec, bname, bench.tasks, bench.seeds)
    return list(nodes.values())


def _stage_one(make: NodeFactory, add, spec: SweepSpec, methods: list[str], bname: str, bench):
    for method in methods:
        m = spec.methods[method]
        for task in bench.tasks:
            for seed in m.seeds or bench.seeds[task]:
                for n in make.with_search(method, bname, task, [task], seed, []):
                    add(n)


def _stage_two(
    make: NodeFactory,
    add,
    have,
    missing: dict[str, list[str]],
    spec: SweepSpec,
    bname: str,
    tasks: list[str],
    seeds: dict[str, list[int]],
) -> None:
    """Every transfer method on every target of ``tasks`` over the source adapters of all of
    them; ``bname`` is a benchmark of the sweep or its pool. Targets whose source is neither
    planned nor stored go to ``missing``, by the source's benchmark."""
    transfer = _in_sweep(spec, Kind.TRANSFER)
    if not transfer:
        return
    sources = []
    for task in tasks:
        home = bname if bname in spec.benchmarks else spec.benchmark_of(task)
        *src_search, src = make.with_search(
            spec.source_method, home, task, [task], spec.source_seed, []
        )
        if not have(src):
            missing.setdefault(home, []).append(task)
            continue
        for n in src_search:
            add(n)
        sources.append(add(src))
    source_ids = [s.id for s in sources]
    for method in transfer:
        m = spec.methods[method]
        for task in tasks:
            for seed in m.seeds or seeds[task]:
                for n in make.with_search(method, bname, task, list(tasks), seed, source_ids):
                    add(n)


def _joint(
    make: NodeFactory, add, spec: SweepSpec, bname: str, tasks: list[str], seeds: dict
) -> None:
    for method in _in_sweep(spec, Kind.JOINT):
        m = spec.methods[method]
        for seed in m.seeds or sorted({s for t in tasks for s in seeds[t]}):
            for n in make.with_search(method, bname, None, list(tasks), seed, []):
                add(n)


def _in_sweep(spec: SweepSpec, kind: Kind) -> list[str]:
    """The sweep's methods of ``kind``, in the paper's order."""
    return [m for m in methods_of_kind(kind) if m in spec.methods]


def _missing_source(spec: SweepSpec, benchmark: str) -> str:
    """Why the sweep does not train its sources of ``benchmark``'s tasks, and the keys to fix."""
    transfer = ", ".join(_in_sweep(spec, Kind.TRANSFER))
    method, seed = spec.source_method, spec.source_seed
    if method not in spec.methods:
        why = f"the sweep does not train {method!r}: add it to methods"
    elif spec.methods[method].seeds is not None:
        why = f"methods.{method}.seeds lacks seed {seed}: add it"
    else:
        why = f"benchmarks.{benchmark}.seeds (or its task_seeds) lacks seed {seed} for them: add it"
    return (
        f"the transfer methods ({transfer}) need the stage-one {method!r} adapter with seed {seed} "
        f"of every task as a source (sources.method, sources.seed), and the store does not hold "
        f"those of the tasks listed; {why}, or point --store at a store that has them"
    )
