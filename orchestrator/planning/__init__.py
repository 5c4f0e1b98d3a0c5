"""Planning: a validated sweep becomes a plan of nodes in a dependency DAG, before any work.

- ``nodes``: ``Node`` (one planned training run), ``Plan``, ``NodeFactory`` (a node's resolved
  hyperparameters, data, identity and cost) and ``node_id``.
- ``data_identity``: what of a node's data enters its id (local files by content).
- ``cost_model``: how long one node trains, in seconds on a reference GPU.
- ``plan``: ``plan_sweep``, the full-data planner, and the dispatch to the other two planners,
  ``fewshot`` and ``probing``.
- ``dag``: dependencies, readiness, priorities, the cycle check.
- ``size``: the plan-size guard, counted without making the nodes.
- ``preflight``: every check ``plan`` and ``run`` make before any work, in one report.

Invariants: planning is deterministic and pure (the same sweep file and data give the same node
ids in any process, on any machine); a node's id is a content hash of everything that decides its
result, so identical work is never trained twice; nothing here imports torch or Ray, or writes.
The cost model sits here rather than in ``estimate`` because a node's cost is part of its plan:
the DAG orders ready nodes by it.
"""

from orchestrator.planning.dag import CycleError, Dag
from orchestrator.planning.nodes import Node, NodeFactory, Plan, node_id
from orchestrator.planning.plan import build_plan, plan_sweep
from orchestrator.planning.preflight import CheckedSweep, check_sweep
from orchestrator.planning.size import count_nodes

__all__ = [
    "CheckedSweep",
    "CycleError",
    "Dag",
    "Node",
    "NodeFactory",
    "Plan",
    "build_plan",
    "check_sweep",
    "count_nodes",
    "node_id",
    "plan_sweep",
]
