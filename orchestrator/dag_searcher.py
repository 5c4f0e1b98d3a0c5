"""A Ray Tune Searcher that hands out the nodes of a DAG once their dependencies are committed.

Ray Tune knows nothing of dependencies between trials; this searcher is where the DAG meets Tune.
``suggest`` returns the ready node of highest priority (longest chain of work behind it), ``None``
while running trials may still unlock more, and ``FINISHED`` when nothing is left that can run.
A node counts as done only when its entry is committed in the store: the store, not Tune's
experiment state, is the ledger of finished work.

Search nodes (``orchestrator.hpsearch``) get their hyperparameters here: a sample's from its Optuna
study when it is handed out, a seed node's from the best sample once every sample has ended.
"""

from __future__ import annotations

import json
from collections import Counter

from ray.tune.search import Searcher

from orchestrator.contract.node import NodeStatus
from orchestrator.dag import Dag

PENDING, RUNNING, DONE, FAILED, BLOCKED, CACHED, PRUNED = (
    NodeStatus.PENDING,
    NodeStatus.RUNNING,
    NodeStatus.DONE,
    NodeStatus.FAILED,
    NodeStatus.BLOCKED,
    NodeStatus.CACHED,
    NodeStatus.PRUNED,
)


class DagSearcher(Searcher):
    """Suggests ``{"node_id": ..., "hparams": ...}`` for ready nodes, highest priority first.

    ``outcome(node_id) -> (hparams, value)`` reads a committed search sample's hyperparameters
    and selection value; ``studies`` is a SearchStudies when the plan has search nodes.
    """

    def __init__(
        self, dag: Dag, is_committed, cached: set[str] | None = None, studies=None, outcome=None
    ):
        super().__init__()
        self.dag = dag
        self.is_committed = is_committed
        self.studies = studies
        self.outcome = outcome
        cached = set(cached or ())
        self.status: dict[str, NodeStatus] = {
            i: CACHED if i in cached else PENDING for i in dag.nodes
        }
        self.trials: dict[str, str] = {}  # trial id -> node id
        self.to_prune: set[str] = set()  # trial ids the pruner stopped
        self.reasons: dict[str, str] = {}  # node id -> why it failed, when the searcher knows
        for i in cached:
            self._tell_sample(i)

    # -- state -------------------------------------------------------------------------------

    def _satisfied(self) -> set[str]:
        """Nodes whose dependents may start: done ones, and search samples that ended at all."""
        ended = (DONE, CACHED, FAILED, PRUNED)
        return {
            i
            for i, s in self.status.items()
            if s in (DONE, CACHED) or (s in ended and self._role(i) == "sample")
        }

    def _role(self, node_id: str) -> str | None:
        search = self.dag.nodes[node_id].search
        return search["role"] if search else None

    def counts(self) -> Counter:
        """How many nodes are in each state."""
        return Counter(self.status.values())

    def finished(self) -> bool:
        """Nothing runs and nothing more can start."""
        return not self._runnable() and RUNNING not in self.status.values()

    def _runnable(self) -> list[str]:
        pending = [i for i, s in self.status.items() if s == PENDING]
        return self.dag.ready(pending, self._satisfied())

    def _fail(self, node_id: str, reason: str | None = None) -> None:
        self.status[node_id] = FAILED
        if reason:
            self.reasons[node_id] = reason
        if self._role(node_id) == "sample":
            return  # a failed sample ends its search's sample, it blocks nothing
        for d in self.dag.descendants(node_id):
            if self.status[d] == PENDING:
                self.status[d] = BLOCKED

    def hparams(self, node_id: str) -> dict | None:
        """The hyperparameters a node trains with now; None when its search found nothing."""
        node = self.dag.nodes[node_id]
        if not node.search:
            return dict(node.hparams)
        gid = node.search["group"]
        if node.search["role"] == "sample":
            chosen = self.studies.params(gid, node.search["index"])
        else:
            chosen = self.studies.best(gid)
            if chosen is None:
                return None
        return {**node.hparams, **chosen}

    def _tell_sample(self, node_id: str, pruned: bool = False) -> None:
        node = self.dag.nodes[node_id]
        if not node.search or node.search["role"] != "sample" or self.studies is None:
            return
        gid, index = node.search["group"], node.search["index"]
        if pruned or self.status[node_id] == FAILED:
            self.studies.tell(gid, index, None, pruned=pruned)
            return
        hparams, value = self.outcome(node_id, node.search["spec"]["metric"])
        chosen = {k: hparams[k] for k in node.search["keys"]}
        self.studies.add_finished(gid, index, chosen, value)
        self.studies.tell(gid, index, value)

    # -- Tune's Searcher interface --------------------------------------------------------------

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return True

    def suggest(self, trial_id: str):
        while True:
            ready = self._runnable()
            if not ready:
                return Searcher.FINISHED if RUNNING not in self.status.values() else None
            node_id = ready[0]
            hparams = self.hparams(node_id)
            if hparams is not None:
                break
            self._fail(node_id, "no sample of its search finished")
        self.status[node_id] = RUNNING
        self.trials[trial_id] = node_id
        return {"node_id": node_id, "hparams": hparams}

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        node_id = self.trials.get(trial_id)
        if node_id is None or self._role(node_id) != "sample":
            return
        search = self.dag.nodes[node_id].search
        value = result.get(search["spec"]["metric"])
        if value is None or search["spec"]["pruner"] == "none":
            return
        step = int(result.get("epoch", result.get("training_iteration", 0)))
        if self.studies.report(search["group"], search["index"], float(value), step):
            self.to_prune.add(trial_id)

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        node_id = self.trials.pop(trial_id, None)
        if node_id is None:
            return
        if trial_id in self.to_prune:
            self.to_prune.discard(trial_id)
            self.status[node_id] = PRUNED
            self._tell_sample(node_id, pruned=True)
            return
        if self.is_committed(
            node_id
        ):  # the ledger: a committed node is done, whatever failed after
            self.status[node_id] = DONE
        else:
            self._fail(node_id)
        self._tell_sample(node_id)

    def save(self, checkpoint_path: str) -> None:
        state = {"status": {i: s.value for i, s in self.status.items()}, "trials": self.trials}
        with open(checkpoint_path, "w") as f:
            json.dump(state, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as f:
            state = json.load(f)
        self.status.update({i: NodeStatus(s) for i, s in state["status"].items()})
        # A trial that was running when the state was saved has no live process now: run it again
        # unless its node got committed meanwhile.
        for node_id in state["trials"].values():
            if self.status.get(node_id) == RUNNING:
                self.status[node_id] = DONE if self.is_committed(node_id) else PENDING
        self.trials = {}
