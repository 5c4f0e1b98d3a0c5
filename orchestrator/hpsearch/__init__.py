"""Hyperparameter search inside the DAG: the ``search:`` block, its Optuna studies, the pruner.

``spec`` parses a search block; ``studies`` keeps one Optuna study per search group; ``pruning`` is
the Tune scheduler that stops the samples Optuna's pruner gives up on.
"""
