"""A probing sweep becomes nodes (see ``orchestrator.sweep.probing`` for the protocol).

Per target task T and seed k (the seeds of T's benchmark): for each source s and omega, a probe of
T over s's seed-k adapter scaled by omega; with a pairwise grid, for each pair of omegas a probe of
T over its own seed-k adapter and the partner's, in that order. Each probe depends on the source
adapters it stands on, which are planned as full-data stage-one nodes (the same ids as a full
sweep's). The omegas enter the probe's hyperparameters (``probe_omegas``), hence its id.
"""

from __future__ import annotations

from orchestrator.contract.methods import Kind
from orchestrator.planning.nodes import Node, NodeFactory
from orchestrator.sweep.spec import SweepSpec


def plan_probing(spec: SweepSpec, simulate: bool = False) -> list[Node]:
    """Every node of a probing sweep, dependencies first."""
    probing = spec.probing
    (probe,) = [m for m in spec.methods if spec.methods[m].kind == Kind.PROBE]
    make = NodeFactory(spec, simulate)
    nodes: dict[str, Node] = {}

    def add(node: Node) -> Node:
        return nodes.setdefault(node.id, node)

    def adapter(task: str, seed: int) -> Node:
        return add(make.stage_one_node(task, seed, probing.source_training))

    def node(target: str, seed: int, sources: list[Node], omegas: list[float]) -> Node:
        bench = spec.benchmark_of(target)
        hparams = {**spec.hparams(probe, bench, target), "probe_omegas": omegas}
        tasks = [s.task for s in sources]
        deps = [s.id for s in sources]
        return add(make.node(probe, bench, target, tasks, seed, deps, hparams=hparams))

    for target in probing.targets:
        bench = spec.benchmarks[spec.benchmark_of(target)]
        seeds = spec.methods[probe].seeds or bench.seeds[target]
        for seed in seeds:
            for source in probing.sources:
                src = adapter(source, seed)
                for omega in probing.omegas:
                    node(target, seed, [src], [omega])
            pairwise = probing.pairwise
            if pairwise is not None and target in pairwise.targets:
                if pairwise.partner == target:
                    continue  # a task paired with itself scales one adapter twice: not a pair
                own, partner = adapter(target, seed), adapter(pairwise.partner, seed)
                for a in pairwise.omegas:
                    for b in pairwise.omegas:
                        node(target, seed, [own, partner], [a, b])
    return list(nodes.values())
