"""NodeModel on a tiny RoBERTa: what trains, losses, artifacts, seeds; counts for roberta-base."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F

from trainables.backbones import RANDOM_PREFIX, TINY, build_adapter_model
from trainables.models import (
    CLASSIFICATION,
    MULTILABEL,
    MULTIPLE_CHOICE,
    REGRESSION,
    HeadSpec,
    NodeModel,
    method_kind,
)
from trainables.params import count_params

# Random weights: these tests need no pretraining and any vocabulary size.
TINY_RANDOM = RANDOM_PREFIX + TINY

pytest_plugins = ["conftest_models"]
pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _head(task: str = "tgt", problem_type: str = CLASSIFICATION, n: int = 2) -> list[HeadSpec]:
    return [HeadSpec(task, problem_type, n)]


def _build(method, vocab, sources=None, heads=None, hparams=None, seed=0) -> NodeModel:
    return NodeModel.build(
        TINY_RANDOM,
        method,
        heads or _head(),
        hparams or {},
        seed,
        sources=sources,
        vocab_size=vocab,
    )


def _labelled(make_batch, n_labels: int = 2, seed: int = 0) -> dict:
    return make_batch(labels=torch.arange(4) % n_labels, seed=seed)


def _train(node: NodeModel, batch: dict, task: str = "tgt", steps: int = 3) -> None:
    node.train()
    opt = torch.optim.AdamW(node.trainable_parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss, _ = node(batch, task)
        loss.backward()
        opt.step()


def _frozen_snapshot(node: NodeModel) -> dict[str, bytes]:
    return {
        n: p.detach().numpy().tobytes() for n, p in node.named_parameters() if not p.requires_grad
    }


@pytest.mark.parametrize("method", ["scalearn", "scalearn_uniform_pp", "adapter_fusion"])
def test_transfer_trains_only_transfer_layer_and_head(method, tiny_sources, tiny_vocab, make_batch):
    node = _build(method, tiny_vocab, sources=tiny_sources)
    names = {n for n, p in node.named_parameters() if p.requires_grad}
    assert names and all(".adapter_fusion_layer." in n or ".heads.tgt." in n for n in names)
    assert any(".adapters.src_a." in n for n, _ in node.named_parameters())
    frozen = _frozen_snapshot(node)
    trainable = {k: v.clone() for k, v in node.checkpoint_state().items()}
    _train(node, _labelled(make_batch))
    for n, p in node.named_parameters():
        if not p.requires_grad:
            assert p.grad is None, n
    assert _frozen_snapshot(node) == frozen
    after = node.checkpoint_state()
    for n, before in trainable.items():
        assert not torch.equal(before, after[n]), f"{n} did not train"


def test_stl_adapter_freezes_backbone(tiny_vocab):
    node = _build("adapter", tiny_vocab)
    names = [n for n, p in node.named_parameters() if p.requires_grad]
    assert all(".adapters.tgt." in n or ".heads.tgt." in n for n in names)
    full = _build("full_ft", tiny_vocab)
    frozen = [n for n, p in full.named_parameters() if not p.requires_grad]
    assert frozen and all(".pooler." in n for n in frozen)  # the heads never read the pooler


@pytest.mark.parametrize(
    "problem_type, n, labels, loss_fn",
    [
        (CLASSIFICATION, 3, torch.tensor([0, 2, 1, 2]), F.cross_entropy),
        (
            REGRESSION,
            1,
            torch.tensor([0.1, 2.0, 3.5, 5.0], dtype=torch.float64),
            lambda logits, y: F.mse_loss(logits.view(-1), y.float()),
        ),
        (
            MULTILABEL,
            4,
            torch.tensor([[1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 1, 1], [0, 0, 0, 0]]),
            lambda logits, y: F.binary_cross_entropy_with_logits(logits, y.float()),
        ),
    ],
)
def test_head_losses(problem_type, n, labels, loss_fn, tiny_vocab, make_batch):
    node = _build("adapter", tiny_vocab, heads=_head("t", problem_type, n)).eval()
    loss, logits = node(make_batch(labels=labels), "t")
    assert logits.shape == (4, n)
    torch.testing.assert_close(loss, loss_fn(logits, labels))


def test_multiple_choice(tiny_vocab, make_batch):
    node = _build("adapter", tiny_vocab, heads=_head("copa", MULTIPLE_CHOICE, 2)).eval()
    flat = make_batch(batch_size=6)
    batch = {k: v.view(3, 2, -1) for k, v in flat.items()}
    batch["labels"] = torch.tensor([0, 1, 1])
    loss, logits = node(batch, "copa")
    assert logits.shape == (3, 2)
    torch.testing.assert_close(loss, F.cross_entropy(logits, batch["labels"]))


def _choice_batch(make_batch, seed: int = 0) -> dict:
    flat = make_batch(batch_size=6, seed=seed)
    batch = {k: v.view(3, 2, -1) for k, v in flat.items()}
    batch["labels"] = torch.tensor([0, 1, 1])
    return batch


@pytest.mark.parametrize("method", ["adapter", "scalearn", "adapter_fusion", "full_ft"])
def test_copa_pooler_head_is_the_multiple_choice_models(
    method, tiny_sources, tiny_vocab, make_batch
):
    sources = tiny_sources if method in ("scalearn", "adapter_fusion") else None
    heads = _head("copa", MULTIPLE_CHOICE, 2)
    node = _build(
        method, tiny_vocab, sources=sources, heads=heads, hparams={"choice_head": "pooler"}
    )
    head = node.model.heads["copa"]
    linear = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(32, 1)], "one linear layer"
    pooler = list(node.model.base_model.pooler.parameters())
    # the pre-trained pooler trains only where the backbone does (Full FT)
    assert all(p.requires_grad == (method == "full_ft") for p in pooler)
    node.eval()
    batch = _choice_batch(make_batch)
    loss, logits = node(batch, "copa")
    assert logits.shape == (3, 2)
    torch.testing.assert_close(loss, F.cross_entropy(logits, batch["labels"]))
    # the head reads the pooler's output: changing the pooler changes the scores
    with torch.no_grad():  # tanh(-x) = -tanh(x): a negated pooler negates its output
        for p in pooler:
            p.neg_()
    assert not torch.allclose(node(batch, "copa")[1], logits)
    two_layer = _build(method, tiny_vocab, sources=sources, heads=heads)
    assert (
        len([m for m in two_layer.model.heads["copa"].modules() if isinstance(m, torch.nn.Linear)])
        == 2
    )


@pytest.mark.parametrize("method", ["adapter", "scalearn", "full_ft"])
def test_copa_pooler_head_artifact_round_trip(
    method, tiny_sources, tiny_vocab, make_batch, perturb, tmp_path
):
    sources = tiny_sources if method == "scalearn" else None
    heads = _head("copa", MULTIPLE_CHOICE, 2)
    hparams = {"choice_head": "pooler"}
    node = _build(method, tiny_vocab, sources=sources, heads=heads, hparams=hparams, seed=2)
    perturb(node, seed=4, scale=0.05)
    node.eval()
    batch = _choice_batch(make_batch, seed=1)
    expected = node(batch, "copa")[1]
    node.save_artifact(str(tmp_path))
    loaded = NodeModel.load_artifact(
        str(tmp_path), TINY_RANDOM, vocab_size=tiny_vocab, sources=sources
    )
    assert loaded.hparams.choice_head == "pooler"
    torch.testing.assert_close(loaded.eval()(batch, "copa")[1], expected, atol=0, rtol=0)


def test_adapter_fusion_regulariser_weight(tiny_sources, tiny_vocab):
    from trainables.methods.adapter_fusion import LIBRARY_REG_WEIGHT

    default = _build("adapter_fusion", tiny_vocab, sources=tiny_sources)
    with torch.no_grad():  # move the value matrices off the identity
        for n, p in default.named_parameters():
            if ".value." in n:
                p.add_(0.1)
    library = default.model.base_model.get_fusion_regularization_loss()
    assert LIBRARY_REG_WEIGHT == 0.01 and library > 0
    torch.testing.assert_close(default.impl.extra_loss(default), library)
    double = _build(
        "adapter_fusion", tiny_vocab, sources=tiny_sources, hparams={"fusion_reg_weight": 0.02}
    )
    double.load_checkpoint_state(default.checkpoint_state())
    torch.testing.assert_close(double.impl.extra_loss(double), 2 * library)
    off = _build(
        "adapter_fusion", tiny_vocab, sources=tiny_sources, hparams={"fusion_reg_weight": 0.0}
    )
    assert off.impl.extra_loss(off) is None


def test_joint_adapter_shares_one_adapter(tiny_vocab, make_batch):
    heads = [HeadSpec("a", CLASSIFICATION, 2), HeadSpec("b", REGRESSION, 1)]
    node = _build("adapter_m", tiny_vocab, heads=heads)
    adapters = {
        n.split(".adapters.")[1].split(".")[0]
        for n, _ in node.named_parameters()
        if ".adapters." in n
    }
    assert adapters == {"joint"}
    assert node(_labelled(make_batch), "a")[1].shape == (4, 2)
    assert node(make_batch(labels=torch.rand(4)), "b")[1].shape == (4, 1)
    with pytest.raises(KeyError):
        node(make_batch(), "c")


ROUND_TRIP = [
    ("adapter", {}, None),
    ("compacter_pp", {"reduction_factor": 8}, None),
    ("full_ft", {}, None),
    ("scalearn", {}, "sources"),
    ("scalearn_pp", {}, "sources"),
    ("adapter_fusion", {}, "sources"),
    ("adapter_m", {}, None),
    ("full_ft_m", {}, None),
    ("propetl", {"reduction_factor": 4}, None),
    ("propetl_m", {"reduction_factor": 4}, None),
    ("hyperformer", {"task_embedding_dim": 16, "projected_task_embedding_dim": 8}, None),
    ("hyperformer_pp", {"task_embedding_dim": 16, "projected_task_embedding_dim": 8}, None),
]


@pytest.mark.parametrize("method, hparams, with_sources", ROUND_TRIP)
def test_artifact_round_trip(
    method, hparams, with_sources, tiny_sources, tiny_vocab, make_batch, perturb, tmp_path
):
    sources = tiny_sources if with_sources else None
    joint = method_kind(method) == "joint"
    heads = [HeadSpec("tgt", CLASSIFICATION, 2)]
    if joint:
        heads.append(HeadSpec("aux", REGRESSION, 1))
    node = _build(method, tiny_vocab, sources=sources, heads=heads, hparams=hparams, seed=3)
    perturb(node, seed=7, scale=0.05)  # else a rebuild from the same seed would pass trivially
    node.eval()
    batch = make_batch()
    expected = {h.task: node(batch, h.task)[1] for h in heads}
    node.save_artifact(str(tmp_path))
    # sources in another order: the artifact puts them back in its own order
    given = list(reversed(sources)) if sources else None
    loaded = NodeModel.load_artifact(
        str(tmp_path), TINY_RANDOM, vocab_size=tiny_vocab, sources=given
    )
    loaded.eval()
    for task, logits in expected.items():
        torch.testing.assert_close(loaded(batch, task)[1], logits, atol=0, rtol=0)
    fresh = _build(method, tiny_vocab, sources=sources, heads=heads, hparams=hparams, seed=3)
    assert not torch.allclose(fresh.eval()(batch, "tgt")[1], expected["tgt"])


@pytest.mark.parametrize(
    "method, hparams", [("adapter", {}), ("compacter_pp", {"reduction_factor": 8})]
)
def test_saved_adapter_loads_with_plain_adapters_calls(
    method, hparams, tiny_vocab, make_batch, perturb, tmp_path
):
    node = _build(method, tiny_vocab, hparams=hparams)
    perturb(node, seed=1, scale=0.05)
    node.eval()
    batch = make_batch()
    expected = node(batch, "tgt")[1]
    node.save_artifact(str(tmp_path))
    model = build_adapter_model(TINY_RANDOM, tiny_vocab)
    name = model.load_adapter(os.path.join(tmp_path, "adapter"), use_safetensors=True)
    model.set_active_adapters(name)
    model.eval()
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], head=name)
    torch.testing.assert_close(out.logits, expected, atol=0, rtol=0)


def test_adapter_fusion_also_saved_in_adapters_format(tiny_sources, tiny_vocab, tmp_path):
    node = _build("adapter_fusion", tiny_vocab, sources=tiny_sources)
    node.save_artifact(str(tmp_path))
    assert sorted(os.listdir(tmp_path / "adapter_fusion")) == [
        "adapter_fusion_config.json",
        "model_adapter_fusion.safetensors",
    ]
    assert not [f for f in os.listdir(tmp_path) if f.endswith((".bin", ".pt", ".pkl"))]


def test_load_artifact_checks_sources(tiny_sources, tiny_vocab, tmp_path):
    _build("scalearn", tiny_vocab, sources=tiny_sources).save_artifact(str(tmp_path))
    with pytest.raises(ValueError, match="needs sources"):
        NodeModel.load_artifact(str(tmp_path), TINY_RANDOM, vocab_size=tiny_vocab)
    with pytest.raises(ValueError, match="differ"):
        NodeModel.load_artifact(
            str(tmp_path), TINY_RANDOM, vocab_size=tiny_vocab, sources=tiny_sources[:2]
        )


def test_checkpoint_state_round_trip(tiny_sources, tiny_vocab, make_batch):
    node = _build("scalearn_pp", tiny_vocab, sources=tiny_sources)
    state = node.checkpoint_state()
    assert sum(v.numel() for v in state.values()) == node.param_counts()["trainable_params"]
    _train(node, _labelled(make_batch), steps=2)
    node.load_checkpoint_state(state)
    for n, v in node.checkpoint_state().items():
        assert torch.equal(v, state[n])
    with pytest.raises(KeyError):
        node.load_checkpoint_state({})


@pytest.mark.parametrize("method", ["scalearn", "adapter_fusion", "adapter"])
def test_seed_fixes_new_parameters(method, tiny_sources, tiny_vocab):
    sources = tiny_sources if method != "adapter" else None
    a = _build(method, tiny_vocab, sources=sources, seed=5).checkpoint_state()
    b = _build(method, tiny_vocab, sources=sources, seed=5).checkpoint_state()
    c = _build(method, tiny_vocab, sources=sources, seed=6).checkpoint_state()
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    # and building does not move the caller's RNG
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    _build(method, tiny_vocab, sources=sources, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_compacter_rejects_indivisible_bottleneck(tiny_vocab):
    with pytest.raises(ValueError, match="phm_dim"):
        _build("compacter_pp", tiny_vocab)  # hidden 32 // 16 = 2, not divisible by 4


@pytest.mark.slow
def test_param_counts_roberta_base():
    from orchestrator.contract.methods import METHODS

    rows = {r["method"]: r for r in count_params("roberta-base", 8)}
    assert list(rows) == list(METHODS)
    heads = 8 * (768 * 768 + 768 + 768 * 2 + 2)  # one 2-label head per task
    # the analytic totals of the reference code (heads excluded), see docs/methods.md "Parameters"
    assert rows["propetl"]["trainable_params"] - heads // 8 == 959_280
    assert rows["propetl_m"]["trainable_params"] - heads == 1_549_104
    assert rows["hyperformer"]["trainable_params"] - heads == 59_420_544
    assert rows["hyperformer_pp"]["trainable_params"] - heads == 5_095_024
    transfer = {m: rows[m]["transfer_params"] for m in rows if rows[m]["kind"] == "transfer"}
    assert transfer["scalearn"] == 73_728
    assert transfer["scalearn_uniform"] == 96
    assert transfer["scalearn_pp"] == 6_144
    assert transfer["scalearn_uniform_pp"] == 8
    assert 21_000_000 < transfer["adapter_fusion"] < 21_600_000
    head = 768 * 768 + 768 + 768 * 2 + 2
    assert rows["scalearn"]["trainable_params"] == 73_728 + head
    assert rows["adapter"]["trainable_params"] == 12 * (2 * 768 * 48 + 48 + 768) + head
    assert rows["adapter_m"]["trainable_params"] == 12 * (2 * 768 * 48 + 48 + 768) + 8 * head
    assert rows["adapter"]["transfer_params"] is None
    # ScaLearn is about 0.35 % of AdapterFusion
    assert 0.003 < transfer["scalearn"] / transfer["adapter_fusion"] < 0.004


def test_uniform_counts_scale_with_sources(tiny_vocab):
    hp = {"compacter_pp": {"reduction_factor": 8}}
    for n in (2, 5):
        rows = {
            r["method"]: r for r in count_params(TINY_RANDOM, n, vocab_size=tiny_vocab, hparams=hp)
        }
        assert rows["scalearn_uniform"]["transfer_params"] == 2 * n
        assert rows["scalearn_uniform_pp"]["transfer_params"] == n
        assert rows["scalearn"]["transfer_params"] == 2 * n * 32
        assert rows["scalearn_pp"]["transfer_params"] == n * 32
