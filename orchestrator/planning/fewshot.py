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
from orchestrator.planning.builders import Builder
from orchestrator.sweep.spec import SweepSpec


def enumerate_fewshot(spec: SweepSpec, b: Builder) -> None:
    """Every cell of a few-shot sweep into ``b``, dependencies first."""
    fewshot = spec.fewshot
    stl = [m for m in methods_of_kind(Kind.STL) if m in spec.methods]
    transfer = [m for m in methods_of_kind(Kind.TRANSFER) if m in spec.methods]
    seed = spec.source_seed
    for bname, bench in spec.benchmarks.items():

        def full(t: str, bname=bname) -> str:
            """The full-data source adapter of ``t`` (the same node as a full sweep's)."""
            hparams = b.make.stage_one_hparams(t, fewshot.sources)
            return b.cell(spec.source_method, bname, t, [t], [seed], [], hparams)[seed]

        for k in fewshot.k:
            extra = fewshot.run_hparams(k)

            def shot(method, task, tasks, seeds, deps, bname=bname, extra=extra) -> dict:
                hparams = {**spec.hparams(method, bname, task), **extra}
                return b.cell(method, bname, task, tasks, seeds, deps, hparams)

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
