"""Every use of Ray's internals, in one place, each checked against the Ray version named here.

Ray's public API does not cover a few things a sweep needs: which cluster ``ray.init()`` would
join, the node types an autoscaler can start, evicting the idle trial processes Tune keeps for
reuse, and the per-trial state of Tune's W&B, MLflow and TensorBoard logger callbacks that the
trackers extend. Each of those reads a private name of Ray, and a Ray upgrade may move it. So no
other module of the project touches one: they call the functions below, and
``tests/run/test_ray_internals.py`` checks that every name listed in ``INTERNALS`` still exists in
the installed Ray. After an upgrade, run that test, read the functions below against the new
Ray's source, and update ``CHECKED_WITH``.

| function | Ray internal | used by |
|---|---|---|
| ``cluster_address_on_this_machine`` | ``ray._private.utils.read_ray_address``, ``ray._private.services.find_gcs_addresses`` | ``run.session`` |
| ``autoscaler_cluster_config`` | ``ray._private.state.state.get_cluster_config`` | ``run.capacity`` |
| ``can_evict_idle_processes``, ``evict_idle_processes`` | ``TuneController._cleanup_cached_actors``, ``._actor_cache``, the scheduler's ``._tune_controller`` wrapper | ``run.actor_reuse`` |
| ``wandb_logging_actor_base``, ``start_wandb_run``, ``wandb_queues``, ``teardown_wandb`` | ``ray.air.integrations.wandb._WandbLoggingActor`` (its ``_wandb``), ``WandbLoggerCallback._start_logging_actor``, ``._trial_queues``, ``._exclude_results`` | ``run.tracking`` |
| ``register_mlflow_run`` | ``MLflowLoggerCallback._trial_runs`` | ``run.tracking`` |
| ``open_tensorboard_writer``, ``tensorboard_writer`` | ``TBXLoggerCallback._trial_writer``, ``._trial_result``, ``._summary_writer_cls`` | ``run.tracking`` |
"""  # noqa: E501

from __future__ import annotations

import importlib

# The Ray release every function below was read against and tested with.
CHECKED_WITH = "2.60.0"

# (module, attribute path) of every internal name used here: the test checks each resolves.
INTERNALS: tuple[tuple[str, str], ...] = (
    ("ray._private.utils", "read_ray_address"),
    ("ray._private.services", "find_gcs_addresses"),
    ("ray._private.state", "state.get_cluster_config"),
    ("ray.tune.execution.tune_controller", "TuneController._cleanup_cached_actors"),
    ("ray.air.integrations.wandb", "_WandbLoggingActor"),
    ("ray.air.integrations.wandb", "WandbLoggerCallback._start_logging_actor"),
    ("ray.air.integrations.mlflow", "MLflowLoggerCallback"),
    ("ray.tune.logger", "TBXLoggerCallback"),
)
# Attributes set on instances (not on the classes), checked on a callback the test builds.
INSTANCE_ATTRIBUTES = {
    "WandbLoggerCallback": ("_trial_queues", "_exclude_results"),
    "MLflowLoggerCallback": ("_trial_runs",),
    "TBXLoggerCallback": ("_trial_writer", "_trial_result", "_summary_writer_cls"),
}


def resolve(module: str, path: str):
    """The object ``module.path`` names (AttributeError or ImportError when Ray moved it)."""
    obj = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


# --- the cluster ---------------------------------------------------------------------------


def cluster_address_on_this_machine() -> str | None:
    """The address of the cluster a ``ray start`` on this machine left, while its GCS runs; None
    when there is none, or Ray's lookup fails (it must never stop a run)."""
    try:
        from ray._private import services, utils

        address = utils.read_ray_address()
        running = services.find_gcs_addresses()
    except Exception:
        return None
    return address if address and address in running else None


def autoscaler_cluster_config():
    """The autoscaler's cluster config as Ray reports it (None when there is none or the lookup
    fails); Ray must be initialised."""
    try:
        import ray._private.state as ray_state

        return ray_state.state.get_cluster_config()
    except Exception:
        return None


# --- Tune's idle trial processes -------------------------------------------------------------


def can_evict_idle_processes() -> bool:
    """Whether the installed Tune's controller can stop the idle processes it keeps for reuse."""
    try:
        from ray.tune.execution.tune_controller import TuneController
    except ImportError:
        return False
    return callable(getattr(TuneController, "_cleanup_cached_actors", None))


def evict_idle_processes(tune_controller) -> int:
    """Stop every idle trial process Tune keeps for reuse; returns how many there were.

    ``tune_controller`` is what Tune hands a scheduler's hooks: the controller, or in some hooks
    a wrapper holding it."""
    controller = getattr(tune_controller, "_tune_controller", tune_controller)
    cache = getattr(controller, "_actor_cache", None)
    idle = cache.num_cached_objects if cache is not None else 0
    controller._cleanup_cached_actors(force_all=True)
    return idle


# --- the trackers' logger callbacks ----------------------------------------------------------


def wandb_logging_actor_base():
    """The class of the process Tune's W&B callback runs per trial (subclassed to flush)."""
    from ray.air.integrations.wandb import _WandbLoggingActor

    return _WandbLoggingActor


def teardown_wandb(actor) -> None:
    """Wait in a W&B logging actor until W&B's service has written the run's files."""
    actor._wandb.teardown()


def start_wandb_run(callback, trial, exclude: list[str], wrap_queue, **init_kwargs) -> None:
    """Start the W&B logging process of ``trial`` with ``wandb.init(**init_kwargs)``, never
    logging the keys in ``exclude`` beside the callback's own, and wrap its queue."""
    excluded = [*callback._exclude_results, *exclude]
    callback._start_logging_actor(trial, excluded, **init_kwargs)
    callback._trial_queues[trial] = wrap_queue(callback._trial_queues[trial])


def wandb_queues(callback) -> list:
    """The queues of the callback's running W&B logging processes."""
    return list(callback._trial_queues.values())


def register_mlflow_run(callback, trial, run_id: str) -> None:
    """Tie an MLflow run started by the caller to ``trial``, so the callback logs into it."""
    callback._trial_runs[trial] = run_id


def open_tensorboard_writer(callback, trial, path: str):
    """Open ``trial``'s TensorBoard writer on ``path`` (rather than Tune's trial folder)."""
    callback._trial_writer[trial] = callback._summary_writer_cls(path, flush_secs=30)
    callback._trial_result[trial] = {}
    return callback._trial_writer[trial]


def tensorboard_writer(callback, trial):
    """``trial``'s open TensorBoard writer."""
    return callback._trial_writer[trial]
