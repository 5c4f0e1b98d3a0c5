"""Backbone configs and builders: real hub names, randomly initialised copies, and a tiny model.

Names:
- ``"roberta-base"`` (also ``"FacebookAI/roberta-base"``) etc.: pretrained weights via
  ``from_pretrained`` (only on a machine that can reach the hub or has it cached).
- ``"random:roberta-base"``: the same architecture with random weights (speed benchmarks, counts).
- ``"tiny-roberta"``: 2 layers, hidden 32, for tests and the demo, pretrained once per machine on
  the synthetic benchmark's world with its own tokenizer (``trainables.tiny_backbone``).
- ``"random:tiny-roberta"``: the tiny architecture with random weights and any ``vocab_size``.

Random backbones are initialised from a fixed seed (``BACKBONE_SEED``), never from a node's seed:
a stage-two node must see exactly the backbone its stage-one sources were trained on.
"""

from __future__ import annotations

import json
from importlib import resources

import torch
import transformers

from trainables.tiny_backbone import TINY, pretrained_tiny_state, tiny_config

RANDOM_PREFIX = "random:"
BACKBONE_SEED = 0
KNOWN = ("roberta-base", "roberta-large", "xlm-roberta-base", "xlm-roberta-large")
_HUB_ORG = "FacebookAI/"


def base_name(name: str) -> str:
    """``random:FacebookAI/roberta-base`` -> ``roberta-base``; unknown names raise ValueError."""
    base = name.removeprefix(RANDOM_PREFIX).removeprefix(_HUB_ORG)
    if base == TINY:
        return base
    if base not in KNOWN:
        known = ", ".join([*KNOWN, TINY] + [RANDOM_PREFIX + k for k in KNOWN])
        raise ValueError(f"unknown backbone {name!r}; known: {known}")
    return base


def backbone_config(name: str, vocab_size: int | None = None) -> transformers.PretrainedConfig:
    """The model config of ``name``; ``vocab_size`` is required for the tiny model only."""
    base = base_name(name)
    if base == TINY:
        if vocab_size is None:
            raise ValueError(f"backbone {TINY!r} needs vocab_size (the tokenizer's vocab size)")
        return tiny_config(vocab_size)
    text = resources.files("trainables").joinpath("backbone_configs", f"{base}.json").read_text()
    fields = json.loads(text)
    if vocab_size is not None and vocab_size != fields["vocab_size"]:
        raise ValueError(
            f"backbone {name!r} has vocab_size {fields['vocab_size']}, not {vocab_size}; "
            "use its own tokenizer or pass vocab_size=None"
        )
    model_type = fields.pop("model_type")
    return transformers.AutoConfig.for_model(model_type, **fields)


def is_pretrained(name: str) -> bool:
    """True for plain hub names (weights from the hub); False for ``random:*`` and tiny."""
    return base_name(name) != TINY and not name.startswith(RANDOM_PREFIX)


def build_adapter_model(name: str, vocab_size: int | None = None):
    """An ``adapters`` AdapterModel (flexible heads, no adapters yet) for backbone ``name``.

    Random backbones are built from ``BACKBONE_SEED`` without touching the caller's RNG state.
    Under a ``torch.device("meta")`` context this builds shapes only (for parameter counts).
    """
    import adapters  # heavy import kept local

    if is_pretrained(name):
        return adapters.AutoAdapterModel.from_pretrained(name)
    config = backbone_config(name, vocab_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(BACKBONE_SEED)
        model = adapters.AutoAdapterModel.from_config(config)
    if name == TINY and next(model.parameters()).device.type != "meta":
        # A random tiny backbone gives every sentence nearly the same <s> vector, so nothing
        # trained on top of it while it stays frozen can learn; it is pretrained once instead.
        from trainables.tokenizer import load_tokenizer

        tok = load_tokenizer(TINY)
        if len(tok) != vocab_size:
            raise ValueError(
                f"{TINY} is pretrained with its own tokenizer of {len(tok)} tokens; "
                f"got vocab_size={vocab_size}"
            )
        model.load_state_dict(pretrained_tiny_state(tok, BACKBONE_SEED), strict=False)
    return model


def prepare(name: str) -> None:
    """Warm what every trial on ``name`` needs once per machine (the tiny backbone's weights)."""
    if name == TINY:
        from trainables.tokenizer import load_tokenizer

        pretrained_tiny_state(load_tokenizer(TINY), BACKBONE_SEED)
