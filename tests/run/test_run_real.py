"""A real run end to end: tiny models train on Ray, artifacts load back, results plot."""

from __future__ import annotations

import json

import pytest

from orchestrator.planning.plan import plan_sweep
from orchestrator.results import row_files as results
from orchestrator.store import open_store
from orchestrator.sweep.spec import load_spec
from tests.conftest import TEST_SWEEPS

pytestmark = [pytest.mark.ray, pytest.mark.slow]
SWEEP = TEST_SWEEPS / "tiny_real.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tests.conftest import ray_args, run_cli

    tmp = tmp_path_factory.mktemp("real")
    out = run_cli(
        "run",
        str(SWEEP),
        *ray_args(),
        "--results",
        str(tmp / "results"),
        "--store",
        str(tmp / "store"),
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return tmp, out


def test_every_node_trains_and_stage_one_learns(run):
    tmp, out = run
    df = results.load(str(tmp / "results" / "tiny_real"))
    plan = plan_sweep(load_spec(SWEEP))
    assert set(df.node_id) == {n.id for n in plan.nodes}
    assert (df.status == "done").all() and not df.simulated.any()
    adapter = df[(df.method == "adapter") & (df.task == "syn_sentiment")].iloc[0]
    assert adapter.score > 75, "well above chance (50) on a binary task"
    assert set(adapter.metrics) >= {"accuracy"}
    assert "| Adapter " in out.stdout, "the run ends by printing the grid"


def test_transfer_rows_carry_parameter_counts_and_learned_omegas(run):
    tmp, _ = run
    df = results.load(str(tmp / "results" / "tiny_real"))
    t = df[df.kind == "transfer"].set_index(["method", "task"])
    # tiny-roberta: 2 layers, hidden 32, 2 sources
    assert t.loc[("scalearn", "syn_similarity"), "transfer_params"] == 2 * 2 * 32
    assert t.loc[("scalearn_uniform_pp", "syn_similarity"), "transfer_params"] == 2
    assert t.loc[("adapter_fusion", "syn_similarity"), "transfer_params"] > 1000
    summary = json.loads(t.loc[("scalearn", "syn_similarity"), "extra"])["transfer"]
    assert summary["sources"] == ["syn_sentiment", "syn_similarity"]
    assert len(summary["omegas"]) == 2 and len(summary["omegas"][0]) == 2
    sources = t.loc[("scalearn", "syn_similarity"), "sources"]
    assert len(sources) == 2 and all(s.startswith("adapter-") for s in sources)
    for _, joint in df[df.kind == "joint"].groupby("method"):
        assert sorted(joint.task) == ["syn_sentiment", "syn_similarity"]


def test_every_trial_trained_on_the_one_stored_tiny_backbone(run):
    from orchestrator.run.trial import NODE_FILE
    from trainables.backbone_ref import checkpoint_digest

    tmp, _ = run
    store = open_store(str(tmp / "store"))
    record = store.record("backbone-tiny-roberta")
    assert record["kind"] == "backbone"
    stored = store.fetch("backbone-tiny-roberta")
    assert checkpoint_digest(stored) == record["digest"]
    for node in plan_sweep(load_spec(SWEEP)).nodes:
        assert store.read_json(node.id, NODE_FILE)["backbone_path"] == stored, node.id


def test_stage_one_adapter_loads_with_plain_adapters_calls(run):
    import adapters

    from trainables.backbones import TINY, build_adapter_model
    from trainables.tokenizer import load_tokenizer

    tmp, _ = run
    node = next(n for n in plan_sweep(load_spec(SWEEP)).nodes if n.method == "adapter")
    path = open_store(str(tmp / "store")).fetch(node.id)
    model = build_adapter_model(TINY, len(load_tokenizer(TINY)))
    assert isinstance(model, adapters.ModelAdaptersMixin)
    name = model.load_adapter(f"{path}/adapter", use_safetensors=True)
    model.set_active_adapters(name)
    assert name in model.adapters_config


@pytest.mark.parametrize("method", ["propetl", "propetl_m", "hyperformer", "hyperformer_pp"])
def test_task_conditioned_methods_train_save_load_and_score_the_same(run, method):
    """Through the CLI on Ray: the payload in the store reloads (its own state, and each task's
    adapter with plain adapters calls) and gives the recorded test scores again."""
    import torch

    from trainables.backbones import TINY, build_adapter_model
    from trainables.loop import evaluate
    from trainables.models import NodeModel
    from trainables.tokenizer import load_tokenizer
    from trainables.training import task_data

    tmp, _ = run
    df = results.load(str(tmp / "results" / "tiny_real"))
    node = next(n for n in plan_sweep(load_spec(SWEEP)).nodes if n.method == method)
    rows = df[df.node_id == node.id].set_index("task")
    assert (rows.status == "done").all() and len(rows) == len(node.scored_tasks)
    path = open_store(str(tmp / "store")).fetch(node.id)
    tokenizer = load_tokenizer(TINY)
    model = NodeModel.load_artifact(path, TINY, vocab_size=len(tokenizer))
    cpu = torch.device("cpu")
    for task in node.scored_tasks:
        data = task_data(node, task, tokenizer)
        again = evaluate(model, task, data.test, tokenizer.pad_token_id, 64, cpu)
        assert again["score"] == pytest.approx(rows.loc[task, "score"], abs=1e-9)
        folder = "adapter" if method == "propetl" else f"adapters/{task}"
        plain = build_adapter_model(TINY, len(tokenizer))
        name = plain.load_adapter(f"{path}/{folder}", use_safetensors=True)
        plain.set_active_adapters(name)
        assert name == task
    summary = json.loads(rows.iloc[0].extra)["transfer"]
    assert summary, "the method shows what it learned"


def test_results_plot_and_table(run, cli):
    tmp, _ = run
    res = str(tmp / "results" / "tiny_real")
    for kind, extra in (("overview", []), ("omegas", ["--target", "syn_similarity"])):
        out = cli("plot", res, "--out", str(tmp / f"{kind}.png"), "--kind", kind, *extra)
        assert out.returncode == 0, out.stderr
        assert (tmp / f"{kind}.png").stat().st_size > 10_000
    out = cli("table", res, "--std")
    assert out.returncode == 0 and "ScaLearnUniform++" in out.stdout
