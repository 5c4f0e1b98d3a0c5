"""A Ray Tune Searcher that hands out the nodes of a DAG once their dependencies are committed.

Ray Tune knows nothing of dependencies between trials; this searcher is where the DAG meets Tune.
``suggest`` returns the ready node of highest priority (longest chain of work behind it), ``None``
while running trials may still unlock more, and ``FINISHED`` when nothing is left that can run.
A node counts as done only when its entry is committed in the store: the store, not Tune's
experiment state, is the ledger of finished work.
"""

from __future__ import annotations

import pickle
from collections import Counter

from ray.tune.search import Searcher

from orchestrator.dag import Dag

PENDING, RUNNING, DONE, FAILED, BLOCKED, CACHED = (
    "pending",
    "running",
    "done",
    "failed",
    "blocked",
    "cached",
)


class DagSearcher(Searcher):
    """Suggests ``{"node_id": ...}`` for ready nodes, highest priority first."""

    def __init__(self, dag: Dag, is_committed, cached: set[str] | None = None):
        super().__init__()
        self.dag = dag
        self.is_committed = is_committed
        cached = set(cached or ())
        self.status: dict[str, str] = {i: CACHED if i in cached else PENDING for i in dag.nodes}
        self.trials: dict[str, str] = {}  # trial id -> node id

    # -- state -------------------------------------------------------------------------------

    def _done(self) -> set[str]:
        return {i for i, s in self.status.items() if s in (DONE, CACHED)}

    def counts(self) -> Counter:
        """How many nodes are in each state."""
        return Counter(self.status.values())

    def finished(self) -> bool:
        """Nothing runs and nothing more can start."""
        return not self._runnable() and RUNNING not in self.status.values()

    def _runnable(self) -> list[str]:
        pending = [i for i, s in self.status.items() if s == PENDING]
        return self.dag.ready(pending, self._done())

    # -- Tune's Searcher interface --------------------------------------------------------------

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return True

    def suggest(self, trial_id: str):
        ready = self._runnable()
        if not ready:
            return Searcher.FINISHED if RUNNING not in self.status.values() else None
        node_id = ready[0]
        self.status[node_id] = RUNNING
        self.trials[trial_id] = node_id
        return {"node_id": node_id}

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        node_id = self.trials.pop(trial_id, None)
        if node_id is None:
            return
        if not error and self.is_committed(node_id):
            self.status[node_id] = DONE
            return
        self.status[node_id] = FAILED
        for d in self.dag.descendants(node_id):
            if self.status[d] == PENDING:
                self.status[d] = BLOCKED

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump({"status": self.status, "trials": self.trials}, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        self.status.update(state["status"])
        # A trial that was running when the state was saved has no live process now: run it again
        # unless its node got committed meanwhile.
        for node_id in state["trials"].values():
            if self.status.get(node_id) == RUNNING:
                self.status[node_id] = DONE if self.is_committed(node_id) else PENDING
        self.trials = {}
