"""``run --log-to wandb|mlflow|tensorboard``: each trained node as one run of an experiment
tracker, through Ray Tune's own logger callbacks.

A tracked run is named by the node's label (``scalearn/rte/s3``), grouped by the sweep (W&B's
group, MLflow's experiment, TensorBoard's folder), tagged with kind, method, task, seed and node
id, with the node's resolved hyperparameters as its config; every report of the trial (each
epoch's dev metrics) is a point of its curves. Nodes not trained in this run (cached, or committed
elsewhere meanwhile) are not logged.

A tracker must never cost a trial: every hook of these callbacks runs guarded, and the first
error (a server down, a key missing) is one warning, after which that tracker logs nothing more
while the sweep goes on.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.planning.nodes import Node

TRACKERS = ("wandb", "mlflow", "tensorboard")
# tracker -> (module it needs, the extra of this package that installs it)
_NEEDS = {
    "wandb": ("wandb", "wandb"),
    "mlflow": ("mlflow", "mlflow"),
    "tensorboard": ("tensorboardX", "tensorboard"),
}
# W&B waits this long at the end of a sweep for its runs to finish syncing (Ray's default: 30 min)
WANDB_FINISH_TIMEOUT_S = 120
# MLflow's HTTP client retries a dead server for minutes by default; a sweep does not wait
_MLFLOW_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def missing_packages(trackers: list[str]) -> list[str]:
    """One line per tracker whose package is not installed, naming the extra that installs it."""
    out = []
    for t in dict.fromkeys(trackers):
        module, extra = _NEEDS[t]
        if importlib.util.find_spec(module) is None:
            out.append(
                f"--log-to {t} needs the {module} package: pip install 'scalearn-sweeps[{extra}]'"
            )
    return out


@dataclass
class TrackedRun:
    """What a tracker records of one node: its name, group, tags and config."""

    name: str
    group: str
    tags: dict[str, str]
    config: dict


def tracked_run(node: Node, sweep: str, run_id: str, chosen: dict | None = None) -> TrackedRun:
    """The tracked run of ``node``; ``chosen``: a search's hyperparameters for it, if any."""
    hparams = {**node.hparams.to_dict(), **(chosen or {})}
    tags = {
        "sweep": sweep,
        "run_id": run_id,
        "kind": node.kind.value,
        "method": node.method,
        "task": node.task or node.benchmark,
        "seed": str(node.seed),
        "node_id": node.id,
    }
    config = {
        **{k: v for k, v in hparams.items() if v is not None},
        "benchmark": node.benchmark,
        "tasks": ",".join(node.tasks),
        "backbone": node.backbone,
        **{k: tags[k] for k in ("kind", "method", "task", "node_id")},
        "seed": node.seed,
    }
    return TrackedRun(node.label, sweep, tags, config)


Describe = Callable[[object], TrackedRun]  # a Tune trial -> its tracked run


def _warn(tracker: str, what: str, error: BaseException) -> None:
    print(
        f"warning: --log-to {tracker}: {what} failed ({type(error).__name__}: {error}); "
        f"nothing more is logged to {tracker}, the sweep goes on",
        file=sys.stderr,
        flush=True,
    )


class _Guarded:
    """Guards a Tune ``LoggerCallback``: runs start at a trial's first training report (a trial
    that only reuses a committed node reports ``reused`` and is never logged), and any error
    turns the tracker off with one warning instead of reaching Tune."""

    tracker = ""

    def __init__(self, describe: Describe, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._describe = describe
        self._started: set = set()
        self._off = False

    def _safely(self, what: str, fn, *args, **kwargs) -> bool:
        if self._off:
            return False
        try:
            fn(*args, **kwargs)
            return True
        except Exception as e:  # a tracker must never fail a trial or the sweep
            self._off = True
            _warn(self.tracker, what, e)
            return False

    def setup(self, *args, **kwargs):
        self._safely("setup", super().setup, *args, **kwargs)

    def log_trial_start(self, trial) -> None:
        """Deferred to the trial's first training report."""

    def log_trial_result(self, iteration: int, trial, result: dict) -> None:
        if self._off or result.get("reused"):
            return
        if trial not in self._started:
            if not self._safely(
                "starting a run", lambda: self._start_run(trial, self._describe(trial))
            ):
                return
            self._started.add(trial)
        # the trial's config is Tune's (node id, a search's choice): the run's config says more
        result = {k: v for k, v in result.items() if k != "config"}
        self._safely("logging a result", super().log_trial_result, iteration, trial, result)

    def log_trial_save(self, trial) -> None:
        if trial in self._started:
            self._safely("logging a checkpoint", super().log_trial_save, trial)

    def log_trial_end(self, trial, failed: bool = False) -> None:
        if trial in self._started:
            self._started.discard(trial)
            self._safely("ending a run", super().log_trial_end, trial, failed)

    def on_experiment_end(self, trials, **info) -> None:
        self._safely("finishing", super().on_experiment_end, trials, **info)

    def _start_run(self, trial, run: TrackedRun) -> None:
        raise NotImplementedError


class _SendOnly:
    """A Ray queue whose ``put`` returns at once: Ray's waits for the queue's actor, and the first
    answer of a new trial's queue takes as long as starting a process (seconds, in the loop that
    schedules every trial). A thread of the trial's own sends its items in order (the queue's
    actor is async, so calls sent without waiting could overtake each other)."""

    def __init__(self, queue):
        from concurrent.futures import ThreadPoolExecutor

        self.queue = queue
        self.sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wandb-send")

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        self.sender.submit(self.queue.put, item)

    def flushed(self):
        """A future done once everything put so far has been sent."""
        done = self.sender.submit(lambda: None)
        self.sender.shutdown(wait=False)
        return done


def _wandb_callback(describe: Describe, results_dir: str | None):
    from concurrent.futures import wait

    from ray.air.integrations.wandb import WandbLoggerCallback

    from orchestrator.run import ray_internals

    class FlushingActor(ray_internals.wandb_logging_actor_base()):
        def run(self):
            super().run()
            # finish() returns before W&B's service has written the run's files; Ray kills this
            # process as soon as run() returns, so wait for the service to end
            ray_internals.teardown_wandb(self)

    class WandbNodes(_Guarded, WandbLoggerCallback):
        tracker = "wandb"
        _logger_actor_cls = FlushingActor

        def _start_run(self, trial, run: TrackedRun) -> None:
            kwargs = dict(
                id=trial.trial_id,
                name=run.name,
                group=run.group,
                job_type=run.tags["kind"],
                tags=[f"{k}:{v}" for k, v in run.tags.items() if k not in ("sweep", "node_id")]
                + [run.tags["node_id"][:64]],
                config=run.config,
                project=self.project,
                resume=False,
                reinit=True,
                allow_val_change=True,
            )
            if results_dir and not os.environ.get("WANDB_DIR"):
                os.makedirs(results_dir, exist_ok=True)
                kwargs["dir"] = results_dir
            kwargs.update(self.kwargs)
            exclude = [*self.excludes, "config"]
            ray_internals.start_wandb_run(self, trial, exclude, _SendOnly, **kwargs)

        def on_experiment_end(self, trials, **info) -> None:
            self._safely("finishing", self._flush)
            super().on_experiment_end(trials, **info)

        def _flush(self) -> None:
            """Wait until what was sent has reached the runs, before Ray waits for them to end."""
            queues = ray_internals.wandb_queues(self)
            flushed = [q.flushed() for q in queues if isinstance(q, _SendOnly)]
            late = wait(flushed, timeout=WANDB_FINISH_TIMEOUT_S).not_done
            if late:
                print(
                    f"warning: --log-to wandb: {len(late)} run(s) still sending after "
                    f"{WANDB_FINISH_TIMEOUT_S} s; their last points may be missing",
                    file=sys.stderr,
                    flush=True,
                )

    project = os.environ.get("WANDB_PROJECT") or "scalearn-sweeps"
    return WandbNodes(describe, project=project, upload_timeout=WANDB_FINISH_TIMEOUT_S)


def _mlflow_callback(describe: Describe, sweep: str, results_dir: str | None):
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    from orchestrator.run.ray_internals import register_mlflow_run

    class MLflowNodes(_Guarded, MLflowLoggerCallback):
        tracker = "mlflow"

        def _start_run(self, trial, run: TrackedRun) -> None:
            started = self.mlflow_util.start_run(tags={**self.tags, **run.tags}, run_name=run.name)
            register_mlflow_run(self, trial, started.info.run_id)
            self.mlflow_util.log_params(run_id=started.info.run_id, params_to_log=run.config)

    for k, v in _MLFLOW_HTTP.items():
        os.environ.setdefault(k, v)
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri and results_dir:
        uri = "file://" + os.path.join(results_dir, "mlruns")
    if uri and (uri.startswith("file:") or "://" not in uri):
        # MLflow 3 asks for an explicit opt-in to its file store; a folder beside the results is
        # what a run without a tracking server has
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or sweep
    return MLflowNodes(describe, tracking_uri=uri, experiment_name=name)


def _tensorboard_callback(describe: Describe, folder: str):
    from ray.tune.logger import TBXLoggerCallback

    from orchestrator.run.ray_internals import open_tensorboard_writer, tensorboard_writer

    class TensorBoardNodes(_Guarded, TBXLoggerCallback):
        tracker = "tensorboard"

        def __init__(self, describe: Describe):
            super().__init__(describe)
            self._configs: dict = {}

        def _start_run(self, trial, run: TrackedRun) -> None:
            path = os.path.join(folder, run.name)
            os.makedirs(path, exist_ok=True)
            writer = open_tensorboard_writer(self, trial, path)
            writer.add_text("node", json.dumps(run.tags, sort_keys=True))
            self._configs[trial] = run.config

        def _try_log_hparams(self, trial, result: dict) -> None:
            from tensorboardX.summary import hparams

            config = self._configs.pop(trial, {})
            values = {k: v for k, v in config.items() if isinstance(v, (bool, int, float, str))}
            for summary in hparams(hparam_dict=values, metric_dict=result):
                tensorboard_writer(self, trial).file_writer.add_summary(summary)

    return TensorBoardNodes(describe)


def tracker_callbacks(
    trackers: list[str], nodes: dict[str, Node], sweep: str, run_id: str, results: str
) -> list:
    """Tune callbacks logging each trained node to the named trackers.

    W&B: project from ``WANDB_PROJECT`` (default ``scalearn-sweeps``), its files under the
    results folder unless ``WANDB_DIR`` says otherwise. MLflow: ``MLFLOW_TRACKING_URI``, default
    a file store ``<results>/<sweep>/mlruns``; the experiment is the sweep (or
    ``MLFLOW_EXPERIMENT_NAME``). TensorBoard: ``<results>/<sweep>/tensorboard/<label>``.
    """
    local = None if "://" in results else os.path.join(results, sweep)

    def describe(trial) -> TrackedRun:
        node = nodes[trial.config["node_id"]]
        return tracked_run(node, sweep, run_id, trial.config.get("hparams") or None)

    out = []
    for t in dict.fromkeys(trackers):
        if t == "wandb":
            out.append(_wandb_callback(describe, local))
        elif t == "mlflow":
            out.append(_mlflow_callback(describe, sweep, local))
        elif t == "tensorboard":
            folder = os.path.join(local or os.path.expanduser("~/.cache/scalearn"), "tensorboard")
            out.append(_tensorboard_callback(describe, folder))
        else:
            raise ValueError(f"unknown tracker {t!r}; one of {', '.join(TRACKERS)}")
    return out
