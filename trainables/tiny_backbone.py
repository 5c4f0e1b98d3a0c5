"""The tiny backbone (2 layers, hidden 32) for tests and the demo: its config, its pretraining on
the synthetic world, and the checkpoint folder it becomes.

A randomly initialised 2-layer, hidden-32 RoBERTa gives its <s> token nearly the same vector for
every sentence (init std 0.02 keeps attention uniform and the value path ~1 % of the residual), so
frozen-backbone methods - adapters, Compacter, ScaLearn, AdapterFusion - learn nothing on it. Real
adapters sit on a *pretrained* backbone; this gives the tiny one the equivalent: a few hundred
steps of masked language modelling plus predicting each sentence's topic and polarity from <s>
(coarse world knowledge, as a pretrained LM has), deterministic from ``BACKBONE_SEED``.

Pretraining runs on one CPU thread whatever the caller's thread count, so the weights are a
function of the recipe, the torch build and the CPU's floating point. They become a Hugging Face
checkpoint folder (``checkpoint()``: config.json, model.safetensors, tokenizer.json,
tokenizer_config.json), built once per machine under ``$SCALEARN_CACHE/backbones``. A run stores
that folder in its artifact store once, before any trial (``orchestrator.store.backbones``), and
every trial of every run on that store trains on the stored copy, verified by its digest: a
cluster's machines never each pretrain their own.

The config (``backbone_configs/tiny-roberta.json``) keeps max_position_embeddings 514 as in the
real models: RoBERTa offsets positions by pad_token_id + 1, so 514 covers any max_length up to
512 and costs the tiny model next to nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

from trainables.backbone_ref import CONFIG_FILE, TINY, config_dict, parse

RECIPE = "mlm+factors-v1"  # part of the cache key: change it whenever the recipe changes
CHECKPOINT_FORMAT = "ckpt-v1"  # part of the folder's key: change it when its files change
STEPS = 300
BATCH = 64
LR = 3e-3
WARMUP = 30
MASK_PROB = 0.15
FACTORS = {"topic": 4, "polarity": 2}
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"

__all__ = ["TINY", "checkpoint", "pretrained_tiny_state", "tiny_config", "write_checkpoint"]


def tiny_config(vocab_size: int):
    """The tiny RoBERTa's config for a tokenizer of ``vocab_size`` tokens."""
    import transformers

    fields = config_dict(parse(TINY))
    fields.pop("architectures", None)
    return transformers.AutoConfig.for_model(
        fields.pop("model_type"), vocab_size=vocab_size, **fields
    )


def checkpoint(seed: int = 0) -> str:
    """The tiny backbone's checkpoint folder on this machine, built on first use."""
    from trainables.tokenizer import cache_dir, load_tokenizer

    tokenizer = load_tokenizer(TINY)
    key = f"{tokenizer.name_or_path}-{len(tokenizer)}-{RECIPE}-s{seed}-{CHECKPOINT_FORMAT}"
    # a plain name: transformers warns about folder names that are not Python identifiers
    folder = Path(cache_dir()) / "backbones" / f"tiny_roberta_{_short_hash(key)}"
    if not (folder / CONFIG_FILE).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        with open(str(folder) + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / CONFIG_FILE).is_file():
                tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
                try:
                    write_checkpoint(tmp, tokenizer, pretrained_tiny_state(tokenizer, seed))
                    os.chmod(tmp, 0o755)
                    os.replace(tmp, folder)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    return str(folder)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_checkpoint(folder: str | os.PathLike, tokenizer, state: dict[str, torch.Tensor]) -> None:
    """A Hugging Face checkpoint of the tiny backbone in ``folder``: the same bytes for the same
    tokenizer and weights (no version strings, sorted keys)."""
    from safetensors.torch import save_file

    from trainables.tokenizer import TRAINED_TOKENIZER_SETTINGS, trained_tokenizer_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {**config_dict(parse(TINY)), "vocab_size": len(tokenizer)}
    config.pop("architectures", None)  # no head of its own: nodes add their tasks' heads
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    tensors = {k: v.detach().contiguous().cpu() for k, v in sorted(state.items())}
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    shutil.copyfile(trained_tokenizer_file(tokenizer), folder / TOKENIZER_FILE)
    settings = {"tokenizer_class": "PreTrainedTokenizerFast", **TRAINED_TOKENIZER_SETTINGS}
    (folder / TOKENIZER_CONFIG_FILE).write_text(
        json.dumps(settings, indent=2, sort_keys=True) + "\n"
    )
    for path in folder.iterdir():
        os.chmod(path, 0o644)


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
