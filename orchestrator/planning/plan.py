"""A sweep becomes a plan: every training run as a node (``planning.nodes``), in DAG order.

Per benchmark: the stage-one methods on every task and seed; the source adapters of stage two (the
sweep's ``sources`` method with its seed, on every task) and every transfer method on every target
and seed over all of them; the joint methods per seed. Few-shot sweeps are planned by
``orchestrator.planning.fewshot``, probing sweeps by ``orchestrator.planning.probing``. Each
planner enumerates the sweep once into a builder (``planning.builders``): the nodes for a plan,
or their count for the plan-size guard.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.contract.methods import Kind, methods_of_kind
from orchestrator.planning.builders import Builder, NodeCollector
from orchestrator.planning.fewshot import enumerate_fewshot
from orchestrator.planning.nodes import Node, Plan
from orchestrator.planning.probing import enumerate_probing
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
    collector = NodeCollector(spec, simulate, committed)
    enumerate_plan(spec, collector, missing)
    nodes = list(collector.nodes.values())
    cached = {n.id for n in nodes if committed(n.id)} if mark_cached else set()
    key = f"methods.{_in_sweep(spec, Kind.TRANSFER)[0]}" if missing else ""
    problems = [
        Problem(spec.path, key, _missing_source(spec, benchmark), tasks)
        for benchmark, tasks in missing.items()
    ]
    return Plan(spec.name, nodes, cached), problems


def enumerate_plan(spec: SweepSpec, b: Builder, missing: dict[str, list[str]]) -> None:
    """Hand every cell of the sweep to ``b``, dependencies first: the one enumeration that both
    ``plan_sweep`` and the plan-size guard (``planning.size``) use."""
    if spec.fewshot is not None:
        enumerate_fewshot(spec, b)
    elif spec.probing is not None:
        enumerate_probing(spec, b)
    else:
        _enumerate_full(spec, b, missing)


def _enumerate_full(spec: SweepSpec, b: Builder, missing: dict[str, list[str]]) -> None:
    stage_one = _in_sweep(spec, Kind.STL)
    if spec.pooled:
        for bname, bench in spec.benchmarks.items():
            _stage_one(b, spec, stage_one, bname, bench)
        seeds = {t: spec.benchmarks[spec.benchmark_of(t)].seeds[t] for t in spec.tasks}
        _stage_two(b, missing, spec, spec.pool, spec.tasks, seeds)
        _joint(b, spec, spec.pool, spec.tasks, seeds)
    else:
        for bname, bench in spec.benchmarks.items():
            _stage_one(b, spec, stage_one, bname, bench)
            _stage_two(b, missing, spec, bname, bench.tasks, bench.seeds)
            _joint(b, spec, bname, bench.tasks, bench.seeds)


def _stage_one(b: Builder, spec: SweepSpec, methods: list[str], bname: str, bench) -> None:
    for method in methods:
        m = spec.methods[method]
        for task in bench.tasks:
            b.searched(method, bname, task, [task], m.seeds or bench.seeds[task], [])


def _stage_two(
    b: Builder,
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
        source = b.source(spec.source_method, home, task, spec.source_seed)
        if source is None:
            missing.setdefault(home, []).append(task)
            continue
        sources.append(source)
    for method in transfer:
        m = spec.methods[method]
        for task in tasks:
            b.searched(method, bname, task, list(tasks), m.seeds or seeds[task], sources)


def _joint(b: Builder, spec: SweepSpec, bname: str, tasks: list[str], seeds: dict) -> None:
    for method in _in_sweep(spec, Kind.JOINT):
        m = spec.methods[method]
        joint_seeds = m.seeds or sorted({s for t in tasks for s in seeds[t]})
        b.searched(method, bname, None, list(tasks), joint_seeds, [])


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
