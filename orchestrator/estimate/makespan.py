"""How long a plan takes on N GPUs: a list-scheduling simulation of the cost model, no Ray.

Each node holds its GPU share (a CPU-only node counts as one GPU) for its cost-model duration;
whenever GPUs free up, the ready nodes start in priority order (longest remaining chain first),
each that fits. Fractional trials are assumed to run at full speed side by side.

Two baselines say what the DAG scheduling buys over what a researcher would otherwise do:

- ``two_waves``: all of stage one (stage-one and joint nodes) first, then all of stage two, each
  wave list-scheduled in the plan's order with the same packing of fractional GPUs; the only
  difference from ours is the barrier between the waves and the order.
- ``loop_per_gpu``: the reference scripts' shell loops, one per GPU: the nodes in the plan's
  order are dealt round-robin to the GPUs, and each GPU runs its list one node at a time, whole
  GPU each (a loop does not pack half-GPU jobs), waiting when a node's sources are not done.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import replace

from orchestrator.contract.methods import Kind
from orchestrator.planning.dag import Dag
from orchestrator.planning.nodes import Plan

TWO_WAVES, LOOP_PER_GPU = "two_waves", "loop_per_gpu"
STAGE_TWO_KINDS = (Kind.TRANSFER,)


def gpu_share(node) -> float:
    """The GPUs a node holds while it runs (a CPU-only node counts as one)."""
    g = float(node.resources.get("gpu") or 0)
    return g if g > 0 else 1.0


def _todo_dag(plan: Plan) -> Dag:
    """The DAG of the plan's uncached nodes (dependencies on cached nodes count as done)."""
    todo = [n for n in plan.nodes if n.id not in plan.cached]
    cached = set(plan.cached)
    return Dag(without_cached_deps(todo, cached))


def _list_schedule(
    dag: Dag,
    ids: list[str],
    share: dict[str, float],
    gpus: float,
    start: float,
    order: Callable[[str], object],
) -> dict[str, float]:
    """Finish times of ``ids`` list-scheduled from ``start``; ready nodes start in ``order``,
    each that fits in the GPUs free at that moment.

    Dependencies outside ``ids`` count as done by ``start``. Linear in the nodes and edges up to
    a log factor (a running sweep's time left reschedules all its open nodes, again and again):
    ready nodes wait in one heap per GPU share, so a start takes the first node in ``order``
    among the shares that fit, which is what a scan of every ready node in order would start.
    """
    members = set(ids)
    waiting: dict[str, int] = {}
    children: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        inside = [d for d in dag.nodes[i].deps if d in members]
        waiting[i] = len(inside)
        for d in inside:
            children[d].append(i)
    ready: dict[float, list] = {}  # share -> heap of (order key, id)

    def make_ready(i: str) -> None:
        heapq.heappush(ready.setdefault(share[i], []), (order(i), i))

    for i in ids:
        if not waiting[i]:
            make_ready(i)
    finish: dict[str, float] = {}
    running: list[tuple[float, str]] = []
    free, now = float(gpus), start
    while ready or running:
        while True:
            fits = [h for s, h in ready.items() if h and s <= free + 1e-9]
            if not fits:
                break
            _, i = heapq.heappop(min(fits, key=lambda h: h[0]))
            free -= share[i]
            heapq.heappush(running, (now + dag.nodes[i].cost, i))
        if not running:
            break
        now, i = heapq.heappop(running)
        done = [i]
        while running and running[0][0] <= now + 1e-9:
            done.append(heapq.heappop(running)[1])
        for j in done:
            free += share[j]
            finish[j] = now
            for c in children[j]:
                waiting[c] -= 1
                if not waiting[c]:
                    make_ready(c)
    return finish


def _shares(dag: Dag, gpus: float) -> dict[str, float]:
    return {i: min(gpu_share(n), gpus) for i, n in dag.nodes.items()}


def _summary(makespan: float, work: float, gpus: float, bound: float) -> dict:
    return {
        "makespan_h": makespan / 3600,
        "makespan_over_bound": makespan / bound if bound else 1.0,
        "utilisation": work / (gpus * makespan) if makespan else 1.0,
    }


def simulate_schedule(plan: Plan, gpus: float) -> dict:
    """Makespan, critical path, lower bound and utilisation of the plan's uncached nodes."""
    if gpus <= 0:
        raise ValueError("--gpus must be positive")
    dag = _todo_dag(plan)
    share = _shares(dag, gpus)
    work = sum(n.cost * share[i] for i, n in dag.nodes.items())
    finish = _list_schedule(dag, list(dag.nodes), share, gpus, 0.0, lambda i: (-dag.priority[i], i))
    makespan = max(finish.values(), default=0.0)
    critical = dag.critical_path()
    bound = max(critical, work / gpus)
    return {
        "gpus": gpus,
        "nodes": len(dag.nodes),
        "total_work_gpu_h": work / 3600,
        "critical_path_h": critical / 3600,
        "lower_bound_h": bound / 3600,
        **_summary(makespan, work, gpus, bound),
    }


def two_waves_makespan(plan: Plan, gpus: float) -> float:
    """Seconds to run all of stage one, then all of stage two, in plan order (see module doc)."""
    dag = _todo_dag(plan)
    share = _shares(dag, gpus)
    position = {i: k for k, i in enumerate(dag.nodes)}
    first = [i for i, n in dag.nodes.items() if n.kind not in STAGE_TWO_KINDS]
    second = [i for i, n in dag.nodes.items() if n.kind in STAGE_TWO_KINDS]
    # a stage-one node that waits on a stage-two node would belong to no wave: none exists today
    if any(d in set(second) for i in first for d in dag.nodes[i].deps):
        raise ValueError("a stage-one node depends on a stage-two node; two waves cannot run it")
    finish = _list_schedule(dag, first, share, gpus, 0.0, position.__getitem__)
    barrier = max(finish.values(), default=0.0)
    finish = _list_schedule(dag, second, share, gpus, barrier, position.__getitem__)
    return max(finish.values(), default=barrier)


def loop_per_gpu_makespan(plan: Plan, gpus: float) -> float:
    """Seconds for one sequential loop per whole GPU over the plan's order (see module doc)."""
    dag = _todo_dag(plan)
    loops = max(1, math.floor(gpus + 1e-9))
    free = [0.0] * loops
    finish: dict[str, float] = {}
    # plan order puts dependencies first, so each node's sources have finish times already
    for k, (i, node) in enumerate(dag.nodes.items()):
        g = k % loops
        start = max([free[g]] + [finish[d] for d in node.deps])
        finish[i] = free[g] = start + node.cost
    return max(finish.values(), default=0.0)


def compare_schedules(plan: Plan, gpus: float) -> dict:
    """Our estimate plus the two baselines on the same plan, cost model and GPUs."""
    est = simulate_schedule(plan, gpus)
    bound_s = est["lower_bound_h"] * 3600
    work_s = est["total_work_gpu_h"] * 3600
    ours_s = est["makespan_h"] * 3600
    baselines = {}
    for name, makespan in (
        (TWO_WAVES, two_waves_makespan(plan, gpus)),
        (LOOP_PER_GPU, loop_per_gpu_makespan(plan, gpus)),
    ):
        baselines[name] = {
            **_summary(makespan, work_s, gpus, bound_s),
            "ours_speedup": makespan / ours_s if ours_s else 1.0,
        }
    return {**est, "baselines": baselines}


def without_cached_deps(todo, cached: set[str]):
    """Copies of the nodes whose dependencies on cached nodes are dropped (those are done)."""
    return [replace(n, deps=[d for d in n.deps if d not in cached]) for n in todo]


def remaining_makespan(nodes: list, seconds: dict[str, float], slots: int) -> float:
    """Seconds until ``nodes`` are done, each taking ``seconds[id]`` and one of ``slots`` trials
    running at once, list-scheduled longest chain first; dependencies on nodes not listed count
    as done (a running sweep's time left: ``orchestrator.estimate.time_left``)."""
    if not nodes:
        return 0.0
    ids = {n.id for n in nodes}
    dag = Dag([replace(n, cost=seconds[n.id], deps=[d for d in n.deps if d in ids]) for n in nodes])
    share = dict.fromkeys(dag.nodes, 1.0)
    finish = _list_schedule(
        dag, list(dag.nodes), share, float(slots), 0.0, lambda i: (-dag.priority[i], i)
    )
    return max(finish.values(), default=0.0)
