"""How many nodes a sweep makes, counted without making them: the plan-size guard.

A sweep file can ask for more nodes than anyone means (100,000 seeds, a million search samples),
and planning them costs time and memory before a word is said. ``count_nodes`` runs the planners'
own enumeration (``planning.plan.enumerate_plan``) into a ``NodeCounter``, which counts each cell's
seeds and a search's samples by arithmetic: the count is the plan's, in time proportional to
methods x tasks, not to nodes. (A plan that stops because a source adapter is missing counts that
source as planned.)
"""

from __future__ import annotations

from orchestrator.planning.builders import NodeCount, NodeCounter
from orchestrator.planning.plan import enumerate_plan
from orchestrator.sweep.spec import SweepSpec

__all__ = ["DEFAULT_MAX_NODES", "NodeCount", "count_nodes", "size_problem"]

# Above this many nodes `plan` and `run` stop unless --max-nodes raises the limit: eight times the
# largest shipped sweep (probing_pairwise.yaml, 2,505), and about a second of planning
# (benchmarks/planning.py).
DEFAULT_MAX_NODES = 20_000


def count_nodes(spec: SweepSpec, simulate: bool = False) -> NodeCount:
    """The nodes ``plan_sweep(spec, simulate=simulate)`` makes, by method, without making them."""
    counter = NodeCounter(spec, simulate)
    enumerate_plan(spec, counter, {})
    return counter.count


def size_problem(count: NodeCount, max_nodes: int) -> str | None:
    """The plan-size guard's message when ``count`` is above ``max_nodes``, else None."""
    total = count.total
    if total <= max_nodes:
        return None
    top = ", ".join(f"{m} {n:,}" for m, n in count.by_method().most_common(3))
    return (
        f"the sweep would make {total:,} nodes, more than the limit of {max_nodes:,} "
        f"(most: {top}); check its seeds and search samples, or raise the limit with "
        f"--max-nodes {total}"
    )
