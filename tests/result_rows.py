"""Result rows for tests: a ``ResultRow`` from the fields a test cares about."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from orchestrator.contract.rows import ResultRow
from orchestrator.results import row_files as results

_REQUIRED = {
    "sweep": "s",
    "run_id": "r",
    "kind": "stl",
    "benchmark": "synthetic",
    "seed": 0,
    "backbone": "tiny-roberta",
    "status": "done",
}


def result_row(**fields) -> ResultRow:
    """A row with ``fields``; timestamps may be epoch seconds, hparams and extra plain dicts."""
    values = {**_REQUIRED, **fields}
    for k in ("started_at", "finished_at"):
        if isinstance(values.get(k), (int, float)):
            values[k] = datetime.fromtimestamp(values[k], tz=timezone.utc)
    for k in ("hparams", "extra"):
        if isinstance(values.get(k), dict):
            values[k] = json.dumps(values[k], sort_keys=True)
    return ResultRow(**values)


def row(node, task, score, status="done", simulated=False, finished=2.0, method="adapter", seed=0):
    """A stage-one row of the synthetic benchmark."""
    return result_row(
        **{
            "sweep": "s",
            "run_id": "r",
            "node_id": node,
            "kind": "stl",
            "method": method,
            "benchmark": "synthetic",
            "task": task,
            "seed": seed,
            "backbone": "tiny-roberta",
            "status": status,
            "score": score,
            "metrics": {"accuracy": score},
            "started_at": 1.0,
            "finished_at": finished,
            "simulated": simulated,
            "hparams": {"lr": 0.1},
            "extra": {"omegas": [[0.1]]},
        }
    )


def add(
    res,
    node,
    method,
    task,
    seed,
    score,
    benchmark="glue",
    kind="stl",
    extra=None,
    simulated=False,
    finished=2.0,
    status="done",
):
    """Write one GLUE row of ``node`` to the results folder ``res`` (sweep ``s``)."""
    results.write_node_rows(
        res,
        "s",
        node,
        [
            result_row(
                **{
                    "sweep": "s",
                    "run_id": "r",
                    "node_id": node,
                    "kind": kind,
                    "method": method,
                    "benchmark": benchmark,
                    "task": task,
                    "seed": seed,
                    "backbone": "roberta-base",
                    "status": status,
                    "score": score,
                    "dev_score": score - 1,
                    "started_at": 1.0,
                    "finished_at": finished,
                    "simulated": simulated,
                    "transfer_params": 73728,
                    "extra": extra or {},
                }
            )
        ],
    )
