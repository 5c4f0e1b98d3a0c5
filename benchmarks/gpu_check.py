"""A short GPU check of ProPETL, ProPETL-m, HyperFormer and HyperFormer++: bf16 training steps.

    python benchmarks/gpu_check.py --json
    python benchmarks/gpu_check.py --steps 5 --batch-size 32 --length 128

On a randomly initialised RoBERTa-base (the real compute; nothing is downloaded), each method
trains a few steps with the loop's own step (``trainables.loop.Trainer``: bf16 autocast,
clipping, AdamW, the method's optimizer groups) and the paper's hyperparameters from its
catalogue entry: ProPETL on one 2-label task, the joint ones on GLUE's 8 tasks, each step on the
next task's head. It checks that every loss, gradient and updated parameter stays finite (no NaN
or inf under bf16), that ProPETL's masks are still binary at the threshold after the steps and
that the payload saves from the GPU, and reports the median step time and the GPU allocator's
peak memory per method, with a stage-one adapter's step as the baseline measured in the same run.

Needs CUDA: without it, it says so and exits with status 2. Prints one JSON object (``--json``)
or a short table; exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BACKBONE = "random:roberta-base"
TASKS = ("mnli", "qqp", "qnli", "sst2", "stsb", "mrpc", "rte", "cola")  # GLUE
METHODS = ("adapter", "propetl", "propetl_m", "hyperformer", "hyperformer_pp")  # adapter: baseline


def build(method: str):
    """The node model of ``method`` with its catalogue defaults (heads: 2 labels each)."""
    from orchestrator.contract.methods import get_method
    from trainables.models import CLASSIFICATION, HeadSpec, NodeModel, method_kind

    tasks = TASKS if method_kind(method) == "joint" else TASKS[:1]
    heads = [HeadSpec(t, CLASSIFICATION, 2) for t in tasks]
    return NodeModel.build(BACKBONE, method, heads, dict(get_method(method).defaults), 0)


def check(method: str, batch: dict, steps: int, device) -> dict:
    """Train ``steps`` bf16 steps of ``method``; finiteness, masks, time and peak memory."""
    import torch

    from trainables.loop import LoopSettings, Trainer
    from trainables.prototype import MaskedLinear, kept_count

    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model = build(method)
    settings = LoopSettings.from_hparams(model.hparams, seed=0)  # precision: bf16
    trainer = Trainer(model, settings, pad_id=1, device=device, total_steps=1000)
    model.train()
    on_device = {k: v.to(device) for k, v in batch.items()}
    tasks = [h.task for h in model.heads]
    problems, times, losses = [], [], []
    for k in range(steps):
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        loss = trainer.step(on_device, tasks[k % len(tasks)])  # autocast, clip, AdamW
        losses.append(float(loss))  # waits for the device
        times.append(time.perf_counter() - started)
        if not torch.isfinite(loss):
            problems.append(f"step {k}: loss {float(loss)}")
        # a NaN or inf gradient would have reached the parameters through clipping and AdamW
        if not all(bool(torch.isfinite(p).all()) for p in trainer.params):
            problems.append(f"step {k}: a non-finite parameter")
    # the payload and the row's summary from tensors on the GPU
    with tempfile.TemporaryDirectory() as out:
        model.save_artifact(out)
        model.transfer_summary()
    for module in (m for m in model.modules() if isinstance(m, MaskedLinear)):
        mask = module.mask().detach()
        if not bool(((mask == 0) | (mask == 1)).all()):
            problems.append("a ProPETL mask is not binary")
        if module.task_masks is None and int(mask.sum()) != kept_count(mask.numel(), module.keep):
            problems.append("a ProPETL mask keeps the wrong number of entries")
    return {
        "method": method,
        "steps": steps,
        "losses": losses,
        "median_step_s": statistics.median(times[1:] if len(times) > 1 else times),
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "trainable_params": sum(p.numel() for p in model.trainable_parameters()),
        "ok": not problems,
        "problems": problems,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    import torch

    if not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device here (torch.cuda.is_available() is False); run it on a "
            "machine with an NVIDIA GPU and a CUDA build of torch",
            file=sys.stderr,
        )
        return 2
    import logging

    from stage_two import make_batch  # the stage-two benchmark's random batches

    logging.getLogger("adapters").setLevel(logging.ERROR)
    batch = make_batch(args.batch_size, args.length)
    device = torch.device("cuda")
    rows = [check(m, batch, args.steps, device) for m in METHODS]
    base = rows[0]["median_step_s"]
    for r in rows:
        r["step_vs_adapter"] = r["median_step_s"] / base
    out = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "backbone": BACKBONE,
        "batch_size": args.batch_size,
        "length": args.length,
        "precision": "bf16",
        "methods": rows,
        "ok": all(r["ok"] for r in rows),
    }
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{out['gpu']}, torch {out['torch']}, batch {args.batch_size} x {args.length}, bf16")
        print(f"{'method':<16} {'ok':<4} {'step s':>8} {'x adapter':>10} {'peak GiB':>9}")
        for r in rows:
            print(
                f"{r['method']:<16} {'yes' if r['ok'] else 'NO':<4} {r['median_step_s']:>8.4f} "
                f"{r['step_vs_adapter']:>10.2f} {r['peak_memory_gib']:>9.2f}"
            )
            for problem in r["problems"]:
                print(f"  {problem}")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
