"""Which architectures the ``adapters`` library runs each method on, read without torch.

The table (``adapter_support.json``) is extracted from the installed library by
``python -m trainables.adapter_support_probe --write``: for every model type that has an adapters
``AdapterModel``, each method of the catalogue is built on it (on the meta device, through the
same ``NodeModel`` code a trial runs) and counts as supported when it builds and adds what it
trains; each problem type counts when its head builds. A test probes the installed library again
and compares, so the table cannot drift from the library the trainers use.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

TABLE_FILE = "adapter_support.json"


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    """The stored table: ``{"adapters": version, "model_types": {type: {...}}}``."""
    return json.loads(resources.files("trainables").joinpath(TABLE_FILE).read_text())


def adapters_version() -> str:
    """The adapters version the table was extracted from."""
    return table()["adapters"]


def model_types() -> list[str]:
    """Every model type the library has an AdapterModel for."""
    return sorted(table()["model_types"])


def runnable_model_types() -> list[str]:
    """The model types on which at least one method runs."""
    return [t for t in model_types() if table()["model_types"][t]["methods"]]


def supported_methods(model_type: str) -> list[str] | None:
    """The methods that run on ``model_type``; None when the library does not know the type."""
    entry = table()["model_types"].get(model_type)
    return None if entry is None else list(entry["methods"])


def supported_problem_types(model_type: str) -> list[str]:
    """The problem types whose heads the library builds on ``model_type``."""
    entry = table()["model_types"].get(model_type)
    return [] if entry is None else list(entry["problem_types"])
