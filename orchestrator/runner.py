"""``orchestrator run``: a sweep as ONE Ray Tune experiment driven by the DAG searcher."""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.dag import Dag
from orchestrator.plan import Plan, plan_sweep
from orchestrator.results import has_rows, write_node_rows
from orchestrator.spec import SweepSpec
from orchestrator.store import ArtifactStore
from orchestrator.trial import rows_for, rows_from_store

# Trials Tune may hold waiting for resources at once. Tune's default for custom searchers is 1,
# which serialises trial start-up; a few more keep the cluster fed without flooding it.
DEFAULT_MAX_PENDING = 8


@dataclass
class RunSummary:
    """What a run did, node by node state."""

    run_id: str
    sweep: str
    counts: dict
    failed: dict = field(default_factory=dict)  # node id -> error
    blocked: list = field(default_factory=list)
    wall_s: float = 0.0
    retried: int = 0  # trials Ray Tune restarted after a failure or a lost worker

    @property
    def ok(self) -> bool:
        """True when no node failed or was blocked."""
        return not self.failed and not self.blocked


def _absolute(uri: str) -> str:
    return uri if "://" in uri else str(Path(uri).expanduser().resolve())


def init_ray(address: str | None, verbose: bool = False, num_cpus: int | None = None) -> bool:
    """Connect to ``address``, else to a running cluster, else start a local instance.

    ``address="local"`` always starts a fresh local instance. Returns whether this call started a
    local instance (one machine, no autoscaling) rather than joining a cluster.
    """
    import ray

    if ray.is_initialized():
        return False
    kwargs = {
        "log_to_driver": verbose,
        "logging_level": "INFO" if verbose else "WARNING",
        "configure_logging": True,
    }
    if address == "local":
        ray.init(num_cpus=num_cpus, include_dashboard=False, **kwargs)
        return True
    if address:
        ray.init(address=address, **kwargs)
        return False
    if os.environ.get("RAY_ADDRESS"):
        ray.init(**kwargs)
        return False
    try:
        ray.init(address="auto", **kwargs)
        return False
    except ConnectionError:
        ray.init(num_cpus=num_cpus, include_dashboard=False, **kwargs)
        return True


def backfill_cached_rows(plan: Plan, store: ArtifactStore, results: str, run_id: str) -> int:
    """Give cached nodes a result row in this results folder when they have none yet."""
    written = 0
    for n in plan.nodes:
        if n.cached and not has_rows(results, plan.sweep, n.id):
            rows = rows_from_store(store, n.to_dict(), run_id=run_id, sweep=plan.sweep)
            write_node_rows(results, plan.sweep, n.id, rows)
            written += 1
    return written


class _Progress:
    """Prints node counts when they change (at most every ``every`` seconds) and each outcome."""

    def __init__(self, searcher, dag: Dag, every: float = 2.0, stream=sys.stderr):
        self.searcher, self.dag, self.every, self.stream = searcher, dag, every, stream
        self.start = time.time()
        self.last_print = 0.0
        self.last_counts = None
        self.retried = 0

    def line(self, force: bool = False) -> None:
        counts = self.searcher.counts()
        now = time.time()
        if not force and (counts == self.last_counts or now - self.last_print < self.every):
            return
        self.last_counts, self.last_print = counts, now
        parts = [
            f"{k} {counts.get(k, 0)}"
            for k in ("pending", "running", "done", "failed", "blocked", "cached")
        ]
        print(
            f"[{now - self.start:7.1f}s] nodes: " + " | ".join(parts), file=self.stream, flush=True
        )

    def event(self, text: str) -> None:
        print(f"[{time.time() - self.start:7.1f}s] {text}", file=self.stream, flush=True)


def _make_callback(progress: _Progress, errors: dict):
    from ray.tune import Callback

    class ProgressCallback(Callback):
        def on_step_end(self, iteration, trials, **info):
            progress.line()

        def on_trial_complete(self, iteration, trials, trial, **info):
            node_id = trial.config.get("node_id")
            node = progress.dag.nodes.get(node_id)
            score = (trial.last_result or {}).get("score")
            shown = f" score {score:.1f}" if isinstance(score, float) else ""
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
            node = progress.dag.nodes.get(node_id)
            progress.event(f"FAILED {node.label if node else node_id}: {errors[node_id]}")

    return ProgressCallback()


def may_reuse_processes(nodes: dict[str, dict], simulate: bool, own_instance: bool) -> bool:
    """Whether a finished trial's process may serve the next trial of the same resources.

    A fresh process per trial costs seconds of start-up and imports (about 6 s on 2 CPU cores,
    ``benchmarks/scheduling.py``), and a trial does not depend on what ran before in its process
    (it seeds itself and frees its memory; the demo's scores are identical either way). Two
    things rule reuse out:

    - a cluster (``own_instance`` False: not a local instance this run started): Tune keeps idle
      processes for reuse without watching their machine, so a retry after a lost worker can be
      handed to a process on that dead machine and fail at once, spending the retry;
    - trials sharing a GPU (not simulated): Ray does not fence GPU memory, and a reused process
      keeps its CUDA context and allocator, memory its neighbour on the GPU may need.
    """
    if not own_instance:
        return False
    if simulate:
        return True
    return all(float(d["resources"].get("gpu") or 0).is_integer() for d in nodes.values())


def run_sweep(
    spec: SweepSpec,
    results: str = "results",
    store_uri: str = "artifacts",
    address: str | None = None,
    simulate: bool = False,
    speed: float = 1.0,
    verbose: bool = False,
    num_cpus: int | None = None,
    simulate_failures: str | None = None,
    reuse_actors: bool | None = None,
    min_nodes: int = 0,
    min_nodes_timeout: float = 600.0,
) -> RunSummary:
    """Plan the sweep, skip what the store holds, run the rest on Ray Tune; returns a summary.

    ``reuse_actors``: None decides by ``may_reuse_processes``; False starts every trial in a fresh
    process (seconds more per trial); True reuses processes even on shared GPUs.
    ``min_nodes``: wait (up to ``min_nodes_timeout`` s) until the cluster has this many Ray nodes,
    for a batch job whose workers start beside the driver (``orchestrator.cluster``).
    """
    started = time.time()
    results, store_uri = _absolute(results), _absolute(store_uri)
    store = ArtifactStore(store_uri)
    plan = plan_sweep(spec, committed=store.is_committed, simulate=simulate)
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    backfill_cached_rows(plan, store, results, run_id)
    dag = Dag(plan.nodes)
    cached = {n.id for n in plan.nodes if n.cached}
    todo = [n for n in plan.nodes if not n.cached]
    print(
        f"sweep {spec.name}: {len(plan.nodes)} nodes, {len(cached)} cached, {len(todo)} to run"
        f"{' (simulated)' if simulate else ''}; run id {run_id}",
        file=sys.stderr,
        flush=True,
    )
    if not todo:
        return RunSummary(run_id, spec.name, {"cached": len(cached)}, wall_s=time.time() - started)

    os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", str(DEFAULT_MAX_PENDING))
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # Tune snapshots its state after each checkpoint; with short trials it warns about that often.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    import ray
    from ray import tune
    from ray.tune.execution.placement_groups import PlacementGroupFactory

    from orchestrator.pruning import PruningScheduler
    from orchestrator.searcher import DagSearcher
    from orchestrator.trial import run_node_trial, search_outcome

    if not simulate:
        from trainables.backbones import prepare

        prepare(spec.backbone)  # once here, not in every trial that starts at the same moment
    own_instance = init_ray(address, verbose=verbose, num_cpus=num_cpus)
    from orchestrator.cluster import alive_nodes, describe, wait_for_nodes

    found = wait_for_nodes(min_nodes, min_nodes_timeout) if min_nodes else alive_nodes()
    print(f"cluster: {describe(found)}", file=sys.stderr, flush=True)
    has_gpu = ray.cluster_resources().get("GPU", 0) > 0
    nodes = {}
    for n in plan.nodes:
        d = n.to_dict()
        if not has_gpu:  # CPU-only cluster: run everything on CPUs
            d["resources"] = dict(d["resources"], gpu=0)
        nodes[n.id] = d
    if reuse_actors is None:
        reuse_actors = may_reuse_processes(nodes, simulate, own_instance)
    print(
        "trial processes: "
        + ("reused between trials of the same resources" if reuse_actors else "one per trial"),
        file=sys.stderr,
        flush=True,
    )

    def resources(config: dict) -> PlacementGroupFactory:
        res = nodes[config["node_id"]]["resources"]
        bundle = {"CPU": float(res.get("cpu", 1))}
        if res.get("gpu"):
            bundle["GPU"] = float(res["gpu"])
        return PlacementGroupFactory([bundle])

    settings = {
        "store": store_uri,
        "results": results,
        "sweep": spec.name,
        "run_id": run_id,
        "simulate": simulate,
        "speed": speed,
        "fail": simulate_failures if simulate else None,
    }
    trainable = tune.with_resources(
        tune.with_parameters(run_node_trial, nodes=nodes, settings=settings), resources
    )
    studies = None
    groups = {n.search["group"]: {"spec": n.search["spec"]} for n in plan.nodes if n.search}
    if groups:
        from orchestrator.search import SearchStudies

        studies = SearchStudies(groups, _study_folder(results, spec.name))
    searcher = DagSearcher(
        dag,
        store.is_committed,
        cached=cached,
        studies=studies,
        outcome=lambda node_id, metric: search_outcome(store, node_id, metric),
    )
    progress = _Progress(searcher, dag)
    errors: dict[str, str] = {}
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=PruningScheduler(searcher),
            num_samples=10**9,
            reuse_actors=reuse_actors,
        ),
        run_config=tune.RunConfig(
            name=run_id,
            storage_path=f"{results}/{spec.name}/_tune",
            failure_config=tune.FailureConfig(max_failures=spec.retries),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            callbacks=[_make_callback(progress, errors)],
            verbose=0,
        ),
    )
    tuner.fit()
    progress.line(force=True)

    failed = {
        i: errors.get(i) or searcher.reasons.get(i, "trial failed")
        for i, s in searcher.status.items()
        if s == "failed"
    }
    pruned = [i for i, s in searcher.status.items() if s == "pruned"]
    blocked = [i for i, s in searcher.status.items() if s == "blocked"]
    now = time.time()

    def write_outcome(node: dict, status: str, error: str) -> None:
        rows = rows_for(
            node,
            _empty_rows(node),
            run_id=run_id,
            sweep=spec.name,
            started_at=now,
            finished_at=now,
            artifact_uri=None,
            status=status,
            error=error,
        )
        write_node_rows(results, spec.name, node["id"], rows)

    for i, err in failed.items():
        write_outcome(nodes[i], "failed", err)
    for i in pruned:
        write_outcome(
            dict(nodes[i], hparams=searcher.hparams(i)),
            "pruned",
            "stopped early by the search's pruner",
        )
    for i in blocked:
        cause = ", ".join(d for d in nodes[i]["deps"] if d in failed) or "a failed dependency"
        write_outcome(nodes[i], "blocked", f"blocked by {cause}")
    return RunSummary(
        run_id,
        spec.name,
        dict(searcher.counts()),
        failed,
        blocked,
        wall_s=time.time() - started,
        retried=progress.retried,
    )


def _study_folder(results: str, sweep: str) -> str:
    """Where a run's Optuna studies live: beside the results, or a local cache for remote ones."""
    if "://" not in results:
        return f"{results}/{sweep}/search"
    return os.path.expanduser(f"~/.cache/scalearn/search/{sweep}")


def _empty_rows(node: dict) -> list[dict]:
    tasks = node["tasks"] if node["kind"] == "joint" else [node["task"]]
    return [{"task": t} for t in tasks]
