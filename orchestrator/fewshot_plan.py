"""A few-shot sweep becomes nodes (see ``orchestrator.fewshot`` for the protocol).

Per benchmark and k: every stage-one method of the sweep on k examples of each task and seed; the
source method's k-shot adapter of each task with the source seed (stage two's target adapter,
whether or not the sweep lists the method); every transfer method on k examples of each target
and seed, depending on the full-data source adapters of the other tasks and the target's k-shot
adapter, in the benchmark's task order. k (and the dev limit) enter the nodes' hyperparameters,
so they are part of every id and of every result row's hparams.
"""

from __future__ import annotations

from orchestrator.methods import METHODS, STL, TRANSFER, methods_of_kind
from orchestrator.plan import Node, Plan, _make_node
from orchestrator.spec import TRAINING_DEFAULTS, SweepSpec
from trainables.tasks.registry import get_task


def source_hparams(spec: SweepSpec, task: str) -> dict:
    """The full-data source adapter's hyperparameters: the paper's stage one, then overrides.

    The sweep's ``training`` block is for the few-shot runs and does not apply here.
    """
    resolved = dict(TRAINING_DEFAULTS)
    resolved.update(METHODS[spec.source_method].defaults)
    resolved.update(spec.fewshot.sources)
    if resolved["max_length"] is None:
        resolved["max_length"] = get_task(task).max_length
    return resolved


def plan_fewshot(spec: SweepSpec, committed=None, simulate: bool = False) -> Plan:
    """Every node of a few-shot sweep; ``committed(node_id) -> bool`` marks cached nodes."""
    committed = committed or (lambda _id: False)
    fewshot = spec.fewshot
    nodes: dict[str, Node] = {}

    def add(node: Node) -> Node:
        return nodes.setdefault(node.id, node)

    for bname, bench in spec.benchmarks.items():
        full = {
            t: _make_node(
                spec,
                spec.source_method,
                bname,
                t,
                [t],
                spec.source_seed,
                [],
                simulate,
                hparams_override=source_hparams(spec, t),
            )
            for t in bench.tasks
        }
        transfer = [m for m in methods_of_kind(TRANSFER) if m in spec.methods]
        for k in fewshot.k:
            shot = _KShot(spec, bname, fewshot.run_hparams(k), simulate)
            for method in methods_of_kind(STL):
                if method in spec.methods:
                    for task in bench.tasks:
                        for seed in spec.methods[method].seeds or bench.seeds[task]:
                            add(shot.node(method, task, [task], seed, []))
            if not transfer:
                continue
            for task in bench.tasks:
                target = add(shot.node(spec.source_method, task, [task], spec.source_seed, []))
                deps = [target.id if t == task else add(full[t]).id for t in bench.tasks]
                for method in transfer:
                    for seed in spec.methods[method].seeds or bench.seeds[task]:
                        add(shot.node(method, task, list(bench.tasks), seed, deps))

    for n in nodes.values():
        n.cached = bool(committed(n.id))
    return Plan(spec.name, list(nodes.values()))


class _KShot:
    """Builds the k-shot nodes of one benchmark: the sweep's hyperparameters plus k."""

    def __init__(self, spec: SweepSpec, benchmark: str, extra: dict, simulate: bool):
        self.spec, self.benchmark, self.extra, self.simulate = spec, benchmark, extra, simulate

    def node(self, method: str, task: str, tasks: list[str], seed: int, deps: list[str]) -> Node:
        """The k-shot node of ``method`` on target ``task``."""
        hparams = {**self.spec.hparams(method, self.benchmark, task), **self.extra}
        return _make_node(
            self.spec,
            method,
            self.benchmark,
            task,
            tasks,
            seed,
            deps,
            self.simulate,
            hparams_override=hparams,
        )
