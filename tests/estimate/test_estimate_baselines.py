"""The estimate's baselines (two waves, one loop per GPU) on plans small enough to check by hand."""

from __future__ import annotations

import json

import pytest

from orchestrator.contract.hparams import HParams
from orchestrator.estimate.makespan import (
    LOOP_PER_GPU,
    TWO_WAVES,
    compare_schedules,
    loop_per_gpu_makespan,
    simulate_schedule,
    two_waves_makespan,
)
from orchestrator.planning.plan import Node, Plan, plan_sweep
from orchestrator.sweep.spec import load_spec
from tests.conftest import SWEEPS

H = 3600.0


def _node(name: str, cost_h: float, kind: str = "stl", deps=(), gpu=1.0) -> Node:
    return Node(
        id=name,
        kind=kind,
        method="adapter" if kind == "stl" else "scalearn",
        benchmark="glue",
        task=name,
        tasks=[name],
        seed=0,
        backbone="roberta-base",
        hparams=HParams(),
        data={},
        deps=list(deps),
        resources={"gpu": gpu},
        cost=cost_h * H,
    )


def _hours(seconds: float) -> float:
    return seconds / H


def test_barrier_and_loops_on_a_small_plan():
    # a long stage-one node, a short one and a transfer node waiting on the short one
    plan = Plan(
        "s",
        [
            _node("a", 10),
            _node("b", 2),
            _node("t", 5, kind="transfer", deps=["b"]),
        ],
    )
    assert simulate_schedule(plan, 2)["makespan_h"] == pytest.approx(10)  # t runs beside a
    assert _hours(two_waves_makespan(plan, 2)) == pytest.approx(15)  # t waits for a too
    # dealt round-robin: gpu 0 runs a then t, gpu 1 runs b
    assert _hours(loop_per_gpu_makespan(plan, 2)) == pytest.approx(15)
    reordered = Plan("s", [plan.nodes[1], plan.nodes[0], plan.nodes[2]])
    # gpu 0 runs b then t (2 + 5), gpu 1 runs a
    assert _hours(loop_per_gpu_makespan(reordered, 2)) == pytest.approx(10)


def test_a_loop_does_not_pack_fractional_gpus():
    plan = Plan("s", [_node("a", 4, gpu=0.5), _node("b", 4, gpu=0.5)])
    assert simulate_schedule(plan, 1)["makespan_h"] == pytest.approx(4)
    assert _hours(two_waves_makespan(plan, 1)) == pytest.approx(4)
    assert _hours(loop_per_gpu_makespan(plan, 1)) == pytest.approx(8)


def test_cached_sources_count_as_done():
    plan = Plan(
        "s",
        [_node("b", 2), _node("t", 5, kind="transfer", deps=["b"]), _node("a", 1)],
        cached={"b"},
    )
    assert _hours(two_waves_makespan(plan, 1)) == pytest.approx(6)
    assert _hours(loop_per_gpu_makespan(plan, 1)) == pytest.approx(6)
    assert simulate_schedule(plan, 1)["nodes"] == 2


def test_comparison_on_the_glue_grid():
    plan = plan_sweep(load_spec(SWEEPS / "glue_full.yaml"))
    for gpus in (8, 64):
        est = compare_schedules(plan, gpus)
        assert set(est["baselines"]) == {TWO_WAVES, LOOP_PER_GPU}
        for b in est["baselines"].values():
            assert b["makespan_over_bound"] >= 1 - 1e-9
            assert b["ours_speedup"] >= 1 - 1e-9
            assert 0 < b["utilisation"] <= 1 + 1e-9
    # the goal, on the deterministic cost model: within 5 % of the lower bound
    assert compare_schedules(plan, 8)["makespan_over_bound"] <= 1.05


def test_plan_estimate_prints_all_three(cli):
    sweep = str(SWEEPS / "glue_full.yaml")
    out = cli("plan", sweep, "--estimate", "--gpus", "8")
    assert out.returncode == 0, out.stderr[-2000:]
    for name in ("DAG, longest chain first", "all of stage one, then all of stage two", "one loop"):
        assert name in out.stdout
    out = cli("plan", sweep, "--estimate", "--gpus", "8", "--json")
    est = json.loads(out.stdout)["estimate"]
    assert {"makespan_h", "lower_bound_h"} <= set(est)
    assert set(est["baselines"][TWO_WAVES]) >= {"makespan_h", "makespan_over_bound"}
