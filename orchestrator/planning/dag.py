"""The dependency DAG of a plan: readiness, priorities, blocked descendants, cycle check."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from orchestrator.planning.nodes import Node


class CycleError(ValueError):
    """The nodes' dependencies form a cycle."""


class Dag:
    """Dependencies between nodes and each node's priority (longest remaining chain of work)."""

    def __init__(self, nodes: Iterable[Node]):
        self.nodes: dict[str, Node] = {n.id: n for n in nodes}
        self.children: dict[str, list[str]] = defaultdict(list)
        for n in self.nodes.values():
            for d in n.deps:
                if d not in self.nodes:
                    raise KeyError(f"node {n.id} depends on {d}, which is not in the plan")
                self.children[d].append(n.id)
        self.order = self._topological_order()
        self.priority = self._priorities()

    def _topological_order(self) -> list[str]:
        indegree = {i: len(n.deps) for i, n in self.nodes.items()}
        frontier = [i for i, d in indegree.items() if d == 0]
        order = []
        while frontier:
            i = frontier.pop()
            order.append(i)
            for c in self.children[i]:
                indegree[c] -= 1
                if indegree[c] == 0:
                    frontier.append(c)
        if len(order) != len(self.nodes):
            stuck = sorted(i for i, d in indegree.items() if d > 0)
            raise CycleError(f"dependency cycle among: {', '.join(stuck[:5])}")
        return order

    def _priorities(self) -> dict[str, float]:
        """Cost of a node plus the costliest chain of work that waits on it."""
        prio: dict[str, float] = {}
        for i in reversed(self.order):
            below = max((prio[c] for c in self.children[i]), default=0.0)
            prio[i] = self.nodes[i].cost + below
        return prio

    def critical_path(self) -> float:
        """Length in seconds of the costliest dependency chain."""
        return max(self.priority.values(), default=0.0)

    def ready(self, pending: Iterable[str], done: set[str]) -> list[str]:
        """The pending nodes whose dependencies are all done, highest priority first."""
        ready = [i for i in pending if all(d in done for d in self.nodes[i].deps)]
        return sorted(ready, key=lambda i: (-self.priority[i], i))

    def descendants(self, node_id: str) -> set[str]:
        """Every node that depends, directly or not, on ``node_id``."""
        seen: set[str] = set()
        stack = list(self.children[node_id])
        while stack:
            i = stack.pop()
            if i not in seen:
                seen.add(i)
                stack.extend(self.children[i])
        return seen
