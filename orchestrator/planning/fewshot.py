"""A few-shot sweep becomes nodes (see ``orchestrator.sweep.fewshot`` for the protocol).

Per benchmark and k: every stage-one method of the sweep on k examples of each task and seed; the
source method's k-shot adapter of each task with the source seed (stage two's target adapter,
whether or not the sweep lists the method); every transfer method on k examples of each target
and seed, depending on the full-data source adapters of the other tasks and the target's k-shot
adapter, in the benchmark's task order. k (and the dev limit) enter the nodes' hyperparameters,
so they are part of every id and of every result row's hparams.
"""

from __future__ import annotations

from orchestrator.contract.methods import Kind, methods_of_kind
from orchestrator.planning.nodes import Node, NodeFactory
from orchestrator.sweep.spec import SweepSpec


def plan_fewshot(spec: SweepSpec, simulate: bool = False) -> list[Node]:
    """Every node of a few-shot sweep, dependencies first."""
    fewshot = spec.fewshot
    make = NodeFactory(spec, simulate)
    nodes: dict[str, Node] = {}

    def add(node: Node) -> Node:
        return nodes.setdefault(node.id, node)

    stl = [m for m in methods_of_kind(Kind.STL) if m in spec.methods]
    transfer = [m for m in methods_of_kind(Kind.TRANSFER) if m in spec.methods]
    for bname, bench in spec.benchmarks.items():
        full = {
            t: make.stage_one_node(t, spec.source_seed, fewshot.sources, benchmark=bname)
            for t in bench.tasks
        }
        for k in fewshot.k:
            extra = fewshot.run_hparams(k)

            def shot(method, task, tasks, seed, deps, bname=bname, extra=extra) -> Node:
                hparams = {**spec.hparams(method, bname, task), **extra}
                return make.node(method, bname, task, tasks, seed, deps, hparams=hparams)

            for method in stl:
                for task in bench.tasks:
                    for seed in spec.methods[method].seeds or bench.seeds[task]:
                        add(shot(method, task, [task], seed, []))
            if not transfer:
                continue
            for task in bench.tasks:
                target = add(shot(spec.source_method, task, [task], spec.source_seed, []))
                deps = [target.id if t == task else add(full[t]).id for t in bench.tasks]
                for method in transfer:
                    for seed in spec.methods[method].seeds or bench.seeds[task]:
                        add(shot(method, task, list(bench.tasks), seed, deps))
    return list(nodes.values())
