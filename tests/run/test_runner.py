"""When the runner lets a finished trial's process serve the next trial."""

from __future__ import annotations

from dataclasses import replace

from orchestrator.planning.nodes import Node
from orchestrator.planning.plan import plan_sweep
from orchestrator.run.tuner import may_reuse_processes
from orchestrator.sweep.spec import load_spec
from tests.conftest import SWEEPS


def _nodes(sweep: str, simulate: bool = False) -> dict[str, Node]:
    plan = plan_sweep(load_spec(SWEEPS / sweep), simulate=simulate)
    return {n.id: n for n in plan.nodes}


def test_trials_sharing_a_gpu_get_fresh_processes():
    nodes = _nodes("glue_full.yaml")
    assert any(0 < d.resources["gpu"] < 1 for d in nodes.values())  # half-GPU adapters
    assert not may_reuse_processes(nodes, simulate=False, own_instance=True)
    assert may_reuse_processes(
        _nodes("glue_full.yaml", simulate=True), simulate=True, own_instance=True
    )


def test_cpu_and_whole_gpu_trials_reuse_processes():
    assert may_reuse_processes(_nodes("demo.yaml"), simulate=False, own_instance=True)
    whole = {
        node_id: replace(d, resources=dict(d.resources, gpu=1 if d.resources["gpu"] else 0))
        for node_id, d in _nodes("glue_full.yaml").items()
    }
    assert may_reuse_processes(whole, simulate=False, own_instance=True)
    # the runner drops GPU requests on a cluster without GPUs: then nothing is shared
    cpu_only = {i: replace(d, resources=dict(d.resources, gpu=0)) for i, d in whole.items()}
    assert may_reuse_processes(cpu_only, simulate=False, own_instance=True)


def test_a_cluster_reuses_processes_only_where_the_guard_can_evict_them(monkeypatch):
    """An idle process kept on a worker that dies would be handed the retry and fail at once,
    unless the guard (orchestrator.run.actor_reuse) evicts it first."""
    from orchestrator.run import actor_reuse

    assert actor_reuse.supported()  # the installed Ray Tune has the hooks
    for sweep in ("demo.yaml", "glue_full.yaml"):
        for simulate in (False, True):
            nodes = _nodes(sweep, simulate=simulate)
            local = may_reuse_processes(nodes, simulate=simulate, own_instance=True)
            assert may_reuse_processes(nodes, simulate=simulate, own_instance=False) == local
    monkeypatch.setattr(actor_reuse, "supported", lambda: False)
    assert not may_reuse_processes(_nodes("demo.yaml"), simulate=True, own_instance=False)
    assert may_reuse_processes(_nodes("demo.yaml"), simulate=True, own_instance=True)


def test_tune_keeps_only_the_bookkeeping_retries_need_unless_the_user_says_otherwise(monkeypatch):
    import logging

    from orchestrator.run.tune_bookkeeping import SNAPSHOT_PERIOD_S, apply_tune_env

    monkeypatch.setenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "")  # so teardown restores it
    monkeypatch.delenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS")
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "60")  # the user's choice wins
    analysis = logging.getLogger("ray.tune.analysis.experiment_analysis")
    monkeypatch.setattr(analysis, "level", logging.NOTSET)
    applied = apply_tune_env()
    assert applied == {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "TUNE_GLOBAL_CHECKPOINT_S": "60"}
    assert analysis.level == logging.ERROR, "no warning per trial about logger files not written"
    monkeypatch.delenv("TUNE_GLOBAL_CHECKPOINT_S")
    assert apply_tune_env()["TUNE_GLOBAL_CHECKPOINT_S"] == str(SNAPSHOT_PERIOD_S)


def test_the_trainable_takes_its_resources_from_the_trial_s_node_and_holds_no_plan():
    """Tune unpickles the trainable for every trial it adds or starts: it must not grow with
    the plan."""
    from ray import cloudpickle

    from orchestrator.contract.node import TrialSettings
    from orchestrator.run.tuner import node_trainable

    settings = TrialSettings(store="/s", results="/r", sweep="demo", run_id="r1", simulate=True)
    trainable = node_trainable(settings)
    small, big = _nodes("demo.yaml"), _nodes("glue_full.yaml")
    assert len(big) > 5 * len(small)
    size = len(cloudpickle.dumps(trainable))
    assert size < 20_000
    for node in list(big.values())[:50]:
        bundle = trainable._resources({"node": node}).bundles[0]
        assert bundle["CPU"] == float(node.resources.get("cpu", 1))
        assert bundle.get("GPU", 0.0) == float(node.resources.get("gpu") or 0)


def test_tune_may_hold_as_many_pending_trials_as_the_cluster_runs_at_once():
    """Fewer, and the processes of trials that end in the same step beyond them are stopped."""
    from orchestrator.run.tuner import DEFAULT_MAX_PENDING, max_pending_trials

    demo = _nodes("demo.yaml")  # one CPU per trial
    cluster = [{"Resources": {"CPU": 0.0}}, {"Resources": {"CPU": 8.0}}, {"Resources": {"CPU": 8}}]
    assert max_pending_trials(demo, cluster) == 16
    assert max_pending_trials(demo, cluster[:1]) == DEFAULT_MAX_PENDING  # at the least
    halves = {i: replace(n, resources=dict(n.resources, cpu=0.5)) for i, n in demo.items()}
    assert max_pending_trials(halves, cluster) == 32
    assert max_pending_trials(demo, [{"Resources": {"CPU": 10**6}}]) == 1024  # capped
