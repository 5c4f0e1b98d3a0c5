"""Checkpoint folders of three architectures as backbones: built, encoded in each tokenizer's own
pair template, segment ids where the model reads them, counted."""

from __future__ import annotations

import pytest
import torch

from tests.checkpoint_models import ARCHS, save_checkpoint
from trainables.backbones import build_adapter_model
from trainables.encode import collate, encode_examples
from trainables.models import CLASSIFICATION, HeadSpec, NodeModel
from trainables.params import count_params
from trainables.tokenizer import load_tokenizer

PAIRS = [
    {"text_a": "alice praised the film", "text_b": "bob liked the film", "label": 1},
    {"text_a": "carol hated the song", "text_b": "dave loved it", "label": 0},
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpts")
    return {arch: str(save_checkpoint(arch, root / arch)) for arch in ARCHS}


def test_each_tokenizer_encodes_pairs_in_its_own_template(folders):
    bert = encode_examples("syn_paraphrase", PAIRS, load_tokenizer(folders["bert"]), 64)
    tok = load_tokenizer(folders["bert"])
    first = tok.convert_ids_to_tokens(bert.input_ids[0])
    assert first[0] == "[CLS]" and first.count("[SEP]") == 2 and first[-1] == "[SEP]"
    sep = first.index("[SEP]")
    assert bert.token_type_ids[0] == [0] * (sep + 1) + [1] * (len(first) - sep - 1)
    xlmr_tok = load_tokenizer(folders["xlm-roberta"])
    xlmr = encode_examples("syn_paraphrase", PAIRS, xlmr_tok, 64)
    tokens = xlmr_tok.convert_ids_to_tokens(xlmr.input_ids[0])
    assert tokens[0] == "<s>" and "</s></s>" in "".join(tokens) and xlmr.token_type_ids is None
    deberta = encode_examples("syn_paraphrase", PAIRS, load_tokenizer(folders["deberta-v2"]), 64)
    assert deberta.token_type_ids is not None and 1 in deberta.token_type_ids[0]


def test_bert_reads_segment_ids_and_models_without_them_are_not_given_any(folders):
    for arch in ARCHS:
        tokenizer = load_tokenizer(folders[arch])
        split = encode_examples("syn_paraphrase", PAIRS, tokenizer, 64)
        batch = collate(split, [0, 1], tokenizer.pad_token_id)
        node = NodeModel.build(folders[arch], "adapter", [HeadSpec("t", CLASSIFICATION, 2)], {}, 0)
        node.eval()
        inputs = node._inputs(batch)
        assert ("token_type_ids" in inputs) == (arch == "bert"), arch
        if arch == "bert":
            assert batch["token_type_ids"].shape == batch["input_ids"].shape
            _, logits = node(batch, "t")
            flipped = dict(batch, token_type_ids=1 - batch["token_type_ids"])
            _, other = node(flipped, "t")
            assert not torch.allclose(logits, other), "segment embeddings change the output"


def test_a_folder_loads_its_weights_and_counts_from_its_config(folders):
    from safetensors.torch import load_file

    saved = load_file(f"{folders['bert']}/model.safetensors")
    model = build_adapter_model(folders["bert"])
    state = model.base_model.state_dict()
    name = "embeddings.word_embeddings.weight"
    assert torch.equal(state[name], saved[name])
    assert not list(model.heads)
    rows = {r["method"]: r for r in count_params(folders["deberta-v2"], 2)}
    # ScaLearn: one omega vector of the hidden size per layer and source
    assert rows["scalearn"]["transfer_params"] == 2 * 2 * 32
    assert rows["scalearn_uniform_pp"]["transfer_params"] == 2


@pytest.mark.slow
def test_params_verb_counts_a_folder_and_refuses_misspellings(folders, cli):
    out = cli("params", "--backbone", folders["xlm-roberta"], "--sources", "2", timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "scalearn " in out.stdout and f"{folders['xlm-roberta']}, 2 sources" in out.stdout
    for name, hint in (("robrta-base", "'roberta-base'"), ("tiny-robrta", "'tiny-roberta'")):
        out = cli("params", "--backbone", name)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert f"did you mean {hint}" in out.stderr
    out = cli("params", "--backbone", "tiny-roberta", "--sources", "2", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    assert '"transfer_params": 128' in out.stdout  # ScaLearn on 2 layers x 2 sources x 32
