"""One enumeration of a plan, two uses: making its nodes, and counting them without making them.

The planners (``plan``, ``fewshot``, ``probing``) walk a sweep once, cell by cell: a *cell* is
every node of one (method, task, hyperparameters, data, dependencies) that differs only in its
seed. They hand each cell to a builder:

- ``NodeCollector`` makes the nodes of every seed (``plan_sweep``);
- ``NodeCounter`` gives the cell the planners' identity (``NodeFactory.identity``) with a
  dependency standing for its cell and seed, and counts its seeds, so two cells are the same
  exactly when their nodes share ids: the plan-size guard's count is the plan's, in time
  proportional to cells, not to nodes (a sweep of 100,000 seeds is counted before it is made).

A builder's methods return, per seed, what a dependent cell names as that seed's dependency: a
node id, or the counter's stand-in for one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from orchestrator.contract.node import NodeSearch, content_hash
from orchestrator.planning.nodes import Node, NodeFactory
from orchestrator.sweep.spec import SweepSpec

CELL_HASH_CHARS = 32  # long enough that two cells never share a stand-in

# A cell's dependencies: one list for every seed, or a list per seed (a probe stands on the
# adapters of its own seed).
Deps = list[str] | Callable[[int], list[str]]


def _deps_of(deps: Deps, seed: int) -> list[str]:
    return list(deps(seed)) if callable(deps) else list(deps)


class NodeCollector:
    """Makes every node of the cells it is given, each once, in the order first given."""

    def __init__(self, spec: SweepSpec, simulate: bool, committed: Callable[[str], bool]):
        self.spec = spec
        self.make = NodeFactory(spec, simulate)
        self.nodes: dict[str, Node] = {}
        self._committed = committed

    def _add(self, node: Node) -> Node:
        return self.nodes.setdefault(node.id, node)

    def cell(
        self,
        method: str,
        benchmark: str,
        task: str | None,
        tasks: list[str],
        seeds: Iterable[int],
        deps: Deps = (),
        hparams: dict | None = None,
    ) -> dict[int, str]:
        """The nodes of (method, task) for each seed, with ``hparams`` in place of the sweep's."""
        out = {}
        for seed in seeds:
            node = self.make.node(
                method, benchmark, task, tasks, seed, _deps_of(deps, seed), hparams=hparams
            )
            out[seed] = self._add(node).id
        return out

    def searched(
        self,
        method: str,
        benchmark: str,
        task: str | None,
        tasks: list[str],
        seeds: Iterable[int],
        deps: Deps = (),
    ) -> dict[int, str]:
        """``cell`` with the method's search, if it has one, before each seed node."""
        out = {}
        for seed in seeds:
            made = self.make.with_search(method, benchmark, task, tasks, seed, _deps_of(deps, seed))
            for node in made:
                self._add(node)
            out[seed] = made[-1].id
        return out

    def source(self, method: str, benchmark: str, task: str, seed: int) -> str | None:
        """A full-data source adapter a transfer cell stands on, searched like any stage-one node;
        None (nothing added) when the sweep neither plans nor the store holds it."""
        *search, node = self.make.with_search(method, benchmark, task, [task], seed, [])
        if node.id not in self.nodes and not self._committed(node.id):
            return None
        for n in search:
            self._add(n)
        return self._add(node).id


class NodeCount:
    """The nodes of a sweep by method, as ``NodeCounter`` finds them."""

    def __init__(self):
        self.seeds: dict[str, set[int]] = {}  # cell -> seeds
        self.samples: dict[str, int] = {}  # search group -> its sample nodes
        self.method: dict[str, str] = {}  # cell or group -> method

    @property
    def total(self) -> int:
        """Every node of the plan."""
        return sum(self.by_method().values())

    def by_method(self) -> Counter:
        """Nodes per method."""
        out: Counter = Counter()
        for cell, seeds in self.seeds.items():
            out[self.method[cell]] += len(seeds)
        for group, n in self.samples.items():
            out[self.method[group]] += n
        return out


class NodeCounter:
    """Counts the nodes of the cells it is given, making none. A source the store would have to
    hold counts as planned (the plan stops with a problem in that case anyway)."""

    def __init__(self, spec: SweepSpec, simulate: bool):
        self.spec = spec
        self.make = NodeFactory(spec, simulate)
        self.count = NodeCount()

    def cell(
        self,
        method: str,
        benchmark: str,
        task: str | None,
        tasks: list[str],
        seeds: Iterable[int],
        deps: Deps = (),
        hparams: dict | None = None,
        search: NodeSearch | None = None,
    ) -> dict[int, str]:
        """Add the cell; returns a stand-in id per seed."""
        seeds = list(seeds)
        if not seeds:
            return {}
        resolved, _, data = self.make.resolve(method, benchmark, task, tasks, search, hparams)
        # a dependency on a cell of the node's own seed stands for "this seed's", so every seed of
        # a probe (which stands on the adapters of its seed) is one cell
        own = _deps_of(deps, seeds[0])
        if callable(deps):
            mine = f"#{seeds[0]}"
            own = [d[: -len(mine)] + "#own" if d.endswith(mine) else d for d in own]
        identity = self.make.identity(method, task, tasks, None, resolved, data, own, search)
        cell = content_hash(identity, CELL_HASH_CHARS)
        self.count.seeds.setdefault(cell, set()).update(seeds)
        self.count.method[cell] = method
        return {s: f"{cell}#{s}" for s in seeds}

    def searched(
        self,
        method: str,
        benchmark: str,
        task: str | None,
        tasks: list[str],
        seeds: Iterable[int],
        deps: Deps = (),
    ) -> dict[int, str]:
        """``NodeFactory.with_search`` for every seed at once."""
        search = self.spec.search_for(method, benchmark, task)
        if search is None:
            return self.cell(method, benchmark, task, tasks, seeds, deps)
        fixed = _deps_of(deps, 0)  # a searched method's deps are the same for every seed
        best = self.make.search_group(method, benchmark, task, tasks, fixed, search)
        self.count.samples[best.group] = search.samples * len(set(search.seeds))
        self.count.method[best.group] = method
        # the seed nodes depend on the samples, which the group stands for
        return self.cell(method, benchmark, task, tasks, seeds, [*fixed, best.group], search=best)

    def source(self, method: str, benchmark: str, task: str, seed: int) -> str:
        """The stand-in of a source adapter, counted as planned."""
        return self.searched(method, benchmark, task, [task], [seed])[seed]


# What a planner enumerates into.
Builder = NodeCollector | NodeCounter
