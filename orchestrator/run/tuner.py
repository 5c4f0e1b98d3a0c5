"""One Ray Tune experiment for a prepared run: the trainable, resources, searcher, scheduler,
callbacks, and how many trial processes Tune keeps."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from orchestrator import uri
from orchestrator.contract.node import TrialSettings
from orchestrator.planning.nodes import Node
from orchestrator.run.options import RunOptions
from orchestrator.run.prepare import PreparedRun
from orchestrator.run.progress import Progress, progress_callback
from orchestrator.run.session import init_ray
from orchestrator.run.tune_bookkeeping import apply_tune_env, checkpoint_pruner
from orchestrator.store.backbones import store_backbone

# Trials Tune may hold waiting for resources at once, at the least. Tune's default for custom
# searchers is 1, which serialises trial start-up; a few more keep the cluster fed without
# flooding it. With reuse, at least as many as the cluster runs at once (``max_pending_trials``).
DEFAULT_MAX_PENDING = 8
MAX_PENDING_CAP = 1024
_USER_MAX_PENDING = os.environ.get("TUNE_MAX_PENDING_TRIALS_PG")


def may_reuse_processes(nodes: dict[str, Node], simulate: bool, own_instance: bool) -> bool:
    """Whether a finished trial's process may serve the next trial of the same resources.

    A fresh process per trial costs seconds of start-up and imports (about 6 s on 2 CPU cores,
    ``benchmarks/scheduling.py``), and a trial does not depend on what ran before in its process
    (it seeds itself and frees its memory; the demo's scores are identical either way). Two
    things rule reuse out:

    - on a cluster (``own_instance`` False: not a local instance this run started), a Ray Tune
      without the hooks ``orchestrator.run.actor_reuse`` needs to evict idle processes after a lost
      machine: a retry could be handed a process of the dead machine and fail at once, spending
      the retry;
    - trials sharing a GPU (not simulated): Ray does not fence GPU memory, and a reused process
      keeps its CUDA context and allocator, memory its neighbour on the GPU may need.
    """
    from orchestrator.run import actor_reuse

    if not own_instance and not actor_reuse.supported():
        return False
    if simulate:
        return True
    return all(float(n.resources.get("gpu") or 0).is_integer() for n in nodes.values())


@dataclass
class TunerSetup:
    """A Tuner ready to fit, and what reads its outcome."""

    tuner: object
    searcher: object
    progress: Progress
    errors: dict[str, str]
    nodes: dict[str, Node]


def build_tuner(run: PreparedRun, options: RunOptions) -> TunerSetup:
    """Join or start Ray and wire the run's plan into one Ray Tune experiment.

    ``options.min_nodes``: wait (up to ``min_nodes_timeout`` s) until the cluster has this many
    Ray nodes, for a batch job whose workers start beside the driver (``run.cluster``).
    ``options.log_to``: experiment trackers each trained node is logged to (``run.tracking``).
    Raises InputError when a trial's request fits no machine (``fit_to_cluster``).
    """
    _tune_environment()
    from orchestrator.results.from_store import search_outcome
    from orchestrator.run.searcher import DagSearcher

    if not run.settings.simulate:
        # once here, not in every trial that starts at the same moment
        store_backbone(run.store, run.spec.backbone)
    nodes, reuse_actors = _join_cluster(run, options)
    searcher = DagSearcher(
        run.dag,
        run.store.is_committed,
        cached=run.cached,
        studies=_studies(run),
        outcome=lambda node_id, metric: search_outcome(run.store, nodes[node_id], metric),
        nodes=nodes,
    )
    progress = Progress(searcher, run.dag)
    errors: dict[str, str] = {}
    callbacks = [progress_callback(progress, errors), checkpoint_pruner()]
    if options.log_to:
        from orchestrator.run.tracking import tracker_callbacks

        s = run.settings
        callbacks += tracker_callbacks(list(options.log_to), nodes, s.sweep, s.run_id, s.results)
    tuner = _tuner(run, searcher, callbacks, reuse_actors)
    return TunerSetup(tuner, searcher, progress, errors, nodes)


def _tune_environment() -> None:
    """Tune's environment variables a run sets unless the user did."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # Tune warns whenever it snapshots its state within seconds of the last time, which a short
    # TUNE_GLOBAL_CHECKPOINT_S of the user's makes routine.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    apply_tune_env()


def _join_cluster(run: PreparedRun, options: RunOptions) -> tuple[dict[str, Node], bool]:
    """Join or start Ray; the run's nodes fitted to the cluster, and whether trials reuse
    processes."""
    from orchestrator.run.cluster import alive_nodes, describe, wait_for_nodes

    own_instance = init_ray(options.address, verbose=options.verbose, num_cpus=options.num_cpus)
    if options.min_nodes:
        found = wait_for_nodes(options.min_nodes, options.min_nodes_timeout)
    else:
        found = alive_nodes()
    print(f"cluster: {describe(found)}", file=sys.stderr, flush=True)
    nodes = fit_to_cluster(run, found, own_instance)
    reuse_actors = options.reuse_actors
    if reuse_actors is None:
        reuse_actors = may_reuse_processes(nodes, run.settings.simulate, own_instance)
    if _USER_MAX_PENDING is None:  # each run its own, unless the user set Tune's variable
        os.environ["TUNE_MAX_PENDING_TRIALS_PG"] = str(max_pending_trials(nodes, found))
    print(
        "trial processes: "
        + ("reused between trials of the same resources" if reuse_actors else "one per trial"),
        file=sys.stderr,
        flush=True,
    )
    return nodes, reuse_actors


def _tuner(run: PreparedRun, searcher, callbacks: list, reuse_actors: bool):
    from ray import tune

    return tune.Tuner(
        node_trainable(run.settings),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=_scheduler(searcher, reuse_actors),
            num_samples=10**9,
            reuse_actors=reuse_actors,
        ),
        run_config=tune.RunConfig(
            name=run.settings.run_id,
            storage_path=uri.join(run.settings.results, run.spec.name, "_tune"),
            failure_config=tune.FailureConfig(max_failures=run.spec.retries),
            # no num_to_keep: it would snapshot the experiment at every checkpoint; the
            # pruner keeps one checkpoint per trial instead (orchestrator.run.tune_bookkeeping)
            checkpoint_config=tune.CheckpointConfig(),
            callbacks=callbacks,
            verbose=0,
        ),
    )


def max_pending_trials(nodes: dict[str, Node], found: list[dict]) -> int:
    """How many trials Tune may hold waiting for a process at once: at least as many as the
    cluster's CPUs can run side by side (``found``: its live Ray nodes).

    Tune keeps a finished trial's process for reuse only while a pending trial asks for its
    resources, so when more trials end in one step than are pending, the rest of the processes
    are stopped and their successors start new ones (measured: 16 slots and 8 pending, half the
    trials in new processes, 2.25x the estimated makespan; with 16 pending, 1.03x)."""
    from orchestrator.run.capacity import running_machines

    cpus = sum(m.cpu or 0.0 for m in running_machines(found))
    smallest = min((float(n.resources.get("cpu") or 1) for n in nodes.values()), default=1.0)
    at_once = int(cpus / smallest) if smallest > 0 else 0
    return max(DEFAULT_MAX_PENDING, min(at_once, MAX_PENDING_CAP))


def _scheduler(searcher, reuse_actors: bool):
    """The pruning scheduler; with reuse, guarded so no idle process of a lost machine is
    handed a trial (``orchestrator.run.actor_reuse``)."""
    from orchestrator.hpsearch.pruning import PruningScheduler

    if not reuse_actors:
        return PruningScheduler(searcher)
    from orchestrator.run.actor_reuse import safe_reuse_scheduler

    return safe_reuse_scheduler(PruningScheduler)(searcher)


def fit_to_cluster(run: PreparedRun, found: list[dict], own_instance: bool) -> dict[str, Node]:
    """The run's nodes with requests the cluster can hold (``orchestrator.run.capacity``); prints
    what it changed, raises InputError naming the requests nothing can hold."""
    from orchestrator.problems import InputError
    from orchestrator.run import capacity

    machines = capacity.running_machines(found)
    if not own_instance:  # a local instance this run started has no autoscaler
        machines += capacity.startable_node_types()
    fitted = capacity.fit_requests(
        {n.id: n for n in run.plan.nodes},
        machines,
        scale_down=run.settings.simulate and own_instance,
        where=run.spec.path,
        resource_key=lambda m: (
            f"methods.{m}.resources"
            if m in run.spec.methods and run.spec.methods[m].resources
            else "resources"
        ),
        todo={n.id for n in run.todo},
    )
    for note in fitted.notes:
        print(note, file=sys.stderr, flush=True)
    if fitted.problems:
        raise InputError(fitted.problems)
    return fitted.nodes


def node_trainable(settings: TrialSettings):
    """The Tune trainable of every node: ``run_node_trial`` with the run's settings, resources
    from the trial's own node.

    Each trial gets its node in its config (``DagSearcher``), never the whole plan: Tune's driver
    unpickles the trainable from its registry for every trial it adds or starts, and every new
    trial process does too, so anything the trainable holds (its resources function included)
    costs that many times its size; a plan of 10,000 nodes is megabytes."""
    from ray import tune

    from orchestrator.run.trial import run_node_trial

    return tune.with_resources(
        tune.with_parameters(run_node_trial, settings=settings),
        lambda config: _placement(config["node"]),
    )


def _placement(node: Node):
    from ray.tune.execution.placement_groups import PlacementGroupFactory

    bundle = {"CPU": float(node.resources.get("cpu", 1))}
    if node.resources.get("gpu"):
        bundle["GPU"] = float(node.resources["gpu"])
    return PlacementGroupFactory([bundle])


def _studies(run: PreparedRun):
    groups = {n.search.group: {"spec": n.search.spec} for n in run.plan.nodes if n.search}
    if not groups:
        return None
    from orchestrator.hpsearch.studies import SearchStudies

    return SearchStudies(groups, _study_folder(run.settings.results, run.spec.name))


def _study_folder(results: str, sweep: str) -> str:
    """Where a run's Optuna studies live: with the results (a folder or a results URI), so a new
    head node continues them."""
    return uri.join(results, sweep, "search")
