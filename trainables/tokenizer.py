"""Tokenizers: a checkpoint's own for real backbones, a small trained byte-level BPE for tiny ones.

The trained tokenizer is a pure function of its corpus and vocabulary size; it is cached on disk
under ``$SCALEARN_CACHE`` (default ``~/.cache/scalearn``) keyed by a hash of both, so parallel
trials share one file and never retrain it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from trainables.backbone_ref import Form, parse

TRAINED_VOCAB_SIZE = 1024
# RoBERTa's special tokens in RoBERTa's id order (<pad> is id 1, as the model expects)
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_VERSION = "bpe-v2"  # bump when the training recipe changes so old cache files are not reused
_NAME_PREFIX = "synthetic-bpe-"
# How a trained tokenizer is wrapped (the tiny checkpoint's tokenizer_config.json holds the same)
TRAINED_TOKENIZER_SETTINGS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
    "model_input_names": ["input_ids", "attention_mask"],
    "add_prefix_space": True,
}


def cache_dir() -> Path:
    """Where trained tokenizers are kept."""
    return Path(os.environ.get("SCALEARN_CACHE", Path.home() / ".cache/scalearn"))


def uses_trained_tokenizer(backbone: str) -> bool:
    """Whether ``backbone`` has no hub tokenizer and gets one trained on the synthetic corpus
    (the tiny model, and ``random:`` copies of it and of the paper's four)."""
    ref = parse(backbone)
    return ref.form == Form.TINY or ref.trained_tokenizer


def load_tokenizer(
    backbone: str,
    corpus: Sequence[str] | None = None,
    vocab_size: int = TRAINED_VOCAB_SIZE,
    files: str | None = None,
) -> PreTrainedTokenizerBase:
    """The tokenizer for ``backbone``; ``corpus`` (default: the synthetic one) trains tiny ones.

    ``files``: a local copy of the tiny backbone's checkpoint (a trial's), whose tokenizer is
    used instead of this machine's. A tokenizer without a padding token pads with its
    end-of-sequence token (the attention mask hides padding either way).
    """
    ref = parse(backbone)
    if files is not None and ref.form == Form.TINY and not ref.random:
        return _from_folder(files)
    if not uses_trained_tokenizer(backbone):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(ref.repo, revision=ref.revision)
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer
    if corpus is None:
        from trainables.tasks.synthetic import corpus as synthetic_corpus

        corpus = synthetic_corpus()
    return _trained(tuple(corpus), vocab_size)


@lru_cache(maxsize=8)
def _from_folder(folder: str) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def trained_tokenizer_file(tokenizer: PreTrainedTokenizerFast) -> Path:
    """The file a trained tokenizer was loaded from (its exact bytes, whatever calls did to the
    object since)."""
    return cache_dir() / f"tokenizer-{tokenizer.name_or_path.removeprefix(_NAME_PREFIX)}.json"


@lru_cache(maxsize=8)
def _trained(corpus: tuple[str, ...], vocab_size: int) -> PreTrainedTokenizerFast:
    digest = hashlib.sha256(f"{_VERSION}\n{vocab_size}\n".encode())
    for line in corpus:
        digest.update(line.encode())
        digest.update(b"\n")
    key = digest.hexdigest()[:16]
    path = cache_dir() / f"tokenizer-{key}.json"
    if not path.exists():
        _train_to(path, corpus, vocab_size)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(path), **TRAINED_TOKENIZER_SETTINGS)
    # a readable name in logs and artifacts; the encoding cache keys on content, not on this
    tokenizer.name_or_path = f"{_NAME_PREFIX}{key}"
    return tokenizer


def _train_to(path: Path, corpus: Sequence[str], vocab_size: int) -> None:
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing

    # a prefix space makes a word one token wherever it stands, so overlap between sentences
    # is visible to a tiny model as identical ids
    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    bpe.train_from_iterator(
        corpus,
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=list(SPECIALS),
        show_progress=False,
    )
    bpe.post_processor = RobertaProcessing(
        ("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>"))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # write then rename: concurrent trials may train at once and must never read half a file
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        bpe.save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
