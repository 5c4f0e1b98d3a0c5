"""Every shipped sweep plans into a valid DAG; the paper's grids; few-shot sweeps."""

from __future__ import annotations

import textwrap
from collections import Counter

import pytest

from orchestrator.contract.methods import Kind
from orchestrator.planning.dag import Dag
from orchestrator.planning.plan import plan_sweep
from orchestrator.sweep.spec import SpecError, load_spec, parse_spec
from tests.conftest import SHARED_DATA, SWEEPS

SHIPPED = sorted(SWEEPS.glob("*.yaml"))


@pytest.fixture(scope="module")
def plans():
    return {"glue_full": plan_sweep(load_spec(SWEEPS / "glue_full.yaml"))}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_sweep_plans_into_a_dag(path):
    if "shared/data" in path.read_text() and not SHARED_DATA.is_dir():
        pytest.skip(f"{path.name} reads the real data files at {SHARED_DATA}, absent here")
    plan = plan_sweep(load_spec(path))
    assert plan.nodes and len({n.id for n in plan.nodes}) == len(plan.nodes)
    dag = Dag(plan.nodes)  # every dependency is in the plan and there is no cycle
    position = {i: k for k, i in enumerate(n.id for n in plan.nodes)}
    assert all(position[d] < position[n.id] for n in plan.nodes for d in n.deps)
    assert len(dag.order) == len(plan.nodes)


def test_superglue_full_is_the_papers_grid_and_shares_rte_with_glue(plans):
    plan = plan_sweep(load_spec(SWEEPS / "superglue_full.yaml"))
    counts = Counter((n.method, n.task) for n in plan.nodes)
    assert counts[("adapter", "record")] == 3 and counts[("adapter", "cb")] == 10
    assert counts[("scalearn", "multirc")] == 3
    record = next(n for n in plan.nodes if n.method == "scalearn" and n.task == "record")
    assert record.hparams.get("epochs") == 3 and record.hparams.get("max_length") == 256
    assert next(n for n in plan.nodes if n.task == "multirc").hparams.get("max_length") == 324
    glue_ids = {n.id for n in plans["glue_full"].nodes}
    shared = {(n.method, n.task) for n in plan.nodes if n.id in glue_ids}
    assert shared == {(m, "rte") for m in ("adapter", "full_ft", "compacter_pp", "propetl")}


def test_superglue_full_follows_the_official_scripts_settings():
    plan = plan_sweep(load_spec(SWEEPS / "superglue_full.yaml"))
    # AdapterFusion trains ReCoRD 3 epochs, as ScaLearn (run_fusion_superglue.sh)
    fusion = {n.task: n.hparams.get("epochs") for n in plan.nodes if n.method == "adapter_fusion"}
    assert fusion["record"] == 3 and fusion["cb"] == 30
    # COPA: the multiple-choice model's pooler head in Full FT, Full FT-m and stage two; the
    # stage-one adapters keep the two-layer head
    heads = {(n.method, n.task): n.hparams.get("choice_head") for n in plan.nodes}
    for method in ("full_ft", "scalearn", "scalearn_uniform", "scalearn_pp", "adapter_fusion"):
        assert heads[(method, "copa")] == "pooler" and heads[(method, "wsc")] == "two_layer"
    assert heads[("full_ft_m", None)] == "pooler"
    assert heads[("adapter", "copa")] == heads[("adapter_m", None)] == "two_layer"
    # joint nodes keep each task's own length: null, not 324 for every task
    assert all(n.hparams.get("max_length") is None for n in plan.nodes if n.kind == Kind.JOINT)


def test_humset_full_runs_xlmr_on_five_multilabel_tasks_with_three_seeds():
    spec = load_spec(SWEEPS / "humset_full.yaml")
    plan = plan_sweep(spec)
    assert spec.backbone == "xlm-roberta-base"
    assert Counter(n.task for n in plan.nodes if n.method == "adapter") == {
        t: 3 for t in ("sectors", "pillars_1d", "subpillars_1d", "pillars_2d", "subpillars_2d")
    }
    # macro F1 picks the best epoch; the joint runs pick by the mean dev loss (the official
    # joint scripts' eval_loss_mean)
    assert all(n.hparams.get("select") == "score" for n in plan.nodes if n.kind != Kind.JOINT)
    joint = [n for n in plan.nodes if n.kind == Kind.JOINT]
    assert len(joint) == 5 * 3 and all(n.hparams.get("select") == "loss" for n in joint)
    assert all(n.data[n.task].config == "1.0.0" for n in plan.nodes if n.task)


def test_glue_fewshot_trains_k_shot_targets_over_full_data_sources(plans):
    plan = plan_sweep(load_spec(SWEEPS / "glue_fewshot.yaml"))
    ids = plan.by_id()
    shots = [n for n in plan.nodes if n.hparams.k is not None]
    assert Counter(n.hparams.get("k") for n in shots if n.method == "scalearn") == {
        k: 8 * 5 for k in (4, 16, 32, 100)
    }
    for n in shots:
        assert n.hparams.get("max_steps") == 1000 and n.hparams.get("patience") == 20
        assert n.hparams.get("select") == "score" and n.hparams.get("dev_limit") == 5000
    transfer = [n for n in shots if n.kind == "transfer"]
    for n in transfer:
        deps = [ids[d] for d in n.deps]
        assert [d.task for d in deps] == list(n.tasks) and len(deps) == 8
        for d in deps:
            # the target's own k-shot seed-0 adapter; the other tasks' full-data ones
            assert d.method == "adapter" and d.seed == 0
            assert d.hparams.get("k") == (n.hparams.get("k") if d.task == n.task else None)
    full = {n.id: n.cost for n in plan.nodes if n.hparams.k is None}
    assert len(full) == 8
    glue_full = {n.id: n.cost for n in plans["glue_full"].nodes}
    assert {i: glue_full.get(i) for i in full} == full, "the same nodes as glue_full's, same cost"
    assert not any(n.kind == "joint" for n in plan.nodes)


def _fewshot(tmp_path, extra: str) -> str:
    p = tmp_path / "few.yaml"
    p.write_text(
        textwrap.dedent(
            """
            sweep: few
            backbone: tiny-roberta
            benchmarks:
              synthetic: {seeds: [0, 1], tasks: [syn_sentiment, syn_topic]}
            training: {max_steps: 20, patience: 3, select: score}
            methods:
              adapter: {lr: 1.0e-3}
              scalearn: {lr: 1.0e-2}
            """
        )
        + textwrap.dedent(extra)
    )
    return str(p)


def test_k_enters_every_few_shot_id(tmp_path):
    plan = plan_sweep(load_spec(_fewshot(tmp_path, "fewshot: {k: [4, 8], dev_limit: null}")))
    by = Counter((n.kind, n.hparams.get("k")) for n in plan.nodes)
    assert by == {
        ("stl", 4): 4,
        ("stl", 8): 4,
        ("transfer", 4): 4,
        ("transfer", 8): 4,
        ("stl", None): 2,
    }
    a4 = {n.id for n in plan.nodes if n.method == "adapter" and n.hparams.get("k") == 4}
    a8 = {n.id for n in plan.nodes if n.method == "adapter" and n.hparams.get("k") == 8}
    assert len(a4) == 4 and not a4 & a8
    assert all(n.hparams.dev_limit is None for n in plan.nodes)
    sources = [n for n in plan.nodes if n.hparams.k is None]
    assert all(n.hparams.get("lr") == 3e-4 and n.hparams.get("epochs") == 30 for n in sources)


def test_fewshot_block_problems_are_reported_by_key(tmp_path):
    bad = """
    fewshot: {k: [4, 4, 0], dev_limit: -1, sources: {lr: fast}, extra: 1}
    """
    with pytest.raises(SpecError) as err:
        load_spec(_fewshot(tmp_path, bad))
    text = str(err.value)
    for key in ("fewshot.k", "fewshot.dev_limit", "fewshot.sources.lr", "fewshot.extra"):
        assert key in text
    raw = {
        "sweep": "s",
        "backbone": "tiny-roberta",
        "benchmarks": {"synthetic": {"seeds": [0]}},
        "methods": {"adapter_m": {}},
        "fewshot": {"k": [4]},
    }
    with pytest.raises(SpecError, match="methods.adapter_m: joint methods have no few-shot"):
        parse_spec(raw)
