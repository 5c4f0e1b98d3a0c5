"""The fast paths give the results of the plain ones: fused ScaLearn, padding, eval order."""

from __future__ import annotations

import pytest
import torch

from orchestrator.contract.hparams import HParams
from trainables import scalearn_layer
from trainables.backbones import RANDOM_PREFIX, TINY
from trainables.encode import EncodedSplit, collate, eval_batches, pass_batches
from trainables.loop import LoopSettings, evaluate
from trainables.models import CLASSIFICATION, HeadSpec, NodeModel

TINY_RANDOM = RANDOM_PREFIX + TINY
VARIANTS = tuple(scalearn_layer.VARIANTS)
TOL = dict(atol=1e-5, rtol=1e-5)

pytest_plugins = ["conftest_models"]
pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _transfer(variant: str, sources, vocab: int, seed: int = 0) -> NodeModel:
    return NodeModel.build(
        TINY_RANDOM,
        variant,
        [HeadSpec("tgt", CLASSIFICATION, 2)],
        {},
        seed,
        sources=sources,
        vocab_size=vocab,
    )


def _spread_omegas(node: NodeModel, seed: int = 0) -> None:
    """Distinct omegas per layer, source and dimension, so that a mix-up would show."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in node.scalearn_layers:
            layer.omega.copy_(torch.rand(layer.omega.shape, generator=g) * 2 - 0.5)


def _loss_and_grads(node: NodeModel, batch: dict, fused: bool, seed: int = 0):
    """Loss, logits and trainable gradients of one forward/backward on ``fused``'s path."""
    node.use_fused_transfer(fused)
    node.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    loss, logits = node(batch, "tgt")
    loss.backward()
    grads = {n: p.grad.clone() for n, p in node.named_parameters() if p.requires_grad}
    return loss.detach(), logits.detach(), grads


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_fused_path_equals_per_adapter_path(variant, mode, tiny_sources, tiny_vocab, make_batch):
    node = _transfer(variant, tiny_sources, tiny_vocab)
    assert scalearn_layer.uses_fused_path(node.scalearn_layers)
    _spread_omegas(node)
    node.train(mode == "train")  # train: omega dropout (and the backbone's) with one seed
    batch = make_batch(labels=torch.tensor([0, 1, 1, 0]))
    fused = _loss_and_grads(node, batch, fused=True)
    plain = _loss_and_grads(node, batch, fused=False)
    torch.testing.assert_close(fused[0], plain[0], **TOL)
    torch.testing.assert_close(fused[1], plain[1], **TOL)
    assert fused[2].keys() == plain[2].keys() and fused[2]
    for name in fused[2]:
        torch.testing.assert_close(fused[2][name], plain[2][name], **TOL, msg=name)
    if mode == "train" and scalearn_layer.get_variant(variant).dropout > 0:
        # dropout really acts on the fused path: another seed, another omega mask
        node.use_fused_transfer(True)
        torch.manual_seed(1)
        assert not torch.allclose(node(batch, "tgt")[1], fused[1])


def test_fused_path_follows_sources_changed_after_build(tiny_sources, tiny_vocab, make_batch):
    node = _transfer("scalearn", tiny_sources, tiny_vocab).eval()
    _spread_omegas(node, seed=3)
    batch = make_batch()
    before = node.encode(batch)
    # a source tensor edited in place (as load_state_dict does) must reach the fused path
    source = next(p for n, p in node.named_parameters() if ".adapters.src_b." in n)
    with torch.no_grad():
        source.add_(torch.randn(source.shape, generator=torch.Generator().manual_seed(0)))
    after = node.encode(batch)
    node.use_fused_transfer(False)
    torch.testing.assert_close(after, node.encode(batch), **TOL)
    assert (after - before).abs().max() > 1e-3


def test_sources_that_differ_or_train_take_the_per_adapter_path(
    tiny_sources, tiny_vocab, make_batch, tmp_path
):
    odd = NodeModel.build(
        TINY_RANDOM,
        "adapter",
        [HeadSpec("odd", CLASSIFICATION, 2)],
        {"reduction_factor": 8},
        seed=5,
        vocab_size=tiny_vocab,
    )
    odd.save_artifact(str(tmp_path / "odd"))
    mixed = _transfer("scalearn", [*tiny_sources[:2], ("odd", str(tmp_path / "odd"))], tiny_vocab)
    assert not scalearn_layer.uses_fused_path(mixed.scalearn_layers)
    mixed.eval()
    batch = make_batch()
    out = mixed.encode(batch)
    assert torch.isfinite(out).all()

    node = _transfer("scalearn", tiny_sources, tiny_vocab).eval()
    _spread_omegas(node)
    expected = node.encode(batch)
    for n, p in node.named_parameters():
        if ".adapters.src_a." in n:
            p.requires_grad = True  # a cached stack would cut this gradient: fall back
    layer = node.scalearn_layers[0]
    layer._stack_key = None
    torch.testing.assert_close(node.encode(batch), expected, **TOL)
    assert layer._stack_key is None  # the fused path was not taken


def test_adapter_fusion_is_the_librarys(tiny_sources, tiny_vocab):
    node = _transfer("adapter_fusion", tiny_sources, tiny_vocab)
    for _, layer in node.model.iter_layers():
        for module in layer.modules():
            assert "compose_fuse" not in vars(module)


def _split(lengths: list[int]) -> EncodedSplit:
    ids = [[0] + [5 + i % 7] * (n - 2) + [2] for i, n in enumerate(lengths)]
    return EncodedSplit("syn_topic", CLASSIFICATION, ids, [i % 2 for i in range(len(ids))], lengths)


def test_collate_pads_to_a_fixed_length_on_request():
    split = _split([4, 9, 6])
    dynamic = collate(split, [0, 2], pad_id=1)
    fixed = collate(split, [0, 2], pad_id=1, pad_to=16)
    assert dynamic["input_ids"].shape == (2, 6) and fixed["input_ids"].shape == (2, 16)
    assert torch.equal(fixed["input_ids"][:, :6], dynamic["input_ids"])
    assert (fixed["input_ids"][:, 6:] == 1).all() and (fixed["attention_mask"][:, 6:] == 0).all()
    assert fixed["attention_mask"].sum().item() == 4 + 6


def test_length_grouping_pads_less_and_stays_random():
    lengths = [3 + (i * 37) % 60 for i in range(640)]
    split = _split(lengths)

    def padded(batches):
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    grouped = pass_batches(split, 16, seed=0, index=0, group_by_length=True)
    plain = pass_batches(split, 16, seed=0, index=0)
    assert sorted(i for b in grouped for i in b) == list(range(len(split)))
    assert padded(grouped) < 0.8 * padded(plain)
    assert grouped != pass_batches(split, 16, seed=0, index=1, group_by_length=True)
    # the batch order is shuffled, not longest-first
    widths = [max(lengths[i] for i in b) for b in grouped]
    assert widths != sorted(widths, reverse=True) and widths != sorted(widths)
    assert LoopSettings(lr=1e-3).group_by_length


def test_length_sorted_evaluation_gives_the_same_metrics(tiny_sources, tiny_vocab):
    batches = eval_batches(_split([5, 30, 8, 12, 7, 25]), 4)
    assert sorted(i for b in batches for i in b) == list(range(6))
    node = NodeModel.build(
        TINY_RANDOM,
        "adapter",
        [HeadSpec("syn_topic", CLASSIFICATION, 4)],
        {},
        seed=0,
        vocab_size=tiny_vocab,
    )
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(4, 20, (40,), generator=g).tolist()
    ids = [[0, *torch.randint(3, tiny_vocab, (n - 2,), generator=g).tolist(), 2] for n in lengths]
    split = EncodedSplit("syn_topic", CLASSIFICATION, ids, [i % 4 for i in range(40)], lengths)
    got = evaluate(node, "syn_topic", split, 1, 8, torch.device("cpu"))
    # one example at a time: no padding, the original order
    single = evaluate(node, "syn_topic", split, 1, 1, torch.device("cpu"))
    assert got.keys() == single.keys()
    for key in got:
        assert got[key] == pytest.approx(single[key], abs=1e-4), key


def test_precision_is_checked():
    with pytest.raises(ValueError, match="precision"):
        LoopSettings.from_hparams(HParams(lr=1e-3, precision="fp8"), seed=0)
    assert LoopSettings.from_hparams(HParams(lr=1e-3), seed=0).precision == "bf16"
