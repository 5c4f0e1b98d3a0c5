"""Fixtures for the model tests: tiny stage-one source adapters with non-trivial weights.

test_models.py and test_scalearn.py load this as a plugin, ``pytest_plugins = ["conftest_models"]``
(pytest's default import mode puts tests/ on sys.path). Helpers are handed out as fixtures, not
imported, so that pytest itself imports (and assert-rewrites) this module.
"""

from __future__ import annotations

import pytest
import torch

from trainables.backbones import RANDOM_PREFIX, TINY
from trainables.models import CLASSIFICATION, HeadSpec, NodeModel

# Random weights: these tests need no pretraining and any vocabulary size.
TINY_RANDOM = RANDOM_PREFIX + TINY

VOCAB = 100
SOURCE_NAMES = ("src_a", "src_b", "src_c")


def _make_batch(batch_size: int = 4, length: int = 9, seed: int = 0, labels=None) -> dict:
    """Random token ids with some padding (RoBERTa pad id 1) and optional labels."""
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, VOCAB, (batch_size, length), generator=g)
    attention_mask = torch.ones(batch_size, length, dtype=torch.long)
    attention_mask[0, -3:] = 0
    input_ids[attention_mask == 0] = 1
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    if labels is not None:
        batch["labels"] = labels
    return batch


@torch.no_grad()
def _perturb(node: NodeModel, seed: int, scale: float = 0.3) -> None:
    """Adds noise to every trainable tensor (adapters init their up-projection near zero)."""
    g = torch.Generator().manual_seed(seed)
    for p in node.trainable_parameters():
        p.add_(torch.randn(p.shape, generator=g) * scale)


@pytest.fixture(scope="module")
def torch_single_thread():
    """One intra-op thread for the module: on a busy 2-core box, tiny ops otherwise spin-wait
    on OpenMP threads (100x slower steps)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_vocab() -> int:
    """Vocabulary size of every tiny model in these tests."""
    return VOCAB


@pytest.fixture(scope="session")
def make_batch():
    """``make_batch(batch_size=4, length=9, seed=0, labels=None) -> dict``."""
    return _make_batch


@pytest.fixture(scope="session")
def perturb():
    """``perturb(node, seed, scale=0.3)``: noise on every trainable tensor, in place."""
    return _perturb


@pytest.fixture(scope="session")
def tiny_sources(tmp_path_factory) -> list[tuple[str, str]]:
    """Three saved stage-one ``adapter`` artifacts on tiny-roberta: ``[(name, payload_dir)]``."""
    out = []
    for i, name in enumerate(SOURCE_NAMES):
        node = NodeModel.build(
            TINY_RANDOM,
            "adapter",
            [HeadSpec(name, CLASSIFICATION, 2)],
            {},
            seed=i,
            vocab_size=VOCAB,
        )
        _perturb(node, seed=100 + i)
        payload = tmp_path_factory.mktemp(f"source_{name}")
        node.save_artifact(str(payload))
        out.append((name, str(payload)))
    return out
