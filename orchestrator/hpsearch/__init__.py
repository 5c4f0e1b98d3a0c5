"""Hyperparameter search inside the DAG, at run time: Optuna studies and the pruner.

The ``search:`` block itself is part of the sweep file (``orchestrator.sweep.search``).

- ``studies``: one Optuna study per search group, driven by ask and tell.
- ``journal``: the studies' journals kept with the results (on a results URI too).
- ``pruning``: the Tune scheduler that stops the samples Optuna's pruner gives up on.

Invariant: a search's node ids hash its definition, not the values it finds, so a rerun resumes
the same studies from their journals.
"""

from orchestrator.hpsearch.journal import ResultsJournal
from orchestrator.hpsearch.pruning import PruningScheduler
from orchestrator.hpsearch.studies import SearchStudies

__all__ = ["PruningScheduler", "ResultsJournal", "SearchStudies"]
