"""``orchestrator run``: a sweep as ONE Ray Tune experiment driven by the DAG searcher.

Phases, one module each: ``prepare`` plans the sweep against the store and gives cached nodes
their rows; ``tuner`` joins or starts Ray (``session``) and wires the plan into a Tuner (trainable,
resources, the DAG searcher, ``progress``); ``outcomes`` writes the rows of nodes that did not
finish and sums the run up.
"""

from __future__ import annotations

import sys
import time

from orchestrator.contract.node import NodeStatus
from orchestrator.run.options import RunOptions
from orchestrator.run.outcomes import RunSummary, record_outcomes
from orchestrator.run.prepare import prepare_run
from orchestrator.run.tuner import build_tuner
from orchestrator.sweep.spec import SweepSpec

__all__ = ["RunOptions", "RunSummary", "run_sweep"]


def run_sweep(spec: SweepSpec, options: RunOptions | None = None) -> RunSummary:
    """Plan the sweep, skip what the store holds, run the rest on Ray Tune; returns a summary.

    Raises InputError when a request fits no machine of the cluster.
    """
    o = options or RunOptions()
    run = prepare_run(spec, o.results, o.store, o.simulate, o.speed, o.simulate_failures)
    print(
        f"sweep {spec.name}: {len(run.plan.nodes)} nodes, {len(run.cached)} cached, "
        f"{len(run.todo)} to run{' (simulated)' if o.simulate else ''}; "
        f"run id {run.settings.run_id}",
        file=sys.stderr,
        flush=True,
    )
    if run.repaired:
        print(
            f"{len(run.repaired)} damaged store entr{'y' if len(run.repaired) == 1 else 'ies'} "
            "moved aside (see above); those nodes train again",
            file=sys.stderr,
            flush=True,
        )
    if not run.todo:
        return RunSummary(
            run.settings.run_id,
            spec.name,
            {NodeStatus.CACHED.value: len(run.cached)},
            wall_s=time.time() - run.started,
        )
    setup = build_tuner(run, o)
    setup.tuner.fit()
    setup.progress.line(force=True)
    setup.progress.summary()
    return record_outcomes(run, setup)
