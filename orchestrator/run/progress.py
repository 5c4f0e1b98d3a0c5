"""What a run prints while it goes: node counts, time left, running epochs, each outcome."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from orchestrator.contract.node import STATUS_ORDER
from orchestrator.estimate.time_left import RunClock, duration, error_summary
from orchestrator.planning.dag import Dag


class Progress:
    """Prints node counts, the estimated time left and the running nodes' epochs when they change
    (at most every ``every`` seconds), and each outcome."""

    SHOWN_RUNNING = 4  # running nodes named on a progress line; the rest counted

    def __init__(self, searcher, dag: Dag, every: float = 2.0, stream=sys.stderr):
        self.searcher, self.dag, self.every, self.stream = searcher, dag, every, stream
        self.start = time.time()
        self.last_print = 0.0
        self.last_state = None
        self.retried = 0
        # estimates reschedule every open node: at most 2 % of the driver's time on them
        self.clock = RunClock(dag.nodes, start=self.start, refresh_share=0.02)

    def line(self, force: bool = False) -> None:
        counts = self.searcher.counts()
        epochs = sorted(self.clock.running_epochs())
        now = time.time()
        state = (counts, epochs)
        if not force and (state == self.last_state or now - self.last_print < self.every):
            return
        self.last_state, self.last_print = state, now
        parts = [f"{s.value} {counts.get(s, 0)}" for s in STATUS_ORDER]
        left = self.clock.estimate(self.searcher.status, now)
        if left is not None:
            parts.append(f"left ~{duration(left)}")
        if epochs:
            shown = [f"{label} {e}/{t}" for label, e, t in epochs[: self.SHOWN_RUNNING]]
            more = len(epochs) - self.SHOWN_RUNNING
            parts.append("epochs: " + ", ".join(shown) + (f" +{more} more" if more > 0 else ""))
        print(
            f"[{now - self.start:7.1f}s] nodes: " + " | ".join(parts), file=self.stream, flush=True
        )

    def summary(self) -> None:
        """How far the time-left estimates were off, at the end of the run."""
        text = error_summary(self.clock)
        if text:
            self.event(text)

    def event(self, text: str) -> None:
        print(f"[{time.time() - self.start:7.1f}s] {text}", file=self.stream, flush=True)


def progress_callback(progress: Progress, errors: dict):
    from ray.tune import Callback

    class ProgressCallback(Callback):
        def on_step_end(self, iteration, trials, **info):
            progress.line()

        def on_trial_start(self, iteration, trials, trial, **info):
            progress.clock.trial_started(trial.config.get("node_id"))

        def on_trial_result(self, iteration, trials, trial, result, **info):
            progress.clock.reported(trial.config.get("node_id"), result)

        def on_trial_complete(self, iteration, trials, trial, **info):
            node_id = trial.config.get("node_id")
            node = progress.dag.nodes.get(node_id)
            last = trial.last_result or {}
            # trained and committed here; a node committed elsewhere or pruned calibrates nothing
            if last.get("committed") and not last.get("reused"):
                progress.clock.trial_finished(node_id)
            else:
                progress.clock.trial_ended(node_id)
            score = last.get("score")
            shown = f" score {score:.1f}" if isinstance(score, float) else ""
            left = progress.clock.estimate(progress.searcher.status)
            shown += f" (left ~{duration(left)})" if left is not None else ""
            if node is not None:
                progress.event(f"done {node.label}{shown}")

        def on_trial_recover(self, iteration, trials, trial, **info):
            progress.retried += 1
            node = progress.dag.nodes.get(trial.config.get("node_id"))
            progress.event(
                f"retrying {node.label if node else trial.trial_id} (trial lost or "
                "failed; resuming from its last checkpoint)"
            )

        def on_trial_error(self, iteration, trials, trial, **info):
            node_id = trial.config.get("node_id")
            err = ""
            try:
                if trial.error_file and os.path.exists(trial.error_file):
                    err = Path(trial.error_file).read_text()
            except OSError:
                pass
            errors[node_id] = err.strip().splitlines()[-1] if err.strip() else "trial failed"
            progress.clock.trial_ended(node_id)
            node = progress.dag.nodes.get(node_id)
            progress.event(f"FAILED {node.label if node else node_id}: {errors[node_id]}")

    return ProgressCallback()
