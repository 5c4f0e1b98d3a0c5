"""When the runner lets a finished trial's process serve the next trial."""

from __future__ import annotations

from dataclasses import replace

from orchestrator.nodes import Node
from orchestrator.plan import plan_sweep
from orchestrator.runner import may_reuse_processes
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


def test_a_cluster_never_reuses_processes():
    """An idle process kept on a worker that dies would be handed the retry and fail at once."""
    for sweep in ("demo.yaml", "glue_full.yaml"):
        for simulate in (False, True):
            nodes = _nodes(sweep, simulate=simulate)
            assert not may_reuse_processes(nodes, simulate=simulate, own_instance=False)


def test_tune_keeps_only_the_bookkeeping_retries_need_unless_the_user_says_otherwise(monkeypatch):
    import logging

    from orchestrator.tune_bookkeeping import SNAPSHOT_PERIOD_S, apply_tune_env

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
