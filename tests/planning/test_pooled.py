"""Benchmarks as one pool (``scope: sweep``): the paper's GLUE + SuperGLUE setting."""

from __future__ import annotations

import pytest

from orchestrator.analysis.tables import build_table, render
from orchestrator.contract.methods import Kind
from orchestrator.planning.plan import plan_sweep
from orchestrator.results import row_files as results
from orchestrator.sweep.spec import SpecError, load_spec, parse_spec
from tests.conftest import SWEEPS, TEST_SWEEPS, simulated_run_args


def test_the_gsg_sweep_pools_the_15_tasks():
    spec = load_spec(SWEEPS / "gsg_full.yaml")
    assert spec.pooled and len(spec.tasks) == 15 and spec.tasks.count("rte") == 1
    plan = plan_sweep(spec)
    transfer = [n for n in plan.nodes if n.kind == Kind.TRANSFER]
    joint = [n for n in plan.nodes if n.kind == Kind.JOINT]
    assert {len(n.sources) for n in transfer} == {15}
    assert {n.task for n in transfer} == set(spec.tasks)
    joint_methods = [m for m in spec.methods if spec.methods[m].kind == Kind.JOINT]
    assert len(joint) == len(joint_methods) * 3 and all(list(n.tasks) == spec.tasks for n in joint)
    by_id = plan.by_id()
    assert [by_id[s.node_id].task for s in transfer[0].sources] == spec.tasks
    # stage one is glue_full's and superglue_full's: a store holding them has it all
    full = {
        n.id
        for s in ("glue_full", "superglue_full")
        for n in plan_sweep(load_spec(SWEEPS / f"{s}.yaml")).nodes
    }
    stl = [n for n in plan.nodes if n.kind == Kind.STL]
    stl_methods = [m for m in spec.methods if spec.methods[m].kind == Kind.STL]
    per_method = 4 * 10 + 4 * 3 + 6 * 10 + 2 * 3 - 10  # RTE's ten seeds once
    assert len(stl) == len(stl_methods) * per_method and all(n.id in full for n in stl)
    # 15 targets with their seeds, five transfer methods
    assert len(transfer) == 5 * (4 * 10 + 4 * 3 + 5 * 10 + 2 * 3)


def test_a_pool_needs_two_benchmarks():
    raw = {
        "sweep": "p",
        "backbone": "tiny-roberta",
        "scope": "sweep",
        "benchmarks": {"synthetic": {"seeds": [0]}},
        "methods": {"adapter": {}},
    }
    with pytest.raises(SpecError, match="scope: 'sweep' pools the tasks of several benchmarks"):
        parse_spec(raw)
    with pytest.raises(SpecError, match="scope: expected one of benchmark, sweep"):
        parse_spec({**raw, "scope": "all"})


@pytest.mark.slow
@pytest.mark.ray
def test_a_pooled_grid_shows_each_benchmark_with_its_own_average(cli, tmp_path):
    run = cli(*simulated_run_args(TEST_SWEEPS / "tiny_pooled.yaml", tmp_path, "400"), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    df = results.load(str(tmp_path / "results" / "tiny_pooled"))
    t = build_table(df)
    assert t.columns == [
        "glue:mrpc",
        "glue:rte",
        "glue:Avg.",
        "superglue:rte",
        "superglue:cb",
        "superglue:Avg.",
        "Avg.",
    ]
    for m in ("adapter", "scalearn", "adapter_m"):
        # one RTE node serves both benchmarks
        assert t.mean.loc[m, "glue:rte"] == t.mean.loc[m, "superglue:rte"]
        assert t.mean.loc[m, "Avg."] == pytest.approx(
            t.mean.loc[m, ["glue:mrpc", "glue:rte", "superglue:cb"]].mean()
        )
    text = render(t)
    assert "GLUE Avg." in text and "SuperGLUE Avg." in text and "Avg. (all)" in text
    superglue = build_table(df, benchmark="superglue")
    assert superglue.tasks == ["rte", "cb"] and set(superglue.methods) == set(t.methods)
