"""The paper's other experiments: probing, few-shot on every benchmark, large backbones.

Every shipped sweep of them plans with the node counts the paper's design gives; a probe really
scales its sources by fixed omegas and trains only a head; probing and few-shot results come out
as tables and figures, from real tiny-model runs and from simulated ones.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from orchestrator.analysis.experiment_tables import fewshot_curves, pairwise_grids, single_source
from orchestrator.contract.methods import Kind
from orchestrator.planning.plan import plan_sweep
from orchestrator.results import row_files as results
from orchestrator.sweep.spec import SpecError, load_spec, parse_spec
from tests.conftest import ROOT, SWEEPS, TEST_SWEEPS, ray_args, simulated_run_args

NEW_SWEEPS = (
    "probing",
    "probing_pairwise",
    "superglue_fewshot",
    "humset_fewshot",
    "glue_large",
    "superglue_large",
    "humset_large",
    "glue_fewshot_large",
    "superglue_fewshot_large",
    "gsg_full",
)


def _plan(name: str):
    return plan_sweep(load_spec(SWEEPS / f"{name}.yaml"))


def _by_kind(plan) -> dict[str, int]:
    out: dict[str, int] = {}
    for n in plan.nodes:
        out[n.kind.value] = out.get(n.kind.value, 0) + 1
    return out


@pytest.mark.parametrize("name", NEW_SWEEPS)
def test_each_sweep_says_what_it_runs_and_how_and_is_in_the_docs(name):
    text = (SWEEPS / f"{name}.yaml").read_text()
    header = text.split("\nsweep:")[0]
    assert header.startswith("# The ScaLearn paper's")
    assert f"python -m orchestrator run sweeps/{name}.yaml" in header
    assert f"sweeps/{name}.yaml" in (ROOT / "docs" / "sweep-files.md").read_text()


@pytest.mark.parametrize("name", ["probing_synthetic", "fewshot_simulated"])
def test_the_docs_figures_are_drawn_by_their_sweeps(name):
    sweep = ROOT / "docs" / "figures" / f"{name}.yaml"
    header = sweep.read_text().split("\nsweep:")[0]
    assert f"python -m orchestrator run docs/figures/{name}.yaml" in header
    assert f"--out docs/figures/{name}.png" in header
    kinds = _by_kind(plan_sweep(load_spec(sweep)))
    assert kinds.get("probe" if name.startswith("probing") else "transfer", 0) > 0
    page = (ROOT / "docs" / "sweep-files.md").read_text()  # images relative to docs/
    assert f"](figures/{name}.png)" in page
    picture = _picture(ROOT / "docs" / "figures" / f"{name}.png")
    assert picture.shape[0] > 200 and _ink(picture) > 0.02


def test_single_source_probing_is_the_papers_grid():
    plan = _plan("probing")
    probes = [n for n in plan.nodes if n.kind == Kind.PROBE]
    # 15 targets (GLUE and SuperGLUE, RTE once) x 4 sources x 7 omegas x 5 seeds
    assert len(probes) == 15 * 4 * 7 * 5 == 2100
    assert {n.task for n in probes} == set(load_spec(SWEEPS / "probing.yaml").tasks)
    assert len({n.task for n in probes}) == 15
    omegas = {tuple(n.hparams.get("probe_omegas")) for n in probes}
    assert omegas == {(w,) for w in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)}
    # a probe of seed k stands on its source's adapter of seed k
    by_id = plan.by_id()
    for n in probes:
        (src,) = n.deps
        assert by_id[src].seed == n.seed and by_id[src].task in ("cb", "copa", "rte", "mrpc")
    assert _by_kind(plan) == {"stl": 4 * 5, "probe": 2100}


def test_the_probed_adapters_are_the_full_sweeps_nodes():
    full = {n.id for s in ("glue_full", "superglue_full") for n in _plan(s).nodes}
    single = [n for n in _plan("probing").nodes if n.kind == Kind.STL]
    assert all(n.id in full for n in single)
    pairwise = [n for n in _plan("probing_pairwise").nodes if n.kind == Kind.STL]
    extra = sorted((n.task, n.seed) for n in pairwise if n.id not in full)
    # the full grids train MNLI and MultiRC with seeds 0-2 only
    assert extra == [("mnli", 3), ("mnli", 4), ("multirc", 3), ("multirc", 4)]


def test_pairwise_probing_is_the_papers_grid():
    plan = _plan("probing_pairwise")
    probes = [n for n in plan.nodes if n.kind == Kind.PROBE]
    assert len(probes) == 10 * 49 * 5
    by_id = plan.by_id()
    for n in probes:
        own, partner = (by_id[d] for d in n.deps)
        assert (own.task, partner.task) == (n.task, "mnli") and own.seed == partner.seed == n.seed
    assert {len(n.hparams.get("probe_omegas")) for n in probes} == {2}


@pytest.mark.parametrize(
    ("name", "tasks", "seeds", "methods"),
    [
        ("superglue_fewshot", 8, 5, {"stl": 3, "transfer": 5}),
        ("humset_fewshot", 5, 5, {"stl": 3, "transfer": 5}),
        ("glue_fewshot_large", 8, 3, {"stl": 1, "transfer": 2}),
        ("superglue_fewshot_large", 8, 3, {"stl": 1, "transfer": 2}),
    ],
)
def test_few_shot_sweeps_plan_every_k_target_and_seed(name, tasks, seeds, methods):
    plan = _plan(name)
    spec = load_spec(SWEEPS / f"{name}.yaml")
    assert spec.fewshot.k == [4, 16, 32, 100]
    ks = [n for n in plan.nodes if n.hparams.get("k") is not None]
    runs = {kind: count * 4 * tasks * seeds for kind, count in methods.items()}
    if "adapter" not in spec.methods:
        runs["stl"] += 4 * tasks  # the targets' own k-shot adapters, seed 0
    counted = {kind: sum(n.kind.value == kind for n in ks) for kind in runs}
    assert counted == runs
    full = [n for n in plan.nodes if n.hparams.get("k") is None]
    assert len(full) == tasks  # the full-data seed-0 source adapters


@pytest.mark.parametrize(
    ("few", "full"),
    [
        ("superglue_fewshot", "superglue_full"),
        ("humset_fewshot", "humset_full"),
        ("glue_fewshot_large", "glue_large"),
        ("superglue_fewshot_large", "superglue_large"),
    ],
)
def test_few_shot_sources_are_the_full_sweeps_adapters(few, full):
    full_ids = {n.id for n in _plan(full).nodes}
    sources = [n for n in _plan(few).nodes if n.hparams.get("k") is None]
    assert sources and all(n.id in full_ids for n in sources)


@pytest.mark.parametrize(
    ("name", "base", "backbone"),
    [
        ("glue_large", "glue_full", "roberta-large"),
        ("superglue_large", "superglue_full", "roberta-large"),
        ("humset_large", "humset_full", "xlm-roberta-large"),
    ],
)
def test_large_sweeps_are_the_base_grids_on_the_large_model(name, base, backbone):
    spec, base_spec = load_spec(SWEEPS / f"{name}.yaml"), load_spec(SWEEPS / f"{base}.yaml")
    assert spec.backbone == backbone
    assert set(spec.methods) == set(base_spec.methods)
    for m in spec.methods:
        assert spec.hparams(m, *_first(spec)) == base_spec.hparams(m, *_first(base_spec))
    # the base grid's nodes by kind and method, over fewer seeds
    large_plan, full_plan = _plan(name), _plan(base)
    seeds = {b: len(spec.benchmarks[b].seeds) for b in spec.benchmarks}
    base_seeds = {b: len(base_spec.benchmarks[b].seeds) for b in base_spec.benchmarks}
    assert all(seeds[b] <= base_seeds[b] for b in seeds)
    assert {(n.kind, n.method) for n in large_plan.nodes} == {
        (n.kind, n.method) for n in full_plan.nodes
    }
    # and the cost model knows the large model's cost
    from orchestrator.estimate.makespan import simulate_schedule

    large, base_plan = simulate_schedule(large_plan, 8), simulate_schedule(full_plan, 8)
    per_node = large["total_work_gpu_h"] / large["nodes"]
    assert per_node > 2 * base_plan["total_work_gpu_h"] / base_plan["nodes"]


def _first(spec):
    bench = next(iter(spec.benchmarks))
    return bench, spec.benchmarks[bench].tasks[0]


def test_probing_block_problems_are_reported_with_their_keys():
    raw = {
        "sweep": "p",
        "backbone": "tiny-roberta",
        "benchmarks": {"synthetic": {"seeds": [0]}},
        "probing": {"sources": ["syn_topic", "cola"], "omegas": [0.0, "half"]},
        "methods": {"probe": {}, "adapter": {}},
    }
    with pytest.raises(SpecError) as err:
        parse_spec(raw)
    text = "\n".join(err.value.problems)
    assert "probing.sources: not tasks of this sweep: cola" in text
    assert "probing.omegas: expected a non-empty list of finite numbers" in text
    assert "methods.adapter: a probing sweep trains probes only" in text
    no_block = {**raw, "methods": {"probe": {}}}
    del no_block["probing"]
    with pytest.raises(SpecError, match="methods.probe: probing needs a probing block"):
        parse_spec(no_block)


# -- what a probe computes ------------------------------------------------------------------


def _built(method, sources, **hparams):
    from trainables.models import CLASSIFICATION, HeadSpec, NodeModel

    return NodeModel.build(
        "random:tiny-roberta",
        method,
        [HeadSpec("t", CLASSIFICATION, 2)],
        hparams,
        seed=0,
        sources=sources,
        vocab_size=100,
    )


@pytest.fixture(scope="module")
def saved_sources(tmp_path_factory):
    """Two saved stage-one adapters with non-trivial weights: [(name, payload)]."""
    out = []
    for i, name in enumerate(("a", "b")):
        node = _built("adapter", None)
        with torch.no_grad():
            g = torch.Generator().manual_seed(i)
            for p in node.trainable_parameters():
                p.add_(torch.randn(p.shape, generator=g) * 0.3)
        folder = tmp_path_factory.mktemp(name)
        node.save_artifact(str(folder))
        out.append((name, str(folder)))
    return out


def _hidden(node, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 100, (3, 9), generator=g)
    node.eval()
    return node.encode({"input_ids": ids, "attention_mask": torch.ones_like(ids)})


def test_a_probe_scales_its_frozen_sources_and_trains_only_a_head(saved_sources):
    from trainables.models import NodeModel

    a = saved_sources[:1]
    from trainables.backbones import build_adapter_model

    plain = _hidden(_built("probe", a, probe_omegas=[0.0]))
    backbone = build_adapter_model("random:tiny-roberta", 100).eval()
    ids = torch.randint(3, 100, (3, 9), generator=torch.Generator().manual_seed(0))
    bare = backbone.base_model(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert torch.allclose(plain, bare.last_hidden_state, atol=1e-6), "omega 0: the backbone"
    whole = _hidden(_built("probe", a, probe_omegas=[1.0]))
    adapter = NodeModel.load_artifact(a[0][1], "random:tiny-roberta", vocab_size=100)
    assert torch.allclose(whole, _hidden(adapter), atol=1e-5), "omega 1: the adapter as trained"
    half = _hidden(_built("probe", a, probe_omegas=[0.5]))
    assert not torch.allclose(half, plain, atol=1e-4) and not torch.allclose(half, whole, atol=1e-4)
    pair = _built("probe", saved_sources, probe_omegas=[1.0, 0.0])
    assert torch.allclose(_hidden(pair), whole, atol=1e-5), "a pair with the partner at 0"
    trainable = {n for n, p in pair.named_parameters() if p.requires_grad}
    assert trainable and all(".heads." in n or n.startswith("model.heads.") for n in trainable)
    with pytest.raises(ValueError, match="one omega per source"):
        _built("probe", saved_sources, probe_omegas=[1.0])


# -- end to end ----------------------------------------------------------------------------


def _picture(path) -> np.ndarray:
    import matplotlib.image

    image = matplotlib.image.imread(str(path))
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
    return image


def _ink(image: np.ndarray) -> float:
    """The share of pixels that are not the white background."""
    return float((image[..., :3] < 0.95).any(axis=-1).mean())


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.slow
def test_a_real_probing_sweep_trains_caches_and_draws(cli, tmp_path):
    sweep = TEST_SWEEPS / "tiny_probing.yaml"
    args = ["run", str(sweep), *ray_args()]
    args += ["--results", str(tmp_path / "results"), "--store", str(tmp_path / "store")]
    first = cli(*args, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Single-source probing" in first.stdout
    df = results.load(str(tmp_path / "results" / "tiny_probing"))
    probes = df[df["kind"] == "probe"]
    assert len(probes) == 12 and (probes["status"] == "done").all()
    assert (probes["transfer_params"].isna()).all()
    assert probes["trainable_params"].nunique() <= 2  # heads only (binary tasks: one size)
    table = single_source(df)
    assert list(table.columns) == [0.0, 1.0]
    # omega 0 is the plain backbone whatever the source: the same head training, the same score
    zero = table[0.0].unstack("source")
    assert (zero["syn_sentiment"] == zero["syn_topic"]).all()
    (grid,) = pairwise_grids(df).values()
    assert grid.shape == (2, 2)
    out = tmp_path / "probing.png"
    drawn = cli(
        "plot", str(tmp_path / "results" / "tiny_probing"), "--kind", "probing", "--out", str(out)
    )
    assert drawn.returncode == 0, drawn.stderr
    assert _ink(_picture(out)) > 0.03
    shown = cli("table", str(tmp_path / "results" / "tiny_probing"), "--probing")
    assert "Pairwise probing on syn_paraphrase" in shown.stdout
    again = cli(*args, timeout=600)
    assert again.returncode == 0 and "15 nodes, 15 cached, 0 to run" in again.stderr
    trained = results.trainings(str(tmp_path / "results" / "tiny_probing"))
    assert len(trained) == 15 and len({t["node_id"] for t in trained}) == 15


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.slow
def test_a_real_few_shot_sweep_draws_score_against_k(cli, tmp_path):
    sweep = TEST_SWEEPS / "tiny_fewshot.yaml"
    args = ["run", str(sweep), *ray_args()]
    args += ["--results", str(tmp_path / "results"), "--store", str(tmp_path / "store")]
    done = cli(*args, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    curves = fewshot_curves(results.load(str(tmp_path / "results" / "tiny_fewshot")))
    assert set(curves["k"]) == {8, 32} and set(curves["method"]) == {"adapter", "scalearn"}
    assert (curves["seeds"] == 2).all() and curves["std"].notna().all()
    out = tmp_path / "fewshot.png"
    drawn = cli(
        "plot", str(tmp_path / "results" / "tiny_fewshot"), "--kind", "fewshot", "--out", str(out)
    )
    assert drawn.returncode == 0, drawn.stderr
    assert _ink(_picture(out)) > 0.02
    shown = cli("table", str(tmp_path / "results" / "tiny_fewshot"), "--fewshot")
    assert re.search(r"ScaLearn +\| [\d.]+ ± [\d.]+", shown.stdout)


@pytest.mark.slow
@pytest.mark.ray
def test_an_interrupted_few_shot_sweep_resumes_without_training_twice_and_draws(cli, tmp_path):
    # the k = 8 ScaLearn nodes fail (as a crash would leave them): a rerun trains those and what
    # they block, and finds the rest in the store; the simulated results draw as real ones do
    sweep = TEST_SWEEPS / "tiny_fewshot.yaml"
    args = simulated_run_args(sweep, tmp_path, "1000")
    first = cli(*args, "--simulate-failures", "scalearn/*/k8/*", timeout=600)
    assert first.returncode == 1, first.stderr[-3000:]
    folder = str(tmp_path / "results" / "tiny_fewshot")
    df = results.load(folder)
    failed = set(df.loc[df["status"] == "failed", "node_id"])
    assert failed and set(df.loc[df["status"] == "failed", "method"]) == {"scalearn"}
    done_first = set(df.loc[df["status"] == "done", "node_id"])
    again = cli(*args, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{len(done_first)} cached" in again.stderr
    df = results.load(folder)
    assert failed <= set(df.loc[df["status"] == "done", "node_id"])
    trained = [t["node_id"] for t in results.trainings(folder)]
    assert len(trained) == len(set(trained)) == len(done_first) + len(failed)
    out = tmp_path / "fewshot.png"
    drawn = cli("plot", folder, "--kind", "fewshot", "--out", str(out))
    assert drawn.returncode == 0, drawn.stderr
    assert _ink(_picture(out)) > 0.02


@pytest.mark.slow
@pytest.mark.ray
def test_simulated_probing_results_draw_too(cli, tmp_path):
    # (simulated few-shot results are drawn by the resume test above)
    run = cli(*simulated_run_args(TEST_SWEEPS / "tiny_probing.yaml", tmp_path, "1000"), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = tmp_path / "probing.png"
    drawn = cli(
        "plot", str(tmp_path / "results" / "tiny_probing"), "--kind", "probing", "--out", str(out)
    )
    assert drawn.returncode == 0, drawn.stderr
    assert _ink(_picture(out)) > 0.02
