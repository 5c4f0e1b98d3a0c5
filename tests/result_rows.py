"""Result rows for tests: a ``ResultRow`` from the fields a test cares about."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from orchestrator.contract.rows import ResultRow

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
