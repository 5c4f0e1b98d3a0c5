"""ScaLearn on a tiny RoBERTa: exact reduction to single adapters, shapes, sharing, init."""

from __future__ import annotations

import os

import pytest
import torch

from trainables import scalearn_layer
from trainables.backbones import RANDOM_PREFIX, TINY, build_adapter_model
from trainables.models import CLASSIFICATION, HeadSpec, NodeModel

# Random weights: these tests need no pretraining and any vocabulary size.
TINY_RANDOM = RANDOM_PREFIX + TINY

pytest_plugins = ["conftest_models"]
pytestmark = pytest.mark.usefixtures("torch_single_thread")

VARIANTS = tuple(scalearn_layer.VARIANTS)
TOL = dict(atol=1e-5, rtol=1e-5)


def _transfer(variant: str, sources, vocab: int, seed: int = 0) -> NodeModel:
    target = sources[1][0]
    return NodeModel.build(
        TINY_RANDOM,
        variant,
        [HeadSpec(target, CLASSIFICATION, 2)],
        {},
        seed,
        sources=sources,
        vocab_size=vocab,
    )


@torch.no_grad()
def _reference_hidden(batch: dict, payload: str | None, vocab: int) -> torch.Tensor:
    """Final hidden states of the backbone with only the adapter in ``payload`` (or none)."""
    model = build_adapter_model(TINY_RANDOM, vocab)
    if payload is not None:
        name = model.load_adapter(
            os.path.join(payload, "adapter"), with_head=False, use_safetensors=True
        )
        model.set_active_adapters(name)
    model.eval()
    out = model.base_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return out.last_hidden_state


@pytest.fixture(scope="module")
def references(tiny_sources, make_batch, tiny_vocab):
    """Hidden states of the bare backbone and of each single source adapter."""
    batch = make_batch()
    bare = _reference_hidden(batch, None, tiny_vocab)
    singles = [_reference_hidden(batch, payload, tiny_vocab) for _, payload in tiny_sources]
    # the check below is only meaningful if the adapters really change the output
    for single in singles:
        assert (single - bare).abs().max() > 1e-2
    assert (singles[0] - singles[1]).abs().max() > 1e-2
    return batch, bare, singles


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_hot_omega_is_the_single_adapter(variant, tiny_sources, tiny_vocab, references):
    batch, bare, singles = references
    node = _transfer(variant, tiny_sources, tiny_vocab).eval()
    n = len(tiny_sources)
    for k in range(n):
        node.set_omegas([[1.0 if s == k else 0.0 for s in range(n)]])
        torch.testing.assert_close(node.encode(batch), singles[k], **TOL)
    node.set_omegas([[0.0] * n])
    torch.testing.assert_close(node.encode(batch), bare, **TOL)


@pytest.mark.parametrize("variant", VARIANTS)
def test_param_count_and_sharing(variant, tiny_sources, tiny_vocab):
    node = _transfer(variant, tiny_sources, tiny_vocab)
    v = scalearn_layer.get_variant(variant)
    expected = scalearn_layer.transfer_param_count(variant, n_layers=2, hidden=32, n_sources=3)
    assert node.param_counts()["transfer_params"] == expected
    omegas = [layer.omega for layer in node.scalearn_layers]
    assert len(omegas) == 2
    assert (omegas[0] is omegas[1]) == v.shared
    assert omegas[0].shape == (3, 32 if v.vector else 1)
    assert all(layer.dropout == v.dropout for layer in node.scalearn_layers)
    summary = node.transfer_summary()
    assert summary["sources"] == [name for name, _ in tiny_sources]
    assert len(summary["omegas"]) == 2 and all(len(row) == 3 for row in summary["omegas"])


def test_dropout_only_for_the_right_variants():
    assert scalearn_layer.VARIANTS["scalearn_uniform_pp"].dropout == 0.0
    for name in ("scalearn", "scalearn_uniform", "scalearn_pp"):
        assert scalearn_layer.VARIANTS[name].dropout == 0.3


def test_layer_math_and_omega_dropout():
    torch.manual_seed(0)
    value = torch.randn(2, 5, 3, 8)  # (batch, seq, n_sources, hidden)
    residual = torch.randn(2, 5, 8)
    omega = torch.nn.Parameter(torch.rand(3, 8))
    layer = scalearn_layer.ScaLearnLayer(omega, dropout=0.3).eval()
    expected = residual + sum(omega[s] * value[:, :, s] for s in range(3))
    torch.testing.assert_close(layer(None, value, value, residual), expected)
    layer.train()
    dropped = torch.stack([layer(None, value, value, residual) for _ in range(8)])
    assert not torch.allclose(dropped[0], dropped[1])  # a new omega mask per call
    scalar = scalearn_layer.ScaLearnLayer(torch.nn.Parameter(torch.ones(3, 1)), dropout=0.0).train()
    torch.testing.assert_close(scalar(None, value, value, residual), residual + value.sum(2))


def test_init_distribution(tiny_sources, tiny_vocab):
    node = _transfer("scalearn", tiny_sources, tiny_vocab)
    values = torch.cat([layer.omega.detach().flatten() for layer in node.scalearn_layers])
    assert abs(values.mean().item() - 2 / 3) < 5e-4
    assert 0.0005 < values.std().item() < 0.002


def test_shared_omega_rows_must_agree(tiny_sources, tiny_vocab):
    node = _transfer("scalearn_pp", tiny_sources, tiny_vocab)
    with pytest.raises(ValueError, match="shares one omega"):
        node.set_omegas([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    node.set_omegas([[0.5, 0.25, 0.0], [0.5, 0.25, 0.0]])
    assert node.transfer_summary()["omegas"] == [[0.5, 0.25, 0.0]] * 2


def test_analytic_counts_for_roberta_base():
    counts = {v: scalearn_layer.transfer_param_count(v, 12, 768, 8) for v in VARIANTS}
    assert counts == {
        "scalearn": 73_728,
        "scalearn_uniform": 96,
        "scalearn_pp": 6_144,
        "scalearn_uniform_pp": 8,
    }
