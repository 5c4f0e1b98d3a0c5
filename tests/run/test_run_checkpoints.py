"""Checkpoint folders as backbones, end to end: for a BERT, a DeBERTa-v2 and an XLM-R saved with
``save_pretrained``, stage one, ScaLearn and AdapterFusion train through the real CLI on real Ray;
the folder moved elsewhere, the same sweep finds every node cached."""

from __future__ import annotations

import json
import shutil

import pytest

from orchestrator.planning.plan import plan_sweep
from orchestrator.results import row_files as results
from orchestrator.store import open_store
from orchestrator.sweep.spec import load_spec
from tests.checkpoint_models import ARCHS, save_checkpoint
from tests.conftest import ray_args, run_cli

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SWEEP = """\
# A checkpoint folder beside this file as the backbone.
# Run:  python -m orchestrator run sweep.yaml
sweep: ckpt_{name}
backbone: {backbone}
benchmarks:
  synthetic:
    tasks: [syn_sentiment, syn_similarity]
    data: {{source: synthetic, seed: 0, n_train: 64, n_test: 32}}
    seeds: [0]
training: {{epochs: 1, batch_size: 16, max_length: 64, patience: null, reduction_factor: 4}}
methods:
  adapter: {{lr: 1.0e-2}}
  scalearn: {{lr: 1.0e-2}}
  adapter_fusion: {{lr: 3.0e-3}}
"""


def write_sweep(folder, arch: str, backbone: str):
    path = folder / "sweep.yaml"
    path.write_text(SWEEP.format(name=arch.replace("-", "_"), backbone=backbone))
    return path


def run(sweep, work):
    return run_cli(
        "run",
        str(sweep),
        *ray_args(),
        "--results",
        str(work / "results"),
        "--store",
        str(work / "store"),
        timeout=900,
    )


@pytest.fixture(scope="module", params=ARCHS)
def trained(request, tmp_path_factory):
    arch = request.param
    work = tmp_path_factory.mktemp(arch)
    save_checkpoint(arch, work / "sweep" / "checkpoint")
    sweep = write_sweep(work / "sweep", arch, "./checkpoint")
    out = run(sweep, work)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return arch, work, sweep


def test_every_method_trains_on_the_folder(trained):
    arch, work, sweep = trained
    plan = plan_sweep(load_spec(sweep))
    df = results.load(str(work / "results" / f"ckpt_{arch.replace('-', '_')}"))
    assert set(df.node_id) == {n.id for n in plan.nodes} and len(df) == 6
    assert (df.status == "done").all() and not df.simulated.any()
    assert set(df.backbone) == {str(work / "sweep" / "checkpoint")}
    t = df[df.kind == "transfer"].set_index(["method", "task"])
    # 2 layers, hidden 32, 2 sources
    assert t.loc[("scalearn", "syn_similarity"), "transfer_params"] == 2 * 2 * 32
    assert t.loc[("adapter_fusion", "syn_sentiment"), "transfer_params"] == 2 * (3 * 32 * 32 + 64)
    summary = json.loads(t.loc[("scalearn", "syn_sentiment"), "extra"])["transfer"]
    assert summary["sources"] == ["syn_sentiment", "syn_similarity"]


def test_the_stored_adapter_loads_on_the_checkpoint_with_plain_adapters_calls(trained):
    import adapters

    arch, work, sweep = trained
    node = next(n for n in plan_sweep(load_spec(sweep)).nodes if n.method == "adapter")
    payload = open_store(str(work / "store")).fetch(node.id)
    model = adapters.AutoAdapterModel.from_pretrained(str(work / "sweep" / "checkpoint"))
    assert model.config.model_type == arch
    name = model.load_adapter(f"{payload}/adapter", use_safetensors=True)
    assert name in model.adapters_config


def test_the_moved_folder_finds_every_node_cached(trained):
    arch, work, sweep = trained
    moved = work / "elsewhere" / "ckpt"
    moved.parent.mkdir()
    shutil.copytree(work / "sweep" / "checkpoint", moved)
    shutil.rmtree(work / "sweep" / "checkpoint")
    out = run(write_sweep(work / "elsewhere", arch, str(moved)), work)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "6 nodes, 6 cached, 0 to run" in out.stderr
