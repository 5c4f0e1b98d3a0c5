"""HyperFormer and HyperFormer++ on a tiny RoBERTa: adapters generated per task (and layer),
what trains, what the generated adapter computes, artifacts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from trainables.backbones import RANDOM_PREFIX, TINY, build_adapter_model
from trainables.hypernet import GeneratedLayerNorm, GeneratedLinear
from trainables.models import CLASSIFICATION, REGRESSION, HeadSpec, NodeModel

TINY_RANDOM = RANDOM_PREFIX + TINY
HP = {
    "reduction_factor": 4,
    "task_embedding_dim": 16,
    "task_hidden_dim": 12,
    "projected_task_embedding_dim": 8,
}
HEADS = [HeadSpec("a", CLASSIFICATION, 2), HeadSpec("b", REGRESSION, 1)]

pytest_plugins = ["conftest_models"]
pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _build(method: str, vocab: int, seed: int = 0) -> NodeModel:
    return NodeModel.build(TINY_RANDOM, method, HEADS, HP, seed, vocab_size=vocab)


def _generated(node: NodeModel) -> list[GeneratedLinear]:
    return [m for m in node.modules() if isinstance(m, GeneratedLinear)]


def _weights(node: NodeModel, task: str) -> list[torch.Tensor]:
    net = node.impl.network(node)
    net.select(task)
    with torch.no_grad():
        return [w for layer in range(2) for w in (*net.linear(layer, "down"), *net.norm(layer))]


@pytest.mark.parametrize("method", ["hyperformer", "hyperformer_pp"])
def test_the_hypernetwork_generates_other_adapter_weights_for_each_task(
    method, tiny_vocab, make_batch
):
    node = _build(method, tiny_vocab).eval()
    a, b = _weights(node, "a"), _weights(node, "b")
    assert all(not torch.allclose(x, y) for x, y in zip(a, b, strict=True))
    # what each layer computes is the generated weights of the batch's task
    batch = make_batch()
    seen = []
    hooks = [
        m.register_forward_hook(lambda mod, i, o: seen.append((mod, i[0].detach(), o.detach())))
        for m in _generated(node)
    ]
    node(batch, "b")
    for h in hooks:
        h.remove()
    net = node.impl.network(node)
    net.select("b")
    assert len(seen) == 4
    for module, x, out in seen:
        weight, bias = net.linear(module.layer, module.which)
        torch.testing.assert_close(out, F.linear(x, weight, bias), atol=0, rtol=0)
    logits_a, logits_b = node(batch, "a")[1], node(batch, "b")[1]
    assert logits_a.shape == (4, 2) and logits_b.shape == (4, 1)


def test_hyperformer_has_a_generator_per_layer_and_hyperformer_pp_one_fed_the_layer(tiny_vocab):
    node = _build("hyperformer", tiny_vocab)
    net = node.impl.network(node)
    assert len(net.generators) == 2 and net.layer_embeddings is None
    pp_node = _build("hyperformer_pp", tiny_vocab)
    pp = pp_node.impl.network(pp_node)
    assert len(pp.generators) == 1 and pp.layer_embeddings.weight.shape == (2, 16)
    pp.select("a")
    with torch.no_grad():
        w0, w1 = pp.linear(0, "down")[0], pp.linear(1, "down")[0]
    assert not torch.allclose(w0, w1)  # one generator, told the layers apart by their embedding


@pytest.mark.parametrize("method", ["hyperformer", "hyperformer_pp"])
def test_only_the_hypernetwork_and_heads_train(method, tiny_vocab, make_batch):
    node = _build(method, tiny_vocab)
    names = [n for n, p in node.named_parameters() if p.requires_grad]
    assert names and all(n.startswith(("model.hypernetwork.", "model.heads.")) for n in names)
    assert any(".task_embeddings.a" in n for n in names)
    # the backbone's layer norms stay frozen, as the reference code has them
    norms = [m for m in node.model.base_model.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert norms and not any(p.requires_grad for m in norms for p in m.parameters())
    assert len([m for m in node.modules() if isinstance(m, GeneratedLayerNorm)]) == 2
    node.train()
    loss, _ = node(make_batch(labels=torch.tensor([0, 1, 1, 0])), "a")
    loss.backward()
    embeddings = node.impl.network(node).task_embeddings
    assert embeddings["a"].grad.abs().sum() > 0
    assert embeddings["b"].grad is None  # a batch of task a says nothing about task b


@pytest.mark.parametrize("method", ["hyperformer", "hyperformer_pp"])
def test_each_tasks_generated_adapter_loads_with_plain_adapters_calls(
    method, tiny_vocab, make_batch, perturb, tmp_path
):
    node = _build(method, tiny_vocab, seed=2)
    perturb(node, seed=3, scale=0.05)
    node.eval()
    batch = make_batch()
    node.save_artifact(str(tmp_path))
    for task in ("a", "b"):
        expected = node(batch, task)[1]
        model = build_adapter_model(TINY_RANDOM, tiny_vocab)
        name = model.load_adapter(str(tmp_path / "adapters" / task), use_safetensors=True)
        model.set_active_adapters(name)
        model.eval()
        with torch.no_grad():
            out = model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], head=name
            )
        torch.testing.assert_close(out.logits, expected, atol=0, rtol=0)
    loaded = NodeModel.load_artifact(str(tmp_path), TINY_RANDOM, vocab_size=tiny_vocab).eval()
    for task in ("a", "b"):
        torch.testing.assert_close(loaded(batch, task)[1], node(batch, task)[1], atol=0, rtol=0)


def test_a_task_without_an_embedding_is_refused(tiny_vocab, make_batch):
    node = _build("hyperformer", tiny_vocab)
    with pytest.raises(KeyError, match="no task embedding for 'c'"):
        node.impl.select_task(node, "c")
