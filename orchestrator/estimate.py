"""How long a plan takes on N GPUs: a list-scheduling simulation of the cost model, no Ray.

Each node holds its GPU share (a CPU-only node counts as one GPU) for its cost-model duration;
whenever GPUs free up, the ready nodes start in priority order (longest remaining chain first),
each that fits. Fractional trials are assumed to run at full speed side by side.
"""

from __future__ import annotations

import heapq
from dataclasses import replace

from orchestrator.dag import Dag
from orchestrator.plan import Plan


def gpu_share(node) -> float:
    """The GPUs a node holds while it runs (a CPU-only node counts as one)."""
    g = float(node.resources.get("gpu") or 0)
    return g if g > 0 else 1.0


def simulate_schedule(plan: Plan, gpus: float) -> dict:
    """Makespan, critical path, lower bound and utilisation of the plan's uncached nodes."""
    if gpus <= 0:
        raise ValueError("--gpus must be positive")
    todo = [n for n in plan.nodes if not n.cached]
    cached = {n.id for n in plan.nodes if n.cached}
    dag = Dag(without_cached_deps(todo, cached))
    share = {n.id: min(gpu_share(n), gpus) for n in todo}
    work = sum(n.cost * share[n.id] for n in todo)
    done: set[str] = set()
    pending = set(dag.nodes)
    running: list[tuple[float, str]] = []
    free, now = float(gpus), 0.0
    while pending or running:
        for i in dag.ready(pending, done):
            if share[i] <= free + 1e-9:
                free -= share[i]
                pending.discard(i)
                heapq.heappush(running, (now + dag.nodes[i].cost, i))
        if not running:
            break
        now, i = heapq.heappop(running)
        free += share[i]
        done.add(i)
        while running and running[0][0] <= now + 1e-9:
            _, j = heapq.heappop(running)
            free += share[j]
            done.add(j)
    makespan = now
    critical = dag.critical_path()
    bound = max(critical, work / gpus)
    return {
        "gpus": gpus,
        "nodes": len(todo),
        "total_work_gpu_h": work / 3600,
        "makespan_h": makespan / 3600,
        "critical_path_h": critical / 3600,
        "lower_bound_h": bound / 3600,
        "makespan_over_bound": makespan / bound if bound else 1.0,
        "utilisation": work / (gpus * makespan) if makespan else 1.0,
    }


def without_cached_deps(todo, cached: set[str]):
    """Copies of the nodes whose dependencies on cached nodes are dropped (those are done)."""
    return [replace(n, deps=[d for d in n.deps if d not in cached]) for n in todo]
