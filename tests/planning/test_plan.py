"""Plans: the paper's GLUE grid, content-hash ids, dependencies, estimates, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from orchestrator.estimate.makespan import simulate_schedule
from orchestrator.planning.plan import plan_sweep
from orchestrator.sweep.spec import SpecError, load_spec, parse_spec
from tests.conftest import ROOT, SWEEPS


@pytest.fixture(scope="module")
def glue_plan():
    return plan_sweep(load_spec(SWEEPS / "glue_full.yaml"))


def test_glue_full_has_the_papers_grid(glue_plan):
    counts = Counter((n.kind, n.method) for n in glue_plan.nodes)
    for m in ("adapter", "full_ft", "compacter_pp"):
        assert counts[("stl", m)] == 52  # 4 tasks x 10 seeds + 4 tasks x 3 seeds
    for m in (
        "scalearn",
        "scalearn_uniform",
        "scalearn_pp",
        "scalearn_uniform_pp",
        "adapter_fusion",
    ):
        assert counts[("transfer", m)] == 52
    assert counts[("joint", "adapter_m")] == 3 and counts[("joint", "full_ft_m")] == 3
    seeds = Counter(n.task for n in glue_plan.nodes if n.method == "adapter")
    assert seeds["rte"] == 10 and seeds["mnli"] == 3


def test_each_transfer_node_depends_on_the_eight_seed0_adapters(glue_plan):
    ids = glue_plan.by_id()
    sources = {n.id for n in glue_plan.nodes if n.method == "adapter" and n.seed == 0}
    assert len(sources) == 8
    for n in glue_plan.nodes:
        if n.kind == "transfer":
            assert set(n.deps) == sources and len(n.deps) == 8
            # aligned, the target's own included
            assert [ids[d].task for d in n.deps] == list(n.tasks)
            assert n.task in n.tasks
        else:
            assert n.deps == ()


def test_plan_json_has_the_documented_fields(cli, tmp_path):
    out = cli("plan", str(SWEEPS / "glue_full.yaml"), "--json", "--store", str(tmp_path / "s"))
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    # 422 nodes of the ten systems, 52 ProPETL, 3 seeds of each of the three newer joint ones
    assert plan["sweep"] == "glue_full" and len(plan["nodes"]) == 422 + 52 + 9
    node = next(n for n in plan["nodes"] if n["kind"] == "transfer")
    for key in (
        "id",
        "kind",
        "method",
        "benchmark",
        "task",
        "seed",
        "backbone",
        "hparams",
        "deps",
        "resources",
        "cached",
    ):
        assert key in node
    joint = next(n for n in plan["nodes"] if n["kind"] == "joint")
    assert joint["task"] is None and joint["hparams"]["max_steps"] == 375000


def test_ids_are_stable_across_processes(glue_plan):
    code = (
        "from orchestrator.planning.plan import plan_sweep;"
        "from orchestrator.sweep.spec import load_spec;"
        f"print(' '.join(n.id for n in plan_sweep(load_spec('{SWEEPS / 'glue_full.yaml'}')).nodes))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    assert other == [n.id for n in glue_plan.nodes]
    assert len(set(other)) == len(other)


def _sweep(**adapter):
    return {
        "sweep": "x",
        "backbone": "tiny-roberta",
        "benchmarks": {"synthetic": {"seeds": [0], "tasks": ["syn_sentiment", "syn_topic"]}},
        "methods": {"adapter": {"lr": 1e-3, **adapter}, "scalearn": {}, "full_ft": {}},
    }


def test_a_changed_hyperparameter_changes_the_node_and_everything_downstream():
    a = {(n.method, n.task): n.id for n in plan_sweep(parse_spec(_sweep())).nodes}
    b = {(n.method, n.task): n.id for n in plan_sweep(parse_spec(_sweep(lr=2e-3))).nodes}
    for key in a:
        method = key[0]
        if method == "full_ft":
            assert a[key] == b[key], "unrelated nodes keep their ids"
        else:
            assert a[key] != b[key], f"{key} should change with the adapter's lr"


def test_the_same_node_in_two_sweeps_is_one_id():
    one = parse_spec(_sweep())
    other = _sweep()
    other["sweep"] = "another"
    other["methods"] = {"adapter": {"lr": 1e-3}}
    ids_one = {n.id for n in plan_sweep(one).nodes if n.method == "adapter"}
    ids_two = {n.id for n in plan_sweep(parse_spec(other)).nodes}
    assert ids_one == ids_two


def test_simulated_nodes_never_share_ids_with_real_ones():
    spec = parse_spec(_sweep())
    real = {n.id for n in plan_sweep(spec).nodes}
    fake = {n.id for n in plan_sweep(spec, simulate=True).nodes}
    assert real.isdisjoint(fake)


def test_transfer_without_sources_is_an_error_unless_the_store_has_them():
    raw = _sweep()
    raw["methods"] = {"scalearn": {}}
    with pytest.raises(SpecError) as e:
        plan_sweep(parse_spec(raw))
    # one line for the cause, the tasks it affects listed on it
    assert len(e.value.problems) == 1
    assert "need the stage-one 'adapter' adapter with seed 0" in e.value.problems[0]
    assert e.value.problems[0].endswith("(tasks: syn_sentiment, syn_topic)")
    plan = plan_sweep(parse_spec(raw), committed=lambda _id: True)
    kinds = Counter(n.kind for n in plan.nodes)
    assert kinds["stl"] == 2 and all(n.id in plan.cached for n in plan.nodes if n.kind == "stl")


def test_estimate_respects_its_bounds(glue_plan):
    for gpus in (1, 8, 64):
        est = simulate_schedule(glue_plan, gpus)
        assert est["makespan_h"] >= est["lower_bound_h"] * (1 - 1e-9)
        assert est["lower_bound_h"] >= est["critical_path_h"] - 1e-9
        assert 0 < est["utilisation"] <= 1 + 1e-9
    one, many = simulate_schedule(glue_plan, 1), simulate_schedule(glue_plan, 64)
    assert many["makespan_h"] < one["makespan_h"]
    assert one["utilisation"] > 0.99  # one GPU is never idle while work is ready


def test_import_and_plan_without_torch(tmp_path):
    code = (
        "import sys; from orchestrator.__main__ import main;"
        f"rc = main(['plan', '{SWEEPS / 'glue_full.yaml'}', '--store', '{tmp_path / 's'}']);"
        "rc |= main(['plan', '--estimate', '--gpus', '8', "
        f"'{SWEEPS / 'glue_full.yaml'}', '--store', '{tmp_path / 's'}']);"
        "bad = [m for m in ('torch', 'transformers', 'adapters', 'ray') if m in sys.modules];"
        "print('LOADED', bad); sys.exit(rc or bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-500:] + out.stderr[-2000:]
    assert "LOADED []" in out.stdout


def test_the_data_protocol_version_enters_exactly_the_ids_whose_data_changed():
    from orchestrator.planning.data_identity import DATA_PROTOCOL, data_identity

    hub = {"source": "hub", "repo": "nyu-mll/glue", "config": "rte"}
    # GLUE and SuperGLUE rows are the official split's now; ReCoRD is scored and cut anew
    assert data_identity(hub, "rte")["protocol"] == DATA_PROTOCOL == 2
    assert data_identity({"source": "hub"}, "record")["protocol"] == 2
    # HumSet's own splits and the synthetic benchmark changed only where train is cut
    humset = {"source": "hub", "repo": "nlp-thedeep/humset", "config": "1.0.0"}
    synthetic = {"source": "synthetic", "seed": 0, "n_train": 600, "n_test": 200}
    assert "protocol" not in data_identity(humset, "sectors")
    assert "protocol" not in data_identity(synthetic, "syn_topic")
    assert data_identity(humset, "sectors", limited=True)["protocol"] == 2
    assert data_identity({**synthetic, "k": 8}, "syn_topic")["protocol"] == 2
    assert data_identity(hub) == hub, "without a task: the data spec alone, as before"


def test_select_by_score_enters_the_ids_of_the_tasks_whose_selection_changed():
    from orchestrator.planning.nodes import selection_identity

    score = {"select": "score"}
    assert selection_identity(score, ["mrpc", "qqp", "stsb", "cb"]) == {
        "mrpc": "accuracy",
        "qqp": "accuracy",
        "stsb": "pearson",
        "cb": "accuracy",
    }
    assert selection_identity(score, ["multirc", "record"]) == {"multirc": "f1a", "record": "f1"}
    assert selection_identity(score, ["rte", "cola", "sectors", "syn_topic"]) == {}
    assert selection_identity({"select": "loss"}, ["mrpc", "stsb"]) == {}


def test_a_joint_node_over_tasks_of_different_lengths_keeps_each_tasks_own():
    raw = _sweep()
    raw["benchmarks"] = {"superglue": {"seeds": [0], "tasks": ["record", "multirc", "cb"]}}
    raw["methods"] = {"adapter": {"lr": 1e-3}, "adapter_m": {"lr": 1e-3, "max_steps": 10}}
    spec = parse_spec(raw)
    assert spec.hparams("adapter_m", "superglue", None)["max_length"] is None
    assert spec.hparams("adapter", "superglue", "multirc")["max_length"] == 324
    glue = parse_spec({**raw, "benchmarks": {"glue": {"seeds": [0], "tasks": ["rte", "mrpc"]}}})
    assert glue.hparams("adapter_m", "glue", None)["max_length"] == 128, "one length: as before"
