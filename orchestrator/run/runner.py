"""``orchestrator run``: a sweep as ONE Ray Tune experiment driven by the DAG searcher.

Three phases: ``prepare_run`` plans the sweep against the store and gives cached nodes their rows;
``build_tuner`` joins or starts Ray and wires the plan into a Tuner (trainable, resources, the DAG
searcher, progress); ``record_outcomes`` writes the rows of nodes that did not finish.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator import uri
from orchestrator.contract.node import STATUS_ORDER, NodeStatus, TrialSettings
from orchestrator.contract.rows import ResultRow, TaskResult
from orchestrator.estimate.time_left import RunClock, duration, error_summary
from orchestrator.planning.dag import Dag
from orchestrator.planning.nodes import Node, Plan
from orchestrator.planning.plan import plan_sweep
from orchestrator.results.from_store import ensure_done_rows
from orchestrator.results.row_files import quarantine_row_file, scan, write_node_rows
from orchestrator.run.tune_bookkeeping import apply_tune_env, checkpoint_pruner
from orchestrator.store import ArtifactStore, DamagedEntry, EntryCheck, open_store
from orchestrator.store.backbones import store_backbone
from orchestrator.sweep.spec import SweepSpec

# Trials Tune may hold waiting for resources at once, at the least. Tune's default for custom
# searchers is 1, which serialises trial start-up; a few more keep the cluster fed without
# flooding it. With reuse, at least as many as the cluster runs at once (``max_pending_trials``).
DEFAULT_MAX_PENDING = 8
MAX_PENDING_CAP = 1024
_USER_MAX_PENDING = os.environ.get("TUNE_MAX_PENDING_TRIALS_PG")


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


@dataclass
class PreparedRun:
    """A planned run: the plan against the store, its DAG, what is cached and what is left."""

    spec: SweepSpec
    plan: Plan
    dag: Dag
    store: ArtifactStore
    settings: TrialSettings
    cached: set[str]
    todo: list[Node]
    started: float
    repaired: list[str] = field(default_factory=list)  # damaged entries moved aside: train again


def absolute(location: str) -> str:
    """A store or results location as every machine of the cluster names it."""
    return location if uri.is_remote(location) else str(Path(location).expanduser().resolve())


def init_ray(address: str | None, verbose: bool = False, num_cpus: int | None = None) -> bool:
    """Join or start Ray by Ray's own convention; returns whether this call started a local
    instance (one machine, no autoscaling) rather than joining a cluster.

    ``address`` joins that cluster, and ``"local"`` always starts a fresh instance. Without it, a
    cluster named by ``RAY_ADDRESS`` or started on this machine with ``ray start`` is joined; a
    private instance that another process started with ``ray.init()`` is not (it goes away when
    that process ends), so a second ``orchestrator run`` starts its own.
    """
    import ray

    if ray.is_initialized():
        return False
    kwargs = {
        "log_to_driver": verbose,
        "logging_level": "INFO" if verbose else "WARNING",
        "configure_logging": True,
    }
    if address and address != "local":
        _raise_unreachable(address, "--address")
        ray.init(address=address, **kwargs)
        return False
    if address is None and _cluster_to_join() is not None:
        if os.environ.get("RAY_ADDRESS"):
            _raise_unreachable(os.environ["RAY_ADDRESS"], "RAY_ADDRESS")
        ray.init(**kwargs)
        return False
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **kwargs)
    return True


def address_problem(address: str | None, timeout: float = 10.0) -> str | None:
    """What is wrong with a Ray cluster address (``--address``, ``RAY_ADDRESS``), or None:
    ``ray.init`` waits for ever for a cluster that is not there, so a ``host:port`` must answer.
    """
    import socket

    if not address or address in ("local", "auto") or "://" in address:
        return None  # a local instance, Ray's own lookup or Ray Client: Ray reports those
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return f"expected a Ray cluster address host:port, 'local' or 'auto', got {address!r}"
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        return (
            f"nothing answers at {address} ({e.strerror or e}): start the cluster or give its "
            "head node's address, host:6379"
        )
    return None


def _raise_unreachable(address: str, option: str) -> None:
    from orchestrator.problems import UsageError

    problem = address_problem(address)
    if problem:
        raise UsageError(option, problem)


def _cluster_to_join() -> str | None:
    """The cluster ``ray.init()`` would join without an address, or None when it would start a
    local instance: RAY_ADDRESS, else the last ``ray start`` of this machine while its GCS still
    runs (a cluster killed without ``ray stop``, e.g. a cancelled batch job, leaves its address
    file behind; joining it would fail, so a local instance starts instead)."""
    from ray._private import services, utils

    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    try:
        address = utils.read_ray_address()
        running = services.find_gcs_addresses()
    except Exception:  # Ray's lookup helpers are internal: never let them stop a run
        return None
    return address if address and address in running else None


def prepare_run(
    spec: SweepSpec,
    results: str,
    store_uri: str,
    simulate: bool,
    speed: float,
    fail: str | None,
) -> PreparedRun:
    """Plan the sweep against the store and give its cached nodes a row in this results folder."""
    started = time.time()
    results, store_uri = absolute(results), absolute(store_uri)
    store = open_store(store_uri)
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    clear_unusable_row_files(results, spec.name)
    plan, repaired = plan_against_store(spec, store, simulate, results, run_id)
    settings = TrialSettings(
        store=store_uri,
        results=results,
        sweep=spec.name,
        run_id=run_id,
        simulate=simulate,
        speed=speed,
        fail=fail if simulate else None,
    )
    return PreparedRun(
        spec=spec,
        plan=plan,
        dag=Dag(plan.nodes),
        store=store,
        settings=settings,
        cached={n.id for n in plan.nodes if n.cached},
        todo=[n for n in plan.nodes if not n.cached],
        started=started,
        repaired=repaired,
    )


# Each pass moves at least one entry aside, and a plan has finitely many; this bounds a store
# that keeps changing under the planner.
MAX_PLAN_PASSES = 5


def plan_against_store(
    spec: SweepSpec, store: ArtifactStore, simulate: bool, results: str, run_id: str
) -> tuple[Plan, list[str]]:
    """Plan the sweep against the store; returns the plan and the nodes whose damaged entries
    were moved aside (they train again, like any node not committed).

    A cached node is one whose entry checks out and gives its ``done`` rows, which it gets in
    this results folder now; a cached source of a node to run has its digests checked too, so a
    damaged one trains again before its dependents rather than failing them.
    """
    repaired: list[str] = []
    for _ in range(MAX_PLAN_PASSES):
        plan, looked = _plan_looking(spec, store, simulate)
        for c in looked:
            if c.damaged and store.quarantine(c) is not None:
                repaired.append(c.node_id)
        needed = {d for n in plan.nodes if not n.cached for d in n.deps}
        unusable = False
        for n in plan.nodes:
            if not n.cached:
                continue
            reason = None
            if n.id in needed:
                deep = store.check(n.id, digests=True)
                reason = deep.reason if deep.damaged else None
            if reason is None:
                try:
                    ensure_done_rows(store, n, results, plan.sweep, run_id)
                except DamagedEntry as e:
                    reason = e.reason
            if reason is not None:
                unusable = True
                if store.set_aside(n.id, reason) is not None:
                    repaired.append(n.id)
        if not unusable:
            break
    return plan, repaired


def _plan_looking(spec: SweepSpec, store: ArtifactStore, simulate: bool):
    """The plan, and every store look it took (damaged entries among them)."""
    looked: dict[str, EntryCheck] = {}

    def committed(node_id: str) -> bool:
        looked[node_id] = store.check(node_id)
        return looked[node_id].committed

    return plan_sweep(spec, committed=committed, simulate=simulate), list(looked.values())


def clear_unusable_row_files(results: str, sweep: str) -> list[str]:
    """Move aside the sweep's node files that cannot be read (they are rebuilt from the store
    or rewritten by the node's trial); returns the node ids."""
    moved = []
    for f in scan(results, sweep):
        if f.problem and quarantine_row_file(results, sweep, f.node_id, f.problem):
            moved.append(f.node_id)
    return moved


class _Progress:
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


def _make_callback(progress: _Progress, errors: dict):
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
    progress: _Progress
    errors: dict[str, str]
    nodes: dict[str, Node]


def build_tuner(
    run: PreparedRun,
    address: str | None,
    verbose: bool,
    num_cpus: int | None,
    reuse_actors: bool | None,
    min_nodes: int = 0,
    min_nodes_timeout: float = 600.0,
    log_to: list[str] | None = None,
) -> TunerSetup:
    """Join or start Ray and wire the run's plan into one Ray Tune experiment.

    ``min_nodes``: wait (up to ``min_nodes_timeout`` s) until the cluster has this many Ray nodes,
    for a batch job whose workers start beside the driver (``orchestrator.run.cluster``).
    ``log_to``: experiment trackers each trained node is logged to (``orchestrator.run.tracking``).
    Raises InputError when a trial's request fits no machine (``fit_to_cluster``).
    """
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # Tune warns whenever it snapshots its state within seconds of the last time, which a short
    # TUNE_GLOBAL_CHECKPOINT_S of the user's makes routine.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    apply_tune_env()
    from ray import tune

    from orchestrator.results.from_store import search_outcome
    from orchestrator.run.searcher import DagSearcher

    if not run.settings.simulate:
        # once here, not in every trial that starts at the same moment
        store_backbone(run.store, run.spec.backbone)
    own_instance = init_ray(address, verbose=verbose, num_cpus=num_cpus)
    from orchestrator.run.cluster import alive_nodes, describe, wait_for_nodes

    found = wait_for_nodes(min_nodes, min_nodes_timeout) if min_nodes else alive_nodes()
    print(f"cluster: {describe(found)}", file=sys.stderr, flush=True)
    nodes = fit_to_cluster(run, found, own_instance)
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
    trainable = node_trainable(run.settings)
    searcher = DagSearcher(
        run.dag,
        run.store.is_committed,
        cached=run.cached,
        studies=_studies(run),
        outcome=lambda node_id, metric: search_outcome(run.store, nodes[node_id], metric),
        nodes=nodes,
    )
    progress = _Progress(searcher, run.dag)
    errors: dict[str, str] = {}
    callbacks = [_make_callback(progress, errors), checkpoint_pruner()]
    if log_to:
        from orchestrator.run.tracking import tracker_callbacks

        s = run.settings
        callbacks += tracker_callbacks(log_to, nodes, s.sweep, s.run_id, s.results)
    tuner = tune.Tuner(
        trainable,
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
    return TunerSetup(tuner, searcher, progress, errors, nodes)


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
    groups = {n.search["group"]: {"spec": n.search["spec"]} for n in run.plan.nodes if n.search}
    if not groups:
        return None
    from orchestrator.hpsearch.studies import SearchStudies

    return SearchStudies(groups, _study_folder(run.settings.results, run.spec.name))


def record_outcomes(run: PreparedRun, setup: TunerSetup) -> RunSummary:
    """Rows for the nodes that failed, were pruned or blocked; the run's summary."""
    searcher, nodes, settings = setup.searcher, setup.nodes, run.settings
    status = searcher.status
    failed = {
        i: setup.errors.get(i) or searcher.reasons.get(i, "trial failed")
        for i, s in status.items()
        if s == NodeStatus.FAILED
    }
    now = time.time()

    def write(node: Node, outcome: NodeStatus, error: str, hparams: dict | None = None) -> None:
        if _done_rows_from_store(run, node):
            return  # a committed node's row is its done row, never a failure written over it
        spec = node.spec(hparams)
        rows = [
            ResultRow.build(
                spec,
                TaskResult(task),
                sweep=settings.sweep,
                run_id=settings.run_id,
                status=outcome,
                started_at=now,
                finished_at=now,
                error=error,
            )
            for task in spec.scored_tasks
        ]
        write_node_rows(settings.results, settings.sweep, node.id, rows)

    for i, err in failed.items():
        write(nodes[i], NodeStatus.FAILED, err)
    for i in (i for i, s in status.items() if s == NodeStatus.PRUNED):
        write(
            nodes[i], NodeStatus.PRUNED, "stopped early by the search's pruner", searcher.hparams(i)
        )
    blocked = [i for i, s in status.items() if s == NodeStatus.BLOCKED]
    for i in blocked:
        cause = ", ".join(d for d in nodes[i].deps if d in failed) or "a failed dependency"
        write(nodes[i], NodeStatus.BLOCKED, f"blocked by {cause}")
    return RunSummary(
        settings.run_id,
        run.spec.name,
        {s.value: c for s, c in searcher.counts().items()},
        failed,
        blocked,
        wall_s=time.time() - run.started,
        retried=setup.progress.retried,
    )


def _done_rows_from_store(run: PreparedRun, node: Node) -> bool:
    """Give a node committed in the store (by this run's trial before it failed, or by another
    sweep) its done rows; False when it is not committed."""
    try:
        if not run.store.is_committed(node.id):
            return False
        s = run.settings
        ensure_done_rows(run.store, node, s.results, s.sweep, s.run_id)
        return True
    except KeyError:  # moved aside meanwhile
        return False
    except DamagedEntry as e:
        run.store.set_aside(node.id, e.reason)
        return False


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
    log_to: list[str] | None = None,
) -> RunSummary:
    """Plan the sweep, skip what the store holds, run the rest on Ray Tune; returns a summary.

    ``reuse_actors``: None decides by ``may_reuse_processes``; False starts every trial in a fresh
    process (seconds more per trial); True reuses processes even on shared GPUs. ``min_nodes``:
    see ``build_tuner``. ``log_to``: experiment trackers (``orchestrator.run.tracking``). Raises
    InputError when a request fits no machine of the cluster.
    """
    run = prepare_run(spec, results, store_uri, simulate, speed, simulate_failures)
    print(
        f"sweep {spec.name}: {len(run.plan.nodes)} nodes, {len(run.cached)} cached, "
        f"{len(run.todo)} to run{' (simulated)' if simulate else ''}; run id {run.settings.run_id}",
        file=sys.stderr,
        flush=True,
    )
    if run.repaired:
        print(
            f"{len(run.repaired)} damaged store entr{'y' if len(run.repaired) == 1 else 'ies'} "
            "moved aside (see above); those nodes train again",
            file=sys.stderr,
            flush=True,
        )
    if not run.todo:
        return RunSummary(
            run.settings.run_id,
            spec.name,
            {NodeStatus.CACHED.value: len(run.cached)},
            wall_s=time.time() - run.started,
        )
    setup = build_tuner(
        run, address, verbose, num_cpus, reuse_actors, min_nodes, min_nodes_timeout, log_to
    )
    setup.tuner.fit()
    setup.progress.line(force=True)
    setup.progress.summary()
    return record_outcomes(run, setup)


def _study_folder(results: str, sweep: str) -> str:
    """Where a run's Optuna studies live: with the results (a folder or a results URI), so a new
    head node continues them."""
    return uri.join(results, sweep, "search")
