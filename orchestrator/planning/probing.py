"""A probing sweep becomes nodes (see ``orchestrator.sweep.probing`` for the protocol).

Per target task T and seed k (the seeds of T's benchmark): for each source s and omega, a probe of
T over s's seed-k adapter scaled by omega; with a pairwise grid, for each pair of omegas a probe of
T over its own seed-k adapter and the partner's, in that order. Each probe depends on the source
adapters it stands on, which are planned as full-data stage-one nodes (the same ids as a full
sweep's). The omegas enter the probe's hyperparameters (``probe_omegas``), hence its id.
"""

from __future__ import annotations

from orchestrator.contract.methods import Kind
from orchestrator.planning.builders import Builder
from orchestrator.sweep.spec import SweepSpec


def probe_method(spec: SweepSpec) -> str | None:
    """The sweep's one probe method, or None when it has none or several (a sweep with
    problems: there is nothing to plan)."""
    probes = [m for m in spec.methods if spec.methods[m].kind == Kind.PROBE]
    return probes[0] if len(probes) == 1 else None


def enumerate_probing(spec: SweepSpec, b: Builder) -> None:
    """Every cell of a probing sweep into ``b``, dependencies first."""
    probing = spec.probing
    probe = probe_method(spec)
    if probe is None:
        return

    def adapters(task: str, seeds: list[int]) -> dict:
        hparams = b.make.stage_one_hparams(task, probing.source_training)
        bench = spec.benchmark_of(task)
        return b.cell(spec.source_method, bench, task, [task], seeds, [], hparams)

    def probes(target: str, seeds: list[int], sources: list[tuple[str, dict]], omegas) -> None:
        bench = spec.benchmark_of(target)
        hparams = {**spec.hparams(probe, bench, target), "probe_omegas": omegas}
        tasks = [task for task, _ in sources]
        b.cell(probe, bench, target, tasks, seeds, lambda s: [a[s] for _, a in sources], hparams)

    for target in probing.targets:
        bench = spec.benchmarks[spec.benchmark_of(target)]
        seeds = spec.methods[probe].seeds or bench.seeds[target]
        for source in probing.sources:
            src = adapters(source, seeds)
            for omega in probing.omegas:
                probes(target, seeds, [(source, src)], [omega])
        pairwise = probing.pairwise
        # a task paired with itself scales one adapter twice: not a pair
        if pairwise is not None and target in pairwise.targets and pairwise.partner != target:
            own, partner = adapters(target, seeds), adapters(pairwise.partner, seeds)
            for first in pairwise.omegas:
                for second in pairwise.omegas:
                    pair = [(target, own), (pairwise.partner, partner)]
                    probes(target, seeds, pair, [first, second])
