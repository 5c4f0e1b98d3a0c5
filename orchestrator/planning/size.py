"""How many nodes a sweep makes, counted without making them: the plan-size guard.

A sweep file can ask for more nodes than anyone means (100,000 seeds, a million search samples),
and planning them costs time and memory before a word is said. ``count_nodes`` walks the planners'
loops (``planning.plan``, ``planning.fewshot``) one level up: a *cell* is every node
of one (method, task, hyperparameters, data, dependencies) that differs only in its seed, and a
search contributes its samples by arithmetic. Cells get the planners' identities (``NodeFactory``),
with a dependency standing for its cell and seed, so two cells are the same exactly when their
nodes share ids: the count is the plan's, in time proportional to methods x tasks, not to nodes.
A probing sweep (``planning.probing``) is counted by arithmetic over its targets, seeds,
sources and omegas. (A plan that stops because a source adapter is missing counts that source as
planned.)
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from orchestrator.contract.methods import Kind, methods_of_kind
from orchestrator.planning.nodes import NodeFactory
from orchestrator.sweep.spec import SweepSpec

# Above this many nodes `plan` and `run` stop unless --max-nodes raises the limit: eight times the
# largest shipped sweep (probing_pairwise.yaml, 2,505), and about a second of planning
# (benchmarks/planning.py).
DEFAULT_MAX_NODES = 20_000


class NodeCount:
    """The nodes of a sweep by method, as ``count_nodes`` finds them."""

    def __init__(self):
        self._seeds: dict[str, set[int]] = {}  # cell -> seeds
        self._samples: dict[str, int] = {}  # search group -> its sample nodes
        self._method: dict[str, str] = {}  # cell or group -> method
        self._counted: Counter = Counter()  # nodes counted by arithmetic, per method

    @property
    def total(self) -> int:
        """Every node of the plan."""
        return sum(self.by_method().values())

    def by_method(self) -> Counter:
        """Nodes per method."""
        out: Counter = Counter(self._counted)
        for cell, seeds in self._seeds.items():
            out[self._method[cell]] += len(seeds)
        for group, n in self._samples.items():
            out[self._method[group]] += n
        return out


def count_nodes(spec: SweepSpec, simulate: bool = False) -> NodeCount:
    """The nodes ``plan_sweep(spec, simulate=simulate)`` makes, by method, without making them."""
    if spec.probing is not None and spec.fewshot is None:
        return _probing(spec)
    cells = _Cells(spec, simulate)
    if spec.fewshot is not None:
        _fewshot(spec, cells)
    else:
        _full(spec, cells)
    return cells.count


class _Cells:
    def __init__(self, spec: SweepSpec, simulate: bool):
        self.spec = spec
        self.make = NodeFactory(spec, simulate)
        self.count = NodeCount()

    def node(self, method, benchmark, task, tasks, seeds, deps, hparams=None, search=None):
        """Add the cell of these nodes; returns a stand-in id per seed."""
        resolved, _, data = self.make.resolve(method, benchmark, task, tasks, search, hparams)
        identity = self.make.identity(method, task, tasks, None, resolved, data, deps, search)
        cell = _digest(identity)
        self.count._seeds.setdefault(cell, set()).update(seeds)
        self.count._method[cell] = method
        return {s: f"{cell}#{s}" for s in seeds}

    def with_search(self, method, benchmark, task, tasks, seeds, deps):
        """``NodeFactory.with_search`` for every seed at once."""
        search = self.spec.search_for(method, benchmark, task)
        if search is None:
            return self.node(method, benchmark, task, tasks, seeds, deps)
        info = self.make.search_group(method, benchmark, task, tasks, deps, search)
        group = info["group"]
        self.count._samples[group] = search.samples * len(set(search.seeds))
        self.count._method[group] = method
        # the seed nodes depend on the samples, which the group stands for
        best = {**info, "role": "best"}
        return self.node(method, benchmark, task, tasks, seeds, [*deps, group], search=best)


def _in_sweep(spec: SweepSpec, kind: Kind) -> list[str]:
    return [m for m in methods_of_kind(kind) if m in spec.methods]


def _full(spec: SweepSpec, cells: _Cells) -> None:
    """The loops of ``orchestrator.planning.plan._plan_full``."""
    stage_one = _in_sweep(spec, Kind.STL)
    for bname, bench in spec.benchmarks.items():
        for method in stage_one:
            m = spec.methods[method]
            for task in bench.tasks:
                cells.with_search(method, bname, task, [task], m.seeds or bench.seeds[task], [])
        if not spec.pooled:
            _stage_two(spec, cells, bname, bench.tasks, bench.seeds)
            _joint(spec, cells, bname, bench.tasks, bench.seeds)
    if spec.pooled:
        seeds = {t: spec.benchmarks[spec.benchmark_of(t)].seeds[t] for t in spec.tasks}
        _stage_two(spec, cells, spec.pool, spec.tasks, seeds)
        _joint(spec, cells, spec.pool, spec.tasks, seeds)


def _stage_two(spec: SweepSpec, cells: _Cells, bname: str, tasks: list[str], seeds: dict) -> None:
    transfer = _in_sweep(spec, Kind.TRANSFER)
    if not transfer:
        return
    seed = spec.source_seed
    sources = []
    for task in tasks:
        home = bname if bname in spec.benchmarks else spec.benchmark_of(task)
        sources.append(cells.with_search(spec.source_method, home, task, [task], [seed], [])[seed])
    for method in transfer:
        m = spec.methods[method]
        for task in tasks:
            cells.with_search(method, bname, task, list(tasks), m.seeds or seeds[task], sources)


def _joint(spec: SweepSpec, cells: _Cells, bname: str, tasks: list[str], seeds: dict) -> None:
    for method in _in_sweep(spec, Kind.JOINT):
        m = spec.methods[method]
        joint_seeds = m.seeds or sorted({s for t in tasks for s in seeds[t]})
        cells.with_search(method, bname, None, list(tasks), joint_seeds, [])


def _fewshot(spec: SweepSpec, cells: _Cells) -> None:
    """The loops of ``orchestrator.planning.fewshot.plan_fewshot``."""
    fewshot = spec.fewshot
    stl, transfer = _in_sweep(spec, Kind.STL), _in_sweep(spec, Kind.TRANSFER)
    seed = spec.source_seed
    for bname, bench in spec.benchmarks.items():

        def full(t, bname=bname):
            hparams = cells.make.stage_one_hparams(t, fewshot.sources)
            return cells.node(spec.source_method, bname, t, [t], [seed], [], hparams)[seed]

        for k in fewshot.k:
            extra = fewshot.run_hparams(k)

            def shot(method, task, tasks, seeds, deps, bname=bname, extra=extra):
                hparams = {**spec.hparams(method, bname, task), **extra}
                return cells.node(method, bname, task, tasks, seeds, deps, hparams)

            for method in stl:
                for task in bench.tasks:
                    shot(method, task, [task], spec.methods[method].seeds or bench.seeds[task], [])
            if not transfer:
                continue
            for task in bench.tasks:
                target = shot(spec.source_method, task, [task], [seed], [])[seed]
                deps = [target if t == task else full(t) for t in bench.tasks]
                for method in transfer:
                    seeds = spec.methods[method].seeds or bench.seeds[task]
                    shot(method, task, list(bench.tasks), seeds, deps)


def _probing(spec: SweepSpec) -> NodeCount:
    """The nodes of ``orchestrator.planning.probing.plan_probing``: per target and seed, a probe per
    source and omega and per pair of pairwise omegas (distinct ones: the id holds them), and the
    stage-one adapters of every (task, seed) a probe stands on."""
    probing = spec.probing
    count = NodeCount()
    probes = [m for m in spec.methods if spec.methods[m].kind == Kind.PROBE]
    if len(probes) != 1:
        return count  # a sweep with problems: there is nothing to plan
    probe = probes[0]
    sources = list(dict.fromkeys(probing.sources))
    omegas = len({repr(w) for w in probing.omegas})
    pairwise = probing.pairwise
    adapters: set[tuple[str, int]] = set()
    for target in dict.fromkeys(probing.targets):
        bench = spec.benchmarks[spec.benchmark_of(target)]
        for seed in dict.fromkeys(spec.methods[probe].seeds or bench.seeds[target]):
            adapters.update((s, seed) for s in sources)
            count._counted[probe] += len(sources) * omegas
            if pairwise is not None and target in pairwise.targets:
                if pairwise.partner == target:
                    continue
                adapters.update(((target, seed), (pairwise.partner, seed)))
                count._counted[probe] += len({repr(w) for w in pairwise.omegas}) ** 2
    count._counted[spec.source_method] += len(adapters)
    return count


def _digest(identity: dict) -> str:
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


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
