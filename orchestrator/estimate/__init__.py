"""Estimates from the one cost model (``orchestrator.planning.cost_model``): its other two uses.

- ``makespan``: how long a plan takes on N GPUs, against two baselines (``plan --estimate``).
- ``time_left``: a running sweep's time left, the cost model calibrated by the nodes it finished.

Invariants: estimates read a plan and never change it; they import neither torch nor Ray.
"""

from orchestrator.estimate.makespan import compare_schedules, remaining_makespan, simulate_schedule
from orchestrator.estimate.time_left import RunClock

__all__ = ["RunClock", "compare_schedules", "remaining_makespan", "simulate_schedule"]
