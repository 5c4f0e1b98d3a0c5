"""The tiny backbone (2 layers, hidden 32) for tests and the demo: its config and its pretraining
on the synthetic world, run once per machine and cached on disk.

A randomly initialised 2-layer, hidden-32 RoBERTa gives its <s> token nearly the same vector for
every sentence (init std 0.02 keeps attention uniform and the value path ~1 % of the residual), so
frozen-backbone methods - adapters, Compacter, ScaLearn, AdapterFusion - learn nothing on it. Real
adapters sit on a *pretrained* backbone; this gives the tiny one the equivalent: a few hundred
steps of masked language modelling plus predicting each sentence's topic and polarity from <s>
(coarse world knowledge, as a pretrained LM has), deterministic from ``BACKBONE_SEED``.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

TINY = "tiny-roberta"
# max_position_embeddings 514 as in the real models: RoBERTa offsets positions by pad_token_id + 1,
# so 514 covers any max_length up to 512 and costs the tiny model next to nothing.
TINY_FIELDS = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=514,
    type_vocab_size=1,
    layer_norm_eps=1e-5,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
)
RECIPE = "mlm+factors-v1"  # part of the cache key: change it whenever the recipe changes
STEPS = 300
BATCH = 64
LR = 3e-3
WARMUP = 30
MASK_PROB = 0.15
FACTORS = {"topic": 4, "polarity": 2}


def tiny_config(vocab_size: int):
    """The tiny RoBERTa's config for a tokenizer of ``vocab_size`` tokens."""
    import transformers

    return transformers.RobertaConfig(vocab_size=vocab_size, **TINY_FIELDS)


def pretrained_tiny_state(tokenizer, seed: int = 0) -> dict[str, torch.Tensor]:
    """The pretrained tiny backbone's ``roberta.*`` weights for ``tokenizer``, from the cache."""
    from safetensors.torch import load_file, save_file

    from trainables.tokenizer import cache_dir

    key = f"{tokenizer.name_or_path}-{len(tokenizer)}-{RECIPE}-s{seed}"
    path = Path(cache_dir()) / f"tiny-roberta-{key}.safetensors"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # one process trains, the others wait for its file (trials often start together)
        with open(str(path) + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                state = {k: v.contiguous() for k, v in _pretrain(tokenizer, seed).items()}
                fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
                os.close(fd)
                save_file(state, tmp)
                os.replace(tmp, path)
    return load_file(str(path))


def _pretrain(tokenizer, seed: int) -> dict[str, torch.Tensor]:
    import transformers

    from trainables.tasks.synthetic import pretraining_examples

    config = tiny_config(len(tokenizer))
    rows = pretraining_examples(seed, STEPS * BATCH)
    threads = torch.get_num_threads()
    # one thread: CPU matmul blocking depends on the thread count, the weights must not
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = transformers.RobertaForMaskedLM(config)
            hidden = config.hidden_size
            heads = torch.nn.ModuleDict(
                {
                    f"{name}{i}": torch.nn.Linear(hidden, n)
                    for name, n in FACTORS.items()
                    for i in (1, 2)
                }
            )
            params = list(model.parameters()) + list(heads.parameters())
            optimizer = torch.optim.AdamW(params, lr=LR)
            schedule = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda s: min(1.0, (s + 1) / WARMUP) * max(0.0, 1 - s / STEPS)
            )
            model.train()
            for step in range(STEPS):
                batch = rows[step * BATCH : (step + 1) * BATCH]
                loss = _loss(model, heads, tokenizer, batch)
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
    finally:
        torch.set_num_threads(threads)
    return {
        k: v.detach().clone() for k, v in model.state_dict().items() if k.startswith("roberta.")
    }


def _loss(model, heads, tokenizer, batch: list[dict]) -> torch.Tensor:
    enc = tokenizer(
        [r["sentence1"] for r in batch],
        [r["sentence2"] or "" for r in batch],
        padding=True,
        return_tensors="pt",
    )
    # rows without a second sentence must not carry an empty second segment
    singles = [tokenizer(r["sentence1"])["input_ids"] for r in batch]
    ids = enc["input_ids"].clone()
    for i, r in enumerate(batch):
        if r["sentence2"] is None:
            ids[i] = tokenizer.pad_token_id
            ids[i, : len(singles[i])] = torch.tensor(singles[i])
    mask = (ids != tokenizer.pad_token_id).long()
    special = torch.tensor([[t in tokenizer.all_special_ids for t in row] for row in ids.tolist()])
    masked = (torch.rand(ids.shape) < MASK_PROB) & ~special
    labels = ids.masked_fill(~masked, -100)
    inputs = ids.masked_fill(masked, tokenizer.mask_token_id)
    out = model(input_ids=inputs, attention_mask=mask, labels=labels, output_hidden_states=True)
    first = out.hidden_states[-1][:, 0]
    loss = out.loss
    has_second = torch.tensor([r["factors2"] is not None for r in batch], dtype=torch.float)
    for name in FACTORS:
        target1 = torch.tensor([r["factors1"][name] for r in batch])
        loss = loss + F.cross_entropy(heads[f"{name}1"](first), target1)
        target2 = torch.tensor([(r["factors2"] or r["factors1"])[name] for r in batch])
        per_row = F.cross_entropy(heads[f"{name}2"](first), target2, reduction="none")
        loss = loss + (per_row * has_second).sum() / has_second.sum().clamp(min=1)
    return loss
