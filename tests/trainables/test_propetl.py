"""ProPETL and ProPETL-m on a tiny RoBERTa: one prototype, binary masks at the threshold,
straight-through gradients to the scores, task masks, optimizer groups, artifacts."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F

from trainables.backbones import RANDOM_PREFIX, TINY, build_adapter_model
from trainables.models import CLASSIFICATION, REGRESSION, HeadSpec, NodeModel
from trainables.prototype import MaskedLinear, kept_count

TINY_RANDOM = RANDOM_PREFIX + TINY
HP = {"reduction_factor": 4}  # hidden 32 / 4: an 8-wide bottleneck

pytest_plugins = ["conftest_models"]
pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _build(method: str, vocab: int, hparams: dict | None = None, seed: int = 0) -> NodeModel:
    heads = [HeadSpec("a", CLASSIFICATION, 2)]
    if method == "propetl_m":
        heads.append(HeadSpec("b", REGRESSION, 1))
    return NodeModel.build(
        TINY_RANDOM, method, heads, {**HP, **(hparams or {})}, seed, vocab_size=vocab
    )


def _masked(node: NodeModel) -> list[MaskedLinear]:
    return [m for m in node.modules() if isinstance(m, MaskedLinear)]


def _threshold_mask(scores: torch.Tensor, keep: float) -> torch.Tensor:
    """The mask as the method defines it, computed independently: the kept count of largest
    |scores| by sorting."""
    flat = scores.detach().abs().flatten()
    k = kept_count(flat.numel(), keep)
    threshold = flat.sort(descending=True).values[k - 1]
    return (scores.detach().abs() >= threshold).float()


@pytest.mark.parametrize("keep", [0.5, 0.3])
def test_the_prototype_is_binary_at_the_threshold_in_the_forward_pass(keep, tiny_vocab, make_batch):
    node = _build("propetl", tiny_vocab, {"sparsity": keep}).eval()
    masked = _masked(node)
    assert len(masked) == 2 * 2  # down and up of both layers
    # one prototype: every layer's projections are views of the same tensors
    assert len({m.prototype.weight.data_ptr() for m in masked[0::2]}) == 1
    assert len({m.prototype.weight.data_ptr() for m in masked[1::2]}) == 1
    seen = []

    def capture(module, inputs, output):
        seen.append((module, inputs[0].detach(), output.detach()))

    hooks = [m.register_forward_hook(capture) for m in masked]
    node(make_batch(), "a")
    for h in hooks:
        h.remove()
    assert len(seen) == 4
    for module, x, out in seen:
        mask = _threshold_mask(module.scores, keep)
        assert int(mask.sum()) == kept_count(mask.numel(), keep)
        # what the layer computed is the prototype times a 0/1 mask, nothing in between
        w = module.prototype.weight.detach()
        torch.testing.assert_close(
            out, F.linear(x, w * mask, module.prototype.bias), atol=0, rtol=0
        )
        used = module.effective_weight().detach()
        ratio = used[w != 0] / w[w != 0]
        assert set(ratio.unique().tolist()) <= {0.0, 1.0}
    # and the layers' masks differ: one network, many masks
    down0, down1 = (_threshold_mask(m.scores, keep) for m in masked[0::2])
    assert not torch.equal(down0, down1)


def test_mask_scores_learn_through_the_straight_through_gradient(tiny_vocab, make_batch, perturb):
    node = _build("propetl", tiny_vocab)
    perturb(node, seed=2, scale=0.05)  # the init's up projection is tiny
    node.train()
    loss, _ = node(make_batch(labels=torch.tensor([0, 1, 1, 0])), "a")
    module = _masked(node)[0]
    weight = module.effective_weight()
    weight.retain_grad()
    out = F.linear(torch.randn(3, weight.shape[1]), weight).pow(2).sum()
    out.backward()
    # straight through the threshold and the magnitude: dL/ds = dL/dW_eff * W * sign(s)
    expected = weight.grad * module.prototype.weight.detach() * module.scores.detach().sign()
    torch.testing.assert_close(module.scores.grad, expected)
    node.zero_grad(set_to_none=True)
    loss.backward()
    for m in _masked(node):
        assert m.scores.grad is not None and m.scores.grad.abs().sum() > 0


def _train(node: NodeModel, batch: dict, steps: int, lr: float = 1e-2) -> None:
    from trainables.loop import LoopSettings, Trainer

    settings = LoopSettings(lr=lr, weight_decay=0.0, max_grad_norm=None)
    trainer = Trainer(node, settings, pad_id=1, device=torch.device("cpu"), total_steps=10**6)
    for _ in range(steps):
        trainer.step(batch, "a")


def test_learned_masks_change_and_frozen_masks_do_not(tiny_vocab, make_batch, perturb):
    batch = make_batch(labels=torch.tensor([0, 1, 1, 0]))
    learned = _build("propetl", tiny_vocab, {"mask_lr": 0.5})
    perturb(learned, seed=2, scale=0.05)
    _train(learned, batch, steps=10)
    changed = learned.transfer_summary()["changed_layer_masks"]
    assert learned.transfer_summary()["mask_training"] == "learned"
    assert any(v > 0 for layer in changed for v in layer)

    frozen = _build("propetl", tiny_vocab, {"mask_training": "frozen", "mask_lr": 0.5})
    scores = {id(m.scores) for m in _masked(frozen)}
    assert not any(id(p) in scores for p in frozen.trainable_parameters())
    before = [m.scores.detach().clone() for m in _masked(frozen)]
    prototype_before = _masked(frozen)[0].prototype.weight.detach().clone()
    _train(frozen, batch, steps=3)
    assert all(torch.equal(b, m.scores) for b, m in zip(before, _masked(frozen), strict=True))
    assert not torch.equal(prototype_before, _masked(frozen)[0].prototype.weight)
    assert frozen.transfer_summary()["changed_layer_masks"] == [[0.0, 0.0], [0.0, 0.0]]
    # the paper's count has the scores; the frozen variant trains the prototype and head only
    assert (
        learned.param_counts()["trainable_params"] - frozen.param_counts()["trainable_params"]
        == 2 * 2 * 32 * 8
    )


def test_scores_train_at_the_mask_learning_rate_and_biases_without_decay(tiny_vocab):
    node = _build("propetl", tiny_vocab, {"mask_lr": 5e-3, "weight_decay": 0.1})
    groups = node.optimizer_groups(1e-3, 0.1)
    scores = {id(m.scores) for m in _masked(node)}
    by_id = {id(p): (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    named = dict(node.named_parameters())
    for name, p in named.items():
        if not p.requires_grad:
            continue
        if id(p) in scores:
            assert by_id[id(p)] == (5e-3, 0.1), name
        elif name.endswith(".bias"):
            assert by_id[id(p)] == (1e-3, 0.0), name
        else:
            assert by_id[id(p)] == (1e-3, 0.1), name
    # without mask_lr: lr x mask_lr_ratio (ProPETL-m's 10)
    joint = _build("propetl_m", tiny_vocab)
    lrs = {g["lr"] for g in joint.optimizer_groups(3e-4, 0.0)}
    assert sorted(lrs) == pytest.approx([3e-4, 3e-3])


def test_other_methods_keep_one_optimizer_group(tiny_vocab):
    node = NodeModel.build(
        TINY_RANDOM, "adapter", [HeadSpec("a", CLASSIFICATION, 2)], {}, 0, vocab_size=tiny_vocab
    )
    (group,) = node.optimizer_groups(3e-4, 0.0)
    assert group["lr"] == 3e-4 and group["weight_decay"] == 0.0
    assert [id(p) for p in group["params"]] == [id(p) for p in node.trainable_parameters()]


def test_propetl_m_masks_each_task_with_the_union_of_its_task_and_layer_masks(
    tiny_vocab, make_batch, perturb
):
    node = _build("propetl_m", tiny_vocab, {"sparsity": 0.3})
    perturb(node, seed=4, scale=0.05)
    node.eval()
    masked = _masked(node)
    batch = make_batch()
    node(batch, "a")
    for module in masked:
        task = _threshold_mask(module.task_masks.scores["a"], 0.3)
        layer = _threshold_mask(module.scores, 0.3)
        union = torch.maximum(task, layer)
        torch.testing.assert_close(module.mask().detach(), union, atol=0, rtol=0)
        assert 0.3 < float(union.mean()) < 0.65  # about 1 - 0.7 ** 2
    a = [m.effective_weight().detach() for m in masked]
    node(batch, "b")
    b = [m.effective_weight().detach() for m in masked]
    assert all(not torch.equal(x, y) for x, y in zip(a, b, strict=True))
    # a task's mask is shared by every layer; a layer's mask by every task
    assert masked[0].task_masks is masked[2].task_masks
    with pytest.raises(KeyError, match="no mask for task 'c'"):
        node.impl.select_task(node, "c")


@pytest.mark.parametrize("method", ["propetl", "propetl_m"])
def test_each_tasks_adapter_loads_with_plain_adapters_calls(
    method, tiny_vocab, make_batch, perturb, tmp_path
):
    node = _build(method, tiny_vocab, seed=1)
    perturb(node, seed=5, scale=0.05)
    node.eval()
    batch = make_batch()
    node.save_artifact(str(tmp_path))
    assert not [f for f in os.listdir(tmp_path) if f.endswith((".bin", ".pt", ".pkl"))]
    folders = (
        {"a": "adapter"}
        if method == "propetl"
        else {h.task: f"adapters/{h.task}" for h in node.heads}
    )
    for task, folder in folders.items():
        expected = node(batch, task)[1]
        model = build_adapter_model(TINY_RANDOM, tiny_vocab)
        name = model.load_adapter(str(tmp_path / folder), use_safetensors=True)
        model.set_active_adapters(name)
        model.eval()
        with torch.no_grad():
            out = model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], head=name
            )
        assert name == task
        torch.testing.assert_close(out.logits, expected, atol=0, rtol=0)
    # the payload's own state reloads into a node with the same predictions
    loaded = NodeModel.load_artifact(str(tmp_path), TINY_RANDOM, vocab_size=tiny_vocab).eval()
    for h in node.heads:
        torch.testing.assert_close(loaded(batch, h.task)[1], node(batch, h.task)[1], atol=0, rtol=0)
