"""Running a plan as one Ray Tune experiment.

- ``runner``: ``run_sweep``: prepare the run, build the Tuner, report progress, record outcomes.
- ``searcher``: the Tune ``Searcher`` that hands out nodes whose dependencies are committed.
- ``trial``: one node as one Tune trial: claim, fetch sources, train, commit, write rows.
- ``simulated_trainer``: the ``Trainer`` of ``run --simulate``.
- ``tracking``: ``run --log-to``: Tune's W&B, MLflow and TensorBoard logger callbacks.
- ``cluster``, ``capacity``: the cluster's machines, and trial requests against them.
- ``actor_reuse``, ``tune_bookkeeping``: Tune's reuse of trial processes made safe on a cluster,
  and how much of Tune's own state a run keeps.

Invariants: the store is the ledger (a node is done exactly when its entry is committed, so any
run can stop at any moment and a rerun trains only what is missing); Ray is the engine (no
scheduler, RPC or worker pool of our own). The modules are not re-exported here: a trial process
imports only what it runs.
"""

__all__ = [
    "actor_reuse",
    "capacity",
    "cluster",
    "runner",
    "searcher",
    "simulated_trainer",
    "tracking",
    "trial",
    "tune_bookkeeping",
]
