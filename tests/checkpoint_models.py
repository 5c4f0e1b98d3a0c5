"""Tiny Hugging Face checkpoints of three architectures, with tokenizers trained on the fly.

``save_checkpoint(arch, folder)`` writes what ``save_pretrained`` writes for a BERT (WordPiece,
segment ids), a DeBERTa-v2 (Unigram, segment ids it has no embedding for) or an XLM-R (Unigram,
RoBERTa's pair template): config.json, model.safetensors and the tokenizer files. Random weights
from a fixed seed, 2 layers, hidden 32: the tests check that every method trains, saves, loads and
is cached on them, not what they score.
"""

from __future__ import annotations

from pathlib import Path

ARCHS = ("bert", "deberta-v2", "xlm-roberta")
VOCAB = 400
SIZES = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


def _corpus() -> list[str]:
    from trainables.tasks.synthetic import corpus

    return corpus()


def _wordpiece():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.trainers import WordPieceTrainer

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = WordPieceTrainer(vocab_size=VOCAB, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    tok.post_processor = _bert_template(tok)
    return tok


def _bert_template(tok):
    from tokenizers import processors

    ids = [("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))]
    return processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=ids
    )


def _unigram(specials: list[str], unk: str):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.trainers import UnigramTrainer

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = UnigramTrainer(
        vocab_size=VOCAB, special_tokens=specials, unk_token=unk, show_progress=False
    )
    tok.train_from_iterator(_corpus(), trainer)
    return tok


def _bert():
    import transformers

    fast = transformers.BertTokenizerFast(
        tokenizer_object=_wordpiece(),
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = transformers.BertConfig(
        vocab_size=len(fast), max_position_embeddings=128, pad_token_id=fast.pad_token_id, **SIZES
    )
    return fast, transformers.BertModel(config, add_pooling_layer=False)


def _deberta_v2():
    import transformers

    tok = _unigram(["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"], "[UNK]")
    tok.post_processor = _bert_template(tok)
    fast = transformers.DebertaV2TokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        bos_token="[CLS]",
        eos_token="[SEP]",
    )
    config = transformers.DebertaV2Config(
        vocab_size=len(fast),
        max_position_embeddings=128,
        type_vocab_size=0,  # as DeBERTa-v3: the tokenizer gives segment ids, the model has none
        relative_attention=True,
        position_buckets=16,
        pos_att_type=["p2c", "c2p"],
        pad_token_id=fast.pad_token_id,
        **SIZES,
    )
    return fast, transformers.DebertaV2Model(config)


def _xlm_roberta():
    import transformers
    from tokenizers import processors

    tok = _unigram(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], "<unk>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    fast = transformers.XLMRobertaTokenizerFast(tokenizer_object=tok)
    # positions start after the padding id, as in RoBERTa: 128 tokens need 130 positions
    config = transformers.XLMRobertaConfig(
        vocab_size=len(fast),
        max_position_embeddings=130,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        **SIZES,
    )
    return fast, transformers.XLMRobertaModel(config, add_pooling_layer=False)


BUILDERS = {"bert": _bert, "deberta-v2": _deberta_v2, "xlm-roberta": _xlm_roberta}


def save_checkpoint(arch: str, folder: str | Path) -> Path:
    """A tiny ``arch`` checkpoint (``ARCHS``) saved into ``folder``; returns the folder."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        tokenizer, model = BUILDERS[arch]()
    folder = Path(folder)
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder
