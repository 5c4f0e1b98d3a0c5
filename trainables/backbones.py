"""Backbone configs and builders for every form ``trainables.backbone_ref`` parses.

- The paper's four names, hub ids and local folders: pretrained weights via ``from_pretrained``
  (a hub id from the hub or its local cache, ``@revision`` pinned).
- ``random:<any>``: the same architecture with random weights (speed benchmarks, counts).
- ``tiny-roberta``: 2 layers, hidden 32, for tests and the demo; a checkpoint folder built once
  per machine (``trainables.tiny_backbone``), or the copy a trial fetched from the store.
- ``random:tiny-roberta``: the tiny architecture with random weights and any ``vocab_size``.

Random weights, and weights a checkpoint lacks (a pooler), are initialised from a fixed seed
(``BACKBONE_SEED``), never from a node's seed: a stage-two node must see exactly the backbone its
stage-one sources were trained on.
"""

from __future__ import annotations

import torch
import transformers

from trainables.backbone_ref import (
    RANDOM_PREFIX,
    TINY,
    Form,
    config_dict,
    parse,
)

BACKBONE_SEED = 0

__all__ = [
    "BACKBONE_SEED",
    "RANDOM_PREFIX",
    "TINY",
    "backbone_config",
    "base_name",
    "build_adapter_model",
    "is_pretrained",
    "same_backbone",
]


def base_name(name: str) -> str:
    """``random:FacebookAI/roberta-base`` -> ``roberta-base``; a hub id or folder as it is.

    Raises ValueError (BackboneError) for a name that is none of the backbone forms.
    """
    return parse(name).name


def same_backbone(a: str, b: str) -> bool:
    """Whether two names may be the same backbone: the tiny model and the paper's four by name
    (with or without ``random:``); a hub id or folder may lie elsewhere and is not compared."""
    ra, rb = parse(a), parse(b)
    if Form.HUB in (ra.form, rb.form) or Form.LOCAL in (ra.form, rb.form):
        return True
    return ra.name == rb.name


def backbone_config(name: str, vocab_size: int | None = None) -> transformers.PretrainedConfig:
    """The model config of ``name``; ``vocab_size`` is required for the tiny model only."""
    ref = parse(name)
    if ref.form in (Form.TINY, Form.PACKAGED):
        fields = config_dict(ref)
        if ref.form == Form.TINY:
            if vocab_size is None:
                raise ValueError(f"backbone {TINY!r} needs vocab_size (the tokenizer's vocab size)")
            fields["vocab_size"] = vocab_size
        elif vocab_size is not None and vocab_size != fields["vocab_size"]:
            raise ValueError(
                f"backbone {name!r} has vocab_size {fields['vocab_size']}, not {vocab_size}; "
                "use its own tokenizer or pass vocab_size=None"
            )
        fields.pop("architectures", None)
        return transformers.AutoConfig.for_model(fields.pop("model_type"), **fields)
    config = transformers.AutoConfig.from_pretrained(ref.repo, revision=ref.revision)
    if vocab_size is not None and vocab_size != config.vocab_size:
        raise ValueError(f"backbone {name!r} has vocab_size {config.vocab_size}, not {vocab_size}")
    return config


def is_pretrained(name: str) -> bool:
    """True when ``name``'s weights are loaded (the paper's four, hub ids, folders)."""
    return parse(name).needs_weights


def _seeded(build):
    """``build()`` with torch's RNG at ``BACKBONE_SEED``, the caller's RNG state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(BACKBONE_SEED)
        return build()


def build_adapter_model(name: str, vocab_size: int | None = None, files: str | None = None):
    """An ``adapters`` AdapterModel (flexible heads, no adapters yet) for backbone ``name``.

    ``files``: a local copy of the tiny backbone's checkpoint (a trial's, from the store);
    without it the machine's own copy is used. Under a ``torch.device("meta")`` context this
    builds shapes only (parameter counts), from the config alone.
    """
    import adapters  # heavy import kept local

    ref = parse(name)
    meta = torch.empty(0).device.type == "meta"
    if ref.form == Form.TINY and not ref.random and not meta:
        return _tiny(vocab_size, files)
    if ref.needs_weights and not meta:
        return _pretrained(ref.repo, ref.revision)
    if ref.form == Form.TINY and vocab_size is None:
        vocab_size = _tiny_vocab_size()  # the trained tokenizer's, which the tiny model is sized to
    config = backbone_config(name, vocab_size)
    return _seeded(lambda: adapters.AutoAdapterModel.from_config(config))


def _pretrained(source: str, revision: str | None = None, quiet: bool = False):
    """A checkpoint as an AdapterModel without the head its ``architectures`` name (a masked-LM
    head the library converts): a node's heads are its tasks' alone. ``quiet``: no warning about
    weights the checkpoint lacks (the tiny model's pooler, which no head reads)."""
    import logging

    import adapters

    log = logging.getLogger("transformers.modeling_utils")
    level = log.level
    if quiet:
        log.setLevel(logging.ERROR)
    try:
        model = _seeded(
            lambda: adapters.AutoAdapterModel.from_pretrained(source, revision=revision)
        )
    finally:
        log.setLevel(level)
    for name in list(model.heads):
        model.delete_head(name)
    return model


def _tiny_vocab_size() -> int:
    from trainables.tokenizer import load_tokenizer

    return len(load_tokenizer(TINY))


def _tiny(vocab_size: int | None, files: str | None):
    from trainables.tiny_backbone import checkpoint

    model = _pretrained(files or checkpoint(), quiet=True)
    if vocab_size is not None and vocab_size != model.config.vocab_size:
        raise ValueError(
            f"{TINY} is pretrained with its own tokenizer of {model.config.vocab_size} tokens; "
            f"got vocab_size={vocab_size}"
        )
    return model
