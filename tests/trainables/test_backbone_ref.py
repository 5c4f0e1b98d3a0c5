"""Backbones at plan time, without torch or network: forms, files, the hub cache, architectures,
identity by content, and the cost model from the config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.planning.cost_model import backbone_factor, node_cost
from orchestrator.planning.plan import plan_sweep
from orchestrator.sweep.spec import SpecError, load_spec
from tests.conftest import ROOT
from trainables import adapter_support, backbone_ref
from trainables.backbone_ref import BackboneError, Form

BERT_CONFIG = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "vocab_size": 100,
    "type_vocab_size": 2,
}


def fake_checkpoint(folder: Path, config: dict | None = None, weights: bytes = b"w" * 64) -> Path:
    """A folder with the files of a checkpoint: planning reads the config and hashes the rest."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config or BERT_CONFIG))
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "tokenizer.json").write_text('{"model": {}}')
    (folder / "tokenizer_config.json").write_text("{}")
    return folder


def sweep(
    tmp_path: Path,
    backbone: str,
    methods: str = "{adapter: {}, scalearn: {}}",
    benchmark: str = "{synthetic: {tasks: [syn_sentiment, syn_similarity], seeds: [0]}}",
) -> Path:
    """A sweep file in ``tmp_path`` (methods and benchmarks as YAML flow mappings)."""
    path = tmp_path / "sweep.yaml"
    path.write_text(
        f"sweep: s\nbackbone: {backbone}\nbenchmarks: {benchmark}\nmethods: {methods}\n"
    )
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as e:
        load_spec(path)
    return e.value.problems


# -- forms -------------------------------------------------------------------------------------


def test_every_form_parses_to_what_it_names(tmp_path):
    folder = fake_checkpoint(tmp_path / "ckpt")
    cases = {
        "tiny-roberta": (Form.TINY, "tiny-roberta", False, None),
        "random:tiny-roberta": (Form.TINY, "tiny-roberta", True, None),
        "FacebookAI/roberta-large": (Form.PACKAGED, "roberta-large", False, None),
        "random:xlm-roberta-base": (Form.PACKAGED, "xlm-roberta-base", True, None),
        "google-bert/bert-base-uncased": (Form.HUB, "google-bert/bert-base-uncased", False, None),
        "microsoft/deberta-v3-base@8ccc9b6": (
            Form.HUB,
            "microsoft/deberta-v3-base",
            False,
            "8ccc9b6",
        ),
        "random:org/model@v1.0": (Form.HUB, "org/model", True, "v1.0"),
        "./ckpt": (Form.LOCAL, str(folder), False, None),
        "ckpt": (Form.LOCAL, str(folder), False, None),
        f"random:{folder}": (Form.LOCAL, str(folder), True, None),
    }
    for text, (form, name, random, revision) in cases.items():
        ref = backbone_ref.parse(text, tmp_path)
        assert (ref.form, ref.name, ref.random, ref.revision) == (form, name, random, revision), (
            text
        )
    assert backbone_ref.parse("./ckpt", tmp_path).uri == str(folder)
    assert backbone_ref.parse(f"random:{folder}").uri == f"random:{folder}"
    assert backbone_ref.parse("roberta-base").uri == "roberta-base"


@pytest.mark.parametrize(
    "text, suggestion",
    [
        ("robrta-base", "'roberta-base'"),
        ("tiny-robrta", "'tiny-roberta'"),
        ("xlm-roberta", "'xlm-roberta-base'"),
    ],
)
def test_a_name_that_is_no_form_names_the_closest_known(text, suggestion):
    with pytest.raises(BackboneError) as e:
        backbone_ref.parse(text)
    assert f"did you mean {suggestion}" in str(e.value)
    assert "org/name[@revision]" in str(e.value) and "does not exist" in str(e.value)


def test_malformed_hub_ids_are_refused():
    for text in ("org/name@", "org//name", "a/b/c", "org/na me", "-org/name"):
        with pytest.raises(BackboneError):
            backbone_ref.parse(text)


def test_a_misspelled_backbone_is_one_problem_among_the_others(tmp_path):
    path = sweep(tmp_path, "robrta-base", methods="{adapterr: {}}")
    found = problems(path)
    assert any(p.startswith("backbone: unknown backbone 'robrta-base'") for p in found)
    assert any(p.startswith("methods.adapterr:") for p in found), found


# -- local folders -----------------------------------------------------------------------------


def test_a_folder_without_the_files_a_checkpoint_needs_names_each(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(BERT_CONFIG))
    found = problems(sweep(tmp_path, "./ckpt"))
    assert len(found) == 2, found
    assert "has no weights: none of model.safetensors" in found[0]
    assert "has no tokenizer files" in found[1]
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors"}})
    )
    (found,) = problems(sweep(tmp_path, "./ckpt"))
    assert (
        "has no model-00001-of-00002.safetensors, which model.safetensors.index.json lists" in found
    )
    # random weights need no weights file
    (folder / "model.safetensors.index.json").unlink()
    assert load_spec(sweep(tmp_path, "random:./ckpt")).backbone == f"random:{folder}"
    (folder / "config.json").unlink()
    assert any("has no config.json" in p for p in problems(sweep(tmp_path, "./ckpt")))
    assert problems(sweep(tmp_path, "./nothing"))[0].startswith("backbone: no such folder")


def test_a_folder_is_identified_by_content_not_path(tmp_path):
    fake_checkpoint(tmp_path / "a" / "ckpt")
    first = plan_sweep(load_spec(sweep(tmp_path / "a", "./ckpt")))
    shutil.move(tmp_path / "a" / "ckpt", tmp_path / "moved")
    moved = plan_sweep(load_spec(sweep(tmp_path, str(tmp_path / "moved"))))
    assert [n.id for n in moved.nodes] == [n.id for n in first.nodes]
    assert moved.nodes[0].backbone == str(tmp_path / "moved"), "trainers get the folder"
    # one changed weight moves every node, stage one and stage two
    (tmp_path / "moved" / "model.safetensors").write_bytes(b"v" + b"w" * 63)
    changed = plan_sweep(load_spec(sweep(tmp_path, str(tmp_path / "moved"))))
    assert not {n.id for n in changed.nodes} & {n.id for n in first.nodes}
    # a file the model is not built from does not
    (tmp_path / "moved" / "README.md").write_text("notes")
    again = plan_sweep(load_spec(sweep(tmp_path, str(tmp_path / "moved"))))
    assert [n.id for n in again.nodes] == [n.id for n in changed.nodes]


def test_random_weights_on_a_folder_ignore_its_weights(tmp_path):
    fake_checkpoint(tmp_path / "ckpt")
    before = plan_sweep(load_spec(sweep(tmp_path, "random:./ckpt")))
    pretrained = plan_sweep(load_spec(sweep(tmp_path, "./ckpt")))
    (tmp_path / "ckpt" / "model.safetensors").write_bytes(b"other")
    after = plan_sweep(load_spec(sweep(tmp_path, "random:./ckpt")))
    assert [n.id for n in after.nodes] == [n.id for n in before.nodes]
    assert not {n.id for n in before.nodes} & {n.id for n in pretrained.nodes}


def test_hub_backbones_are_identified_by_id_and_revision(tmp_path):
    ids = {
        text: {n.id for n in plan_sweep(load_spec(sweep(tmp_path, text))).nodes}
        for text in ("org/model", "org/model@v1", "org/model@v2", "other/model")
    }
    assert len(set(map(frozenset, ids.values()))) == 4
    assert not ids["org/model@v1"] & ids["org/model@v2"]


# -- the hub cache under HF_HUB_OFFLINE=1 ------------------------------------------------------


def cache_repo(cache: Path, repo: str, files: dict[str, str], revision: str = "main") -> None:
    """A repository in the hub cache's layout (refs/<revision> -> snapshots/<commit>/files)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / revision).write_text(commit)
    snapshot = root / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (snapshot / name).write_text(text)


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def test_offline_a_hub_id_must_be_in_the_local_cache(tmp_path, offline_cache):
    (found,) = problems(sweep(tmp_path, "org/model@v1"))
    assert "org/model@v1 is not in the local Hugging Face cache" in found
    assert "huggingface-cli download org/model --revision v1" in found
    assert str(offline_cache) in found
    files = {"config.json": json.dumps(BERT_CONFIG), "model.safetensors": "w"}
    cache_repo(offline_cache, "org/model", files, revision="v1")
    (found,) = problems(sweep(tmp_path, "org/model@v1"))
    assert "missing: tokenizer files" in found
    cache_repo(offline_cache, "org/model", {**files, "tokenizer.json": "{}"}, revision="v1")
    spec = load_spec(sweep(tmp_path, "org/model@v1"))
    assert spec.backbone == "org/model@v1"
    # the cached config sizes the cost model: a 2-layer, hidden-32 BERT is a small model
    assert plan_sweep(spec).nodes[0].cost < 10
    # the paper's names need their weights in the cache too, their random twins nothing
    (found,) = problems(sweep(tmp_path, "roberta-base"))
    assert "roberta-base is not in the local Hugging Face cache" in found
    assert load_spec(sweep(tmp_path, "random:roberta-base")).backbone == "random:roberta-base"


def test_online_a_hub_id_is_checked_for_form_only(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    spec = load_spec(sweep(tmp_path, "org/model"))
    node = plan_sweep(spec).nodes[0]
    assert node.backbone == "org/model"
    assert node.cost > 30, "an architecture not known yet counts as roberta-base"


# -- architectures against the adapters library's support table ----------------------------


def test_an_architecture_adapters_cannot_run_is_refused_naming_it(tmp_path):
    fake_checkpoint(tmp_path / "vit", {**BERT_CONFIG, "model_type": "vit"})
    (found,) = problems(sweep(tmp_path, "./vit"))
    version = adapter_support.adapters_version()
    assert (
        f"architecture 'vit' ({tmp_path / 'vit'}): adapters {version} runs no method on it" in found
    )
    assert "bert" in found.split("architectures it runs:")[1]
    fake_checkpoint(tmp_path / "odd", {**BERT_CONFIG, "model_type": "odd-net"})
    (found,) = problems(sweep(tmp_path, "./odd"))
    assert "has no AdapterModel for it" in found


def test_a_task_whose_head_the_architecture_lacks_is_refused(tmp_path):
    fake_checkpoint(tmp_path / "gpt2", {**BERT_CONFIG, "model_type": "gpt2"})
    assert "multiple_choice" not in adapter_support.supported_problem_types("gpt2")
    bench = "{superglue: {tasks: [copa, rte], seeds: [0]}}"
    (found,) = problems(sweep(tmp_path, "./gpt2", benchmark=bench))
    assert "task 'copa' needs a multiple choice head" in found and "'gpt2'" in found
    # the same architecture trains the classification tasks
    load_spec(sweep(tmp_path, "./gpt2", benchmark="{superglue: {tasks: [rte], seeds: [0]}}"))


def test_a_method_the_architecture_does_not_run_is_refused_naming_both(tmp_path, monkeypatch):
    # the table names each method per architecture; one without AdapterFusion refuses it
    table = json.loads(json.dumps(adapter_support.table()))
    table["model_types"]["bert"]["methods"].remove("adapter_fusion")
    monkeypatch.setattr(adapter_support, "table", lambda: table)
    fake_checkpoint(tmp_path / "ckpt")
    (found,) = problems(sweep(tmp_path, "./ckpt", methods="{adapter: {}, adapter_fusion: {}}"))
    assert found.startswith("backbone: method 'adapter_fusion' cannot run on architecture 'bert'")
    # a transfer method needs the stage-one method of its sources too
    table["model_types"]["bert"]["methods"].remove("adapter")
    (found,) = problems(sweep(tmp_path, "./ckpt", methods="{scalearn: {}}"))
    assert "method 'adapter' cannot run on architecture 'bert'" in found


def test_planning_a_folder_backbone_imports_no_torch(tmp_path):
    fake_checkpoint(tmp_path / "ckpt")
    path = sweep(tmp_path, "./ckpt")
    store = tmp_path / "s"
    code = (
        "import sys; from orchestrator.__main__ import main;"
        f"rc = main(['plan', '{path}', '--estimate', '--gpus', '2', '--store', '{store}']);"
        "bad = [m for m in ('torch', 'transformers', 'adapters', 'ray') if m in sys.modules];"
        "print('LOADED', bad); sys.exit(rc or bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-500:] + out.stderr[-2000:]
    assert "LOADED []" in out.stdout and "makespan" in out.stdout


# -- the cost model reads the config -----------------------------------------------------------


def test_cost_scales_with_layers_hidden_size_and_length():
    def arch(name):
        return backbone_ref.arch(backbone_ref.config_dict(backbone_ref.parse(name)))

    assert backbone_factor(arch("roberta-base")) == pytest.approx(1.0)
    assert backbone_factor(arch("roberta-large")) == pytest.approx(3.53, abs=0.01)
    assert backbone_factor(arch("roberta-base"), 256) > 2 * backbone_factor(arch("roberta-base"))
    assert backbone_factor(arch("tiny-roberta")) < 0.001
    t5 = backbone_ref.arch({"d_model": 512, "num_layers": 6, "d_ff": 2048})
    assert (t5.hidden, t5.layers, t5.intermediate) == (512, 6, 2048)
    hp = {"max_length": 128, "epochs": 3, "batch_size": 32}
    base = node_cost("adapter", arch("roberta-base"), ["rte"], hp)
    assert node_cost("adapter", arch("roberta-large"), ["rte"], hp) > 3 * (base - 30)
    assert node_cost("adapter", None, ["rte"], hp) == base


def test_plan_and_simulated_runs_stop_with_status_2_on_a_misspelled_backbone(tmp_path, cli):
    path = sweep(tmp_path, "tiny-robrta")
    for args in (["plan", str(path)], ["run", str(path), "--simulate"]):
        out = cli(*args, "--store", str(tmp_path / "s"))
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
        assert f"{path}: backbone: unknown backbone 'tiny-robrta'" in out.stderr
        assert "did you mean 'tiny-roberta'" in out.stderr
