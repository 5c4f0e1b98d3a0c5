"""The contract between the planner (``orchestrator``) and the trainers (``trainables``).

Plain, torch-free dataclasses and the method catalogue. This package imports nothing else of the
project, so the head node, the CLI and every trial process can all read it; ``trainables`` imports
nothing of ``orchestrator`` but this (checked by import-linter, see ``pyproject.toml``).

- ``legal``: how a hyperparameter is declared (``hparam``) and its values checked (``Legal``).
- ``hparams``: every hyperparameter a trainer reads, with its meaning, default and legal values:
  the training keys every method reads, each method's own settings, which methods read each key.
- ``methods``: the method catalogue, one entry per method of the paper, and each family's own
  settings (``MethodSettings``).
- ``node``: the node as a trainer receives it (``NodeSpec``), its data and sources, node states.
- ``rows``: what a trainer returns per task (``TaskResult``) and the result row (``ResultRow``).
- ``trainer``: the interface the real and the simulated trainers implement.
"""

from orchestrator.contract.hparams import FIELDS, HParams
from orchestrator.contract.methods import METHODS, Kind, Method, get_method, methods_of_kind
from orchestrator.contract.node import DataSpec, NodeSpec, NodeStatus, SourceRef, TrialSettings
from orchestrator.contract.rows import ResultRow, TaskResult
from orchestrator.contract.trainer import Report, Trainer

__all__ = [
    "FIELDS",
    "METHODS",
    "DataSpec",
    "HParams",
    "Kind",
    "Method",
    "NodeSpec",
    "NodeStatus",
    "Report",
    "ResultRow",
    "SourceRef",
    "TaskResult",
    "Trainer",
    "TrialSettings",
    "get_method",
    "methods_of_kind",
]
