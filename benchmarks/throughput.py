"""Stage-one training throughput: the project's loop against the reference setup, same machine.

    python benchmarks/throughput.py --json                 # RTE and SST-2, 6 steps each
    python benchmarks/throughput.py --steps 3 --arms baseline,dynamic,grouped,ours

Trains a ``seq_bn`` adapter (stage one) on a randomly initialised RoBERTa-base (the real compute)
on the real GLUE RTE and SST-2 files in ``../shared/data``, a fixed number of steps per task,
with the loop's own batch plan and training step (``trainables.loop``) in each setup ("arm"),
the arms stepping in lockstep so that load from other processes slows them alike:

- ``baseline``: the reference scripts' setup: every batch padded to 128 tokens, random batches,
  eager attention, fp32 on CPU (fp16 autocast with loss scaling on a GPU).
- ``ours``: the project's defaults: batches padded to their longest sequence and grouped by length
  (random groups in random order), SDPA attention, fp32 on CPU (bf16 autocast on a GPU).
- ``dynamic`` and ``grouped`` (optional, for attribution): the baseline plus dynamic padding, then
  plus length grouping, both with eager attention.

Prints one JSON object (``--json``) with examples per second per arm and task, the ratio of ours
to the baseline (goal: at least 2.0), and the dev accuracy of each short run (goal: ours not
worse; its chance difference, as a standard error, is printed beside it: a few steps on a random
backbone stay near chance); a short summary goes to stderr. Tokenisation is done once and
outside the timed steps, as in both setups; the first step of each arm (``--warmup``) trains but
is not timed. The tokenizer is a byte-level BPE trained on the two tasks' text (no hub access).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "glue"

BACKBONE = "random:roberta-base"
VOCAB_SIZE = 50265  # roberta-base's embedding size
MAX_LENGTH = 128
LR = 3e-4  # the paper's stage-one adapter learning rate
GOAL_RATIO = 2.0


@dataclass(frozen=True)
class Arm:
    """One training setup."""

    pad_to: int | None
    group_by_length: bool
    attention: str  # "eager" | "sdpa"
    precision: str  # GPU autocast: "fp16" (reference) | "bf16"


ARMS = {
    "baseline": Arm(MAX_LENGTH, False, "eager", "fp16"),
    "dynamic": Arm(None, False, "eager", "fp16"),
    "grouped": Arm(None, True, "eager", "fp16"),
    "ours": Arm(None, True, "sdpa", "bf16"),
}

# task -> (folder, first text column, second text column or None, label -> id)
TASKS = {
    "rte": ("rte", "sentence1", "sentence2", {"entailment": 0, "not_entailment": 1}),
    "sst2": ("sst-2", "sentence", None, {"0": 0, "1": 1}),
}


def read_tsv(task: str, split: str) -> list[dict]:
    """Examples ``{"text_a", "text_b", "label"}`` of a GLUE TSV file (no quoting in GLUE)."""
    folder, first, second, labels = TASKS[task]
    with open(DATA / folder / f"{split}.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        {
            "text_a": r[first].strip(),
            "text_b": r[second].strip() if second else None,
            "label": labels[r["label"].strip()],
        }
        for r in rows
    ]


def subset(split, indices: list[int]):
    """The examples ``indices`` of an EncodedSplit."""
    from trainables.encode import EncodedSplit

    return EncodedSplit(
        split.task,
        split.problem_type,
        [split.input_ids[i] for i in indices],
        [split.labels[i] for i in indices],
        [split.lengths[i] for i in indices],
    )


@contextlib.contextmanager
def attention(implementation: str):
    """Backbones built inside use ``implementation`` (``trainables.backbones`` has no argument
    for it; the default there is SDPA)."""
    from trainables import backbones

    original = backbones.backbone_config

    def config(name, vocab_size=None):
        cfg = original(name, vocab_size)
        cfg._attn_implementation = implementation
        return cfg

    backbones.backbone_config = config
    try:
        yield
    finally:
        backbones.backbone_config = original


def prepare_data(tasks: list[str], dev_limit: int) -> tuple[dict, int]:
    """Encoded (train, dev) per task and the pad id; the tokenizer is trained on all train text."""
    import random

    from trainables.encode import encode_examples
    from trainables.tokenizer import load_tokenizer

    raw = {t: (read_tsv(t, "train"), read_tsv(t, "dev")) for t in tasks}
    corpus = [
        text
        for train, _ in raw.values()
        for ex in train
        for text in (ex["text_a"], ex["text_b"])
        if text
    ]
    tokenizer = load_tokenizer(BACKBONE, corpus=corpus, vocab_size=VOCAB_SIZE)
    out = {}
    for task, (train, dev) in raw.items():
        train_split = encode_examples(task, train, tokenizer, MAX_LENGTH)
        dev_split = encode_examples(task, dev, tokenizer, MAX_LENGTH)
        pick = sorted(random.Random(0).sample(range(len(dev_split)), min(dev_limit, len(dev))))
        out[task] = (train_split, subset(dev_split, pick))
    return out, tokenizer.pad_token_id


def build_model(arm: Arm, task: str):
    """A stage-one adapter node on the random RoBERTa-base with ``arm``'s attention."""
    from trainables.models import CLASSIFICATION, HeadSpec, NodeModel

    with attention(arm.attention):
        return NodeModel.build(
            BACKBONE, "adapter", [HeadSpec(task, CLASSIFICATION, 2)], {"reduction_factor": 16}, 0
        )


def run_task(
    arms: list[str], task: str, train, dev, pad_id: int, steps: int, warmup: int, batch_size: int
) -> dict:
    """Trains every arm ``warmup + steps`` steps, in lockstep so that a noisy machine slows all
    arms alike; times the last ``steps`` and evaluates on dev."""
    import torch

    from trainables.loop import LoopSettings, LoopState, RoundPlan, TaskData, Trainer, evaluate

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    total = warmup + steps
    runs = {}
    for name in arms:
        arm = ARMS[name]
        settings = LoopSettings(
            lr=LR,
            batch_size=batch_size,
            max_steps=total,
            eval_every=total,
            patience=None,
            group_by_length=arm.group_by_length,
            pad_to=arm.pad_to,
            precision=arm.precision,
            seed=0,
        )
        # the loop's own batch plan and step: the same code a trial runs
        plan = RoundPlan([TaskData(task, train, dev, dev)], settings)
        batches = plan.steps(LoopState(drawn={task: 0}))
        trainer = Trainer(build_model(arm, task), settings, pad_id, device, total)
        trainer.model.train()
        runs[name] = {"trainer": trainer, "batches": batches, "s": 0.0, "n": 0, "tokens": 0}
    for k in range(total):
        # alternate the order each step, so neither arm always runs right after the other
        for name in arms if k % 2 == 0 else arms[::-1]:
            r = runs[name]
            indices = r["batches"][k][1]
            started = time.perf_counter()
            batch = r["trainer"].batch(train, indices)
            float(r["trainer"].step(batch, task))  # float() waits for the device
            if k >= warmup:
                r["s"] += time.perf_counter() - started
                r["n"] += len(indices)
                r["tokens"] += batch["input_ids"].numel()
    out = {}
    for name, r in runs.items():
        trainer = r["trainer"]
        dev_metrics = evaluate(
            trainer.model, task, dev, pad_id, 2 * batch_size, device, ARMS[name].precision
        )
        out[name] = {
            "examples": r["n"],
            "train_s": round(r["s"], 3),
            "examples_per_s": r["n"] / r["s"],
            "tokens_per_example": r["tokens"] / r["n"],
            "dev_accuracy": dev_metrics["accuracy"],
            "dev_loss": dev_metrics["loss"],
        }
        del trainer.model
    return out


def dev_difference_se(accuracies: list[float], sizes: list[int]) -> float:
    """Standard error (points) of the difference of two arms' mean dev accuracy over tasks.

    Two short runs on a random backbone differ by chance: this says how much (binomial noise
    of each task's dev accuracy, both arms alike).
    """
    var = sum((a / 100) * (1 - a / 100) / n for a, n in zip(accuracies, sizes, strict=True))
    return 100 * math.sqrt(2 * var) / len(sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--tasks", default="rte,sst2")
    parser.add_argument("--arms", default="baseline,ours", help=f"of {', '.join(ARMS)}")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per task and arm")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first steps (they train)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dev-limit", type=int, default=256, help="dev examples per task")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (all cores)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    tasks, arms = args.tasks.split(","), args.arms.split(",")
    if "baseline" not in arms or "ours" not in arms:
        parser.error("--arms must include baseline and ours")
    started = time.time()
    data, pad_id = prepare_data(tasks, args.dev_limit)
    dev_sizes = [len(data[t][1]) for t in tasks]
    per_task: dict[str, dict] = {}
    for task in tasks:
        train, dev = data[task]
        per_task[task] = run_task(
            arms, task, train, dev, pad_id, args.steps, args.warmup, args.batch_size
        )
        per_task[task]["ratio"] = (
            per_task[task]["ours"]["examples_per_s"] / per_task[task]["baseline"]["examples_per_s"]
        )

    def overall(arm: str) -> float:
        return sum(per_task[t][arm]["examples"] for t in tasks) / sum(
            per_task[t][arm]["train_s"] for t in tasks
        )

    def mean_dev(arm: str) -> float:
        return sum(per_task[t][arm]["dev_accuracy"] for t in tasks) / len(tasks)

    ratio = overall("ours") / overall("baseline")
    difference = mean_dev("ours") - mean_dev("baseline")
    noise = dev_difference_se([per_task[t]["baseline"]["dev_accuracy"] for t in tasks], dev_sizes)
    out = {
        "benchmark": "throughput",
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        "backbone": BACKBONE,
        "method": "adapter",
        "steps_per_task": args.steps,
        "warmup_steps": args.warmup,
        "batch_size": args.batch_size,
        "dev_examples_per_task": args.dev_limit,
        "arms": {a: vars(ARMS[a]) for a in arms},
        "tasks": per_task,
        "examples_per_s": {a: overall(a) for a in arms},
        "ratio": ratio,
        "goal_ratio": GOAL_RATIO,
        "ratio_met": ratio >= GOAL_RATIO,
        "dev_accuracy_mean": {a: mean_dev(a) for a in arms},
        "dev_difference": difference,
        "dev_difference_se": noise,
        "dev_not_worse": difference >= 0,
        "dev_within_noise": difference >= -noise,
        "wall_s": round(time.time() - started, 1),
    }
    if args.json:
        print(json.dumps(out, indent=1))
    lines = [f"throughput, {out['device']} x{out['threads']} threads, {args.steps} steps per task"]
    for task in tasks:
        row = per_task[task]
        cells = ", ".join(
            f"{a} {row[a]['examples_per_s']:.2f} ex/s ({row[a]['tokens_per_example']:.0f} tok/ex,"
            f" dev acc {row[a]['dev_accuracy']:.1f})"
            for a in arms
        )
        lines.append(f"  {task}: {cells}; ratio {row['ratio']:.2f}")
    lines.append(
        f"  overall: ours {overall('ours'):.2f} ex/s vs baseline {overall('baseline'):.2f} ex/s"
        f" = {ratio:.2f}x (goal {GOAL_RATIO}: {'met' if out['ratio_met'] else 'NOT met'});"
        f" dev acc {mean_dev('ours'):.1f} vs {mean_dev('baseline'):.1f}"
        f" ({'not worse' if out['dev_not_worse'] else 'lower'}; difference {difference:+.1f},"
        f" standard error {noise:.1f})"
    )
    print("\n".join(lines), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
