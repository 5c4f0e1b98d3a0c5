"""Tune's actor reuse, made safe on a cluster: no idle process of a lost machine serves a trial.

With ``reuse_actors`` Tune keeps a finished trial's process (an idle actor holding its resources)
and hands it to the next trial asking for the same resources, which saves the seconds a new
process costs (start, imports, Tune's set-up). Tune does not watch the machines of those idle
processes: after a machine is lost, one of them can be handed a trial, the trial's first call
fails at once, and that failure counts against the trial's retries. The guard evicts every idle
process Tune keeps

- whenever a trial fails (a lost worker shows first as a running trial's failure, and its retry
  is queued in the same step), before the retry is handed a process, and
- whenever a machine has left the cluster since the last look (at most every
  ``NODE_CHECK_PERIOD_S``), which catches a machine that held idle processes only.

Both run in the scheduler's hooks (``SafeReuseScheduler``), which Tune calls before it hands out
idle processes in each step, so a retry never lands on a process of a machine known to be gone.
Evicting everything rather than the lost machine's processes costs a few new processes after a
failure, which is rare; it needs no map of processes to machines.

The eviction uses Tune's controller, which is not public API (``orchestrator.run.ray_internals``):
``supported()`` says whether the installed Tune has it, and without it a cluster run starts a
process per trial (``orchestrator.run.tuner.may_reuse_processes``).
"""

from __future__ import annotations

import sys
import time

NODE_CHECK_PERIOD_S = 1.0


def supported() -> bool:
    """Whether the installed Ray Tune has the controller hooks the guard uses."""
    from orchestrator.run.ray_internals import can_evict_idle_processes

    return can_evict_idle_processes()


def alive_node_ids() -> frozenset[str]:
    """Ids of the Ray nodes the cluster counts as alive now."""
    from orchestrator.run.cluster import alive_nodes

    return frozenset(n["NodeID"] for n in alive_nodes())


class ReuseGuard:
    """Evicts Tune's idle trial processes after a trial failure or a lost machine."""

    def __init__(self, alive=alive_node_ids, period_s: float = NODE_CHECK_PERIOD_S):
        self._alive = alive
        self._period_s = period_s
        self._known: frozenset[str] | None = None
        self._next_check = 0.0
        self.evictions: list[str] = []  # why each eviction happened, in order

    def machines_changed(self) -> bool:
        """True when a node known alive at the last look is gone now (looks at most once per
        period)."""
        now = time.monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + self._period_s
        alive = self._alive()
        lost = self._known is not None and not self._known <= alive
        self._known = alive
        return lost

    def evict(self, tune_controller, why: str) -> int:
        """Stop every idle process Tune keeps for reuse; returns how many there were."""
        from orchestrator.run.ray_internals import evict_idle_processes

        idle = evict_idle_processes(tune_controller)
        self.evictions.append(why)
        if idle:
            print(f"{why}: {idle} idle trial process(es) stopped", file=sys.stderr, flush=True)
        return idle


def safe_reuse_scheduler(base_cls):
    """``base_cls`` (a Tune ``TrialScheduler``) with the guard in its hooks."""

    class SafeReuseScheduler(base_cls):
        def __init__(self, *args, guard: ReuseGuard | None = None, **kwargs):
            super().__init__(*args, **kwargs)
            self.guard = guard or ReuseGuard()

        def on_trial_error(self, tune_controller, trial):
            # Tune calls this for a failure it retries as well (before requeueing the trial)
            self.guard.evict(tune_controller, f"trial {trial.trial_id} failed")
            return super().on_trial_error(tune_controller, trial)

        def choose_trial_to_run(self, tune_controller):
            # the first hook of the step that hands out idle processes
            if self.guard.machines_changed():
                self.guard.evict(tune_controller, "a machine left the cluster")
            return super().choose_trial_to_run(tune_controller)

    SafeReuseScheduler.__name__ = f"SafeReuse{base_cls.__name__}"
    SafeReuseScheduler.__qualname__ = SafeReuseScheduler.__name__
    return SafeReuseScheduler
