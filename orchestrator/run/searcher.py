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

import heapq
import json
from collections import Counter

from ray.tune.search import Searcher

from orchestrator.contract.node import NodeStatus
from orchestrator.planning.dag import Dag

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
    """Suggests ``{"node_id": ..., "hparams": ..., "node": ...}`` for ready nodes, highest
    priority first.

    ``outcome(node_id) -> (hparams, value)`` reads a committed search sample's hyperparameters
    and selection value; ``studies`` is a SearchStudies when the plan has search nodes. ``nodes``
    gives the Node a suggestion carries (default: the DAG's), so a trial's process receives its
    own node rather than the whole plan.
    """

    def __init__(
        self,
        dag: Dag,
        is_committed,
        cached: set[str] | None = None,
        studies=None,
        outcome=None,
        nodes: dict | None = None,
    ):
        super().__init__()
        self.dag = dag
        self.nodes = nodes if nodes is not None else dag.nodes
        self.is_committed = is_committed
        self.studies = studies
        self.outcome = outcome
        cached = set(cached or ())
        self.trials: dict[str, str] = {}  # trial id -> node id
        self.to_prune: set[str] = set()  # trial ids the pruner stopped
        self.reasons: dict[str, str] = {}  # node id -> why it failed, when the searcher knows
        self._reset({i: CACHED if i in cached else PENDING for i in dag.nodes})
        for i in cached:
            self._tell_sample(i)

    # -- state -------------------------------------------------------------------------------
    #
    # Readiness is kept up to date as nodes change state, never rescanned: each node counts its
    # dependencies not yet satisfied, a node that becomes satisfied counts its children down,
    # and ready nodes wait in a heap by priority. A sweep of N nodes costs O(N log N) over its
    # whole run, where scanning every node at each of N suggestions cost O(N^2).

    def _reset(self, status: dict[str, NodeStatus]) -> None:
        """Take ``status`` as every node's state and rebuild what readiness derives from it."""
        self.status: dict[str, NodeStatus] = status
        self._counts = Counter(status.values())
        self._unmet = {
            i: sum(not self._satisfies(d) for d in n.deps) for i, n in self.dag.nodes.items()
        }
        self._ready = [
            (-self.dag.priority[i], i)
            for i, s in status.items()
            if s == PENDING and self._unmet[i] == 0
        ]
        heapq.heapify(self._ready)

    def _satisfies(self, node_id: str) -> bool:
        """Whether the node's dependents may start: it is done, or it is a search sample that
        ended at all."""
        s = self.status[node_id]
        return s in (DONE, CACHED) or (s in (FAILED, PRUNED) and self._role(node_id) == "sample")

    def _set(self, node_id: str, status: NodeStatus) -> None:
        """Move a node to ``status``; its children whose last dependency this satisfies become
        ready."""
        was = self.status[node_id]
        satisfied_before = self._satisfies(node_id)
        self.status[node_id] = status
        self._counts[was] -= 1
        self._counts[status] += 1
        if status == PENDING and self._unmet[node_id] == 0:
            heapq.heappush(self._ready, (-self.dag.priority[node_id], node_id))
        if satisfied_before or not self._satisfies(node_id):
            return
        for c in self.dag.children[node_id]:
            self._unmet[c] -= 1
            if self._unmet[c] == 0 and self.status[c] == PENDING:
                heapq.heappush(self._ready, (-self.dag.priority[c], c))

    def _role(self, node_id: str) -> str | None:
        search = self.dag.nodes[node_id].search
        return search.role if search else None

    def counts(self) -> Counter:
        """How many nodes are in each state (states no node is in are left out)."""
        return +self._counts

    def finished(self) -> bool:
        """Nothing runs and nothing more can start."""
        return self._next_ready() is None and not self._counts[RUNNING]

    def _next_ready(self) -> str | None:
        """The pending node of highest priority whose dependencies are satisfied, or None."""
        while self._ready:
            _, i = self._ready[0]
            if self.status[i] == PENDING:
                return i
            heapq.heappop(self._ready)  # an entry of a node that has moved on since
        return None

    def _fail(self, node_id: str, reason: str | None = None) -> None:
        self._set(node_id, FAILED)
        if reason:
            self.reasons[node_id] = reason
        if self._role(node_id) == "sample":
            return  # a failed sample ends its search's sample, it blocks nothing
        for d in self.dag.descendants(node_id):
            if self.status[d] == PENDING:
                self._set(d, BLOCKED)

    def hparams(self, node_id: str) -> dict | None:
        """The hyperparameters a node trains with now; None when its search found nothing."""
        node = self.dag.nodes[node_id]
        if not node.search:
            return node.hparams.to_dict()
        gid = node.search.group
        if node.search.role == "sample":
            chosen = self.studies.params(gid, node.search.index)
        else:
            chosen = self.studies.best(gid)
            if chosen is None:
                return None
        return {**node.hparams.to_dict(), **chosen}

    def _tell_sample(self, node_id: str, pruned: bool = False) -> None:
        node = self.dag.nodes[node_id]
        if not node.search or node.search.role != "sample" or self.studies is None:
            return
        gid, index = node.search.group, node.search.index
        if pruned or self.status[node_id] == FAILED:
            self.studies.tell(gid, index, None, pruned=pruned)
            return
        hparams, value = self.outcome(node_id, node.search.spec["metric"])
        chosen = {k: hparams[k] for k in node.search.keys}
        self.studies.add_finished(gid, index, chosen, value)
        self.studies.tell(gid, index, value)

    # -- Tune's Searcher interface --------------------------------------------------------------

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return True

    def suggest(self, trial_id: str):
        while True:
            node_id = self._next_ready()
            if node_id is None:
                return Searcher.FINISHED if not self._counts[RUNNING] else None
            hparams = self.hparams(node_id)
            if hparams is not None:
                break
            self._fail(node_id, "no sample of its search finished")
        self._set(node_id, RUNNING)
        self.trials[trial_id] = node_id
        return {"node_id": node_id, "hparams": hparams, "node": self.nodes[node_id]}

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        node_id = self.trials.get(trial_id)
        if node_id is None or self._role(node_id) != "sample":
            return
        search = self.dag.nodes[node_id].search
        value = result.get(search.spec["metric"])
        if value is None or search.spec["pruner"] == "none":
            return
        step = int(result.get("epoch", result.get("training_iteration", 0)))
        if self.studies.report(search.group, search.index, float(value), step):
            self.to_prune.add(trial_id)

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        node_id = self.trials.pop(trial_id, None)
        if node_id is None:
            return
        if trial_id in self.to_prune:
            self.to_prune.discard(trial_id)
            self._set(node_id, PRUNED)
            self._tell_sample(node_id, pruned=True)
            return
        # the ledger: a committed node is done, whatever failed after
        if self.is_committed(node_id):
            self._set(node_id, DONE)
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
        status = dict(self.status)
        status.update({i: NodeStatus(s) for i, s in state["status"].items()})
        # A trial that was running when the state was saved has no live process now: run it again
        # unless its node got committed meanwhile.
        for node_id in state["trials"].values():
            if status.get(node_id) == RUNNING:
                status[node_id] = DONE if self.is_committed(node_id) else PENDING
        self._reset(status)
        self.trials = {}
