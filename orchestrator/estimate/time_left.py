"""The time a running sweep has left: the cost model calibrated by the nodes finished so far.

The cost model (``orchestrator.planning.cost_model``) gives each node's seconds on a reference GPU;
the nodes this run finished say how many wall seconds one such second takes here (the calibration,
wall over cost, summed over the finished nodes). A running node has its calibrated duration left
times the share of its epochs still to run (else its time so far taken off); a pending node its
whole calibrated duration. The time left is the list-scheduled makespan of that work over as many
slots as trials have run at once so far, dependencies kept (``makespan.remaining_makespan``).

Each estimate is kept, so that at the end of the run each can be set against what happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from orchestrator.contract.node import NodeStatus
from orchestrator.estimate.makespan import remaining_makespan
from orchestrator.planning.nodes import Node


@dataclass
class Estimate:
    """One estimate: made ``at`` seconds into the run with ``done`` nodes finished, ``left`` s."""

    at: float
    done: int
    left: float


@dataclass
class RunClock:
    """What a run has done so far, node by node, and its estimates of the time left."""

    nodes: dict[str, Node]
    start: float = field(default_factory=time.time)
    started: dict[str, float] = field(default_factory=dict)  # node id -> when its trial started
    durations: dict[str, float] = field(default_factory=dict)  # finished node id -> wall seconds
    epochs: dict[str, tuple[int, int]] = field(default_factory=dict)  # node -> (epoch, of total)
    most_running: int = 0
    estimates: list[Estimate] = field(default_factory=list)
    # With a share > 0, an estimate is recomputed only once the time since the last one is at
    # least its compute time over this share (the driver spends at most that share on them);
    # in between, the last estimate less the time since. 0: every call recomputes.
    refresh_share: float = 0.0
    _last_compute_s: float = field(default=0.0, init=False, repr=False)

    def trial_started(self, node_id: str, now: float | None = None) -> None:
        """A node's trial started (again, after a retry: its clock restarts)."""
        self.started[node_id] = time.time() if now is None else now
        self.epochs.pop(node_id, None)
        self.most_running = max(self.most_running, self._running())

    def reported(self, node_id: str, result: dict) -> None:
        """A trial's report: its epoch of total, when it says."""
        epoch, total = result.get("epoch"), result.get("epochs_total")
        if isinstance(epoch, int) and isinstance(total, int) and total > 0:
            self.epochs[node_id] = (epoch, total)

    def trial_finished(self, node_id: str, now: float | None = None) -> None:
        """A node's trial ended with its node committed."""
        now = time.time() if now is None else now
        if node_id in self.started:
            self.durations[node_id] = now - self.started.pop(node_id)
        self.epochs.pop(node_id, None)

    def trial_ended(self, node_id: str) -> None:
        """A trial ended without a result (failed, pruned): it calibrates nothing."""
        self.started.pop(node_id, None)
        self.epochs.pop(node_id, None)

    def _running(self) -> int:
        return len(self.started)

    def calibration(self) -> float | None:
        """Wall seconds here per cost-model second, from the finished nodes; None before any."""
        cost = sum(self.nodes[i].cost for i in self.durations)
        if not self.durations or cost <= 0:
            return None
        return sum(self.durations.values()) / cost

    def estimate(self, status: dict[str, NodeStatus], now: float | None = None) -> float | None:
        """Seconds left for the nodes still pending or running; None until a node has finished,
        and once none is left.

        The estimate is recorded for ``errors``."""
        now = time.time() if now is None else now
        if self.refresh_share > 0 and self.estimates:
            last = self.estimates[-1]
            since = now - (self.start + last.at)
            if since < self._last_compute_s / self.refresh_share:
                return max(0.0, last.left - since)
        t0 = time.perf_counter()
        value = self._compute(status, now)
        self._last_compute_s = time.perf_counter() - t0
        if value is not None:
            self.estimates.append(Estimate(now - self.start, len(self.durations), value))
        return value

    def _compute(self, status: dict[str, NodeStatus], now: float) -> float | None:
        rate = self.calibration()
        if rate is None:
            return None
        left: dict[str, float] = {}
        for i, s in status.items():
            if i in self.durations:  # finished, whether or not the searcher has heard yet
                continue
            whole = self.nodes[i].cost * rate
            if s == NodeStatus.PENDING:
                left[i] = whole
            elif s == NodeStatus.RUNNING:
                if i in self.epochs:
                    epoch, total = self.epochs[i]
                    left[i] = whole * max(0.0, 1.0 - epoch / total)
                else:
                    left[i] = max(0.0, whole - (now - self.started.get(i, now)))
        if not left:
            return None
        return remaining_makespan([self.nodes[i] for i in left], left, max(1, self.most_running))

    def running_epochs(self) -> list[tuple[str, int, int]]:
        """(label, epoch, total) of each running node that has reported an epoch."""
        return [(self.nodes[i].label, e, t) for i, (e, t) in self.epochs.items()]

    def errors(self, end: float | None = None) -> list[tuple[Estimate, float]]:
        """Each estimate with its error in seconds: the time it said was left minus what was."""
        total = (time.time() if end is None else end) - self.start
        return [(e, e.left - (total - e.at)) for e in self.estimates]


def duration(seconds: float) -> str:
    """Seconds as ``1h02m``, ``3m05s`` or ``42s``."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def error_summary(clock: RunClock, end: float | None = None) -> str | None:
    """One line on how far the estimates were off; None when the run made none."""
    errs = clock.errors(end)
    if not errs:
        return None
    first, err = errs[0]
    actual = first.left - err
    mean_abs = sum(abs(e) for _, e in errs) / len(errs)
    pct = f" ({err / actual:+.0%})" if actual > 0 else ""
    return (
        f"time-left estimates: the first ({duration(first.at)} in, after {first.done} node(s)) "
        f"said {duration(first.left)}, it took {duration(actual)}: off by {err:+.0f}s{pct}; "
        f"mean absolute error over {len(errs)} estimate(s) {mean_abs:.0f}s"
    )
