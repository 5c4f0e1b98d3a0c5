"""The cost of stage two: time and memory of one training step per method, same batch.

    python benchmarks/stage_two.py --json
    python benchmarks/stage_two.py --batch-size 16 --length 128 --steps 5

On a randomly initialised RoBERTa-base (the real compute) with 8 frozen ``seq_bn`` source
adapters: ScaLearn (the fused path over the sources, the default), ScaLearn through the
``adapters`` library's per-adapter modules (the path the fused one replaces), ScaLearnUniform++,
AdapterFusion, and a single stage-one adapter as the yardstick. Every method trains on the same
batch with the loop's own step (``trainables.loop.Trainer``: forward, backward, clipping, AdamW);
the methods step in turn, in lockstep, so that load from other processes slows them alike.

Peak memory of each step is measured in a fresh process per method: the GPU allocator's peak on a
GPU; on a CPU the peak resident set sampled during the step, less the resident set before it.

Goals: ScaLearn's step at most 1.25x a single adapter's; AdapterFusion's at least 1.5x ScaLearn's.
Prints one JSON object (``--json``) and a short summary on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BACKBONE = "random:roberta-base"
SOURCES = ("mnli", "qqp", "qnli", "sst2", "stsb", "mrpc", "rte", "cola")  # GLUE, 8 sources
TARGET = "rte"
# name -> (NodeModel method, fused ScaLearn path)
METHODS = {
    "adapter": ("adapter", True),
    "scalearn": ("scalearn", True),
    "scalearn_per_adapter": ("scalearn", False),
    "scalearn_uniform_pp": ("scalearn_uniform_pp", True),
    "adapter_fusion": ("adapter_fusion", True),
}
LR = {"adapter": 3e-4, "adapter_fusion": 5e-5}  # the paper's; ScaLearn variants 6e-3
GOAL_SCALEARN_OVER_ADAPTER = 1.25
GOAL_FUSION_OVER_SCALEARN = 1.5


def build(name: str):
    """The node model of ``name`` with fresh (frozen) sources for transfer methods."""
    from trainables.models import CLASSIFICATION, HeadSpec, NodeModel, method_kind

    method, fused = METHODS[name]
    sources = [(s, None) for s in SOURCES] if method_kind(method) == "transfer" else None
    node = NodeModel.build(
        BACKBONE, method, [HeadSpec(TARGET, CLASSIFICATION, 2)], {}, 0, sources=sources
    )
    node.use_fused_transfer(fused)
    return node


def make_batch(batch_size: int, length: int) -> dict:
    """Random token ids with a realistic spread of lengths (padding at the end of short rows)."""
    import torch

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 50000, (batch_size, length), generator=g)
    lengths = torch.randint(length // 3, length + 1, (batch_size,), generator=g)
    lengths[0] = length
    mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
    ids[mask == 0] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.arange(batch_size) % 2}


def trainer_for(name: str, device):
    """The loop's Trainer around a fresh model of ``name``."""
    from trainables.loop import LoopSettings, Trainer

    method = METHODS[name][0]
    settings = LoopSettings(lr=LR.get(method, 6e-3), seed=0)
    trainer = Trainer(build(name), settings, pad_id=1, device=device, total_steps=1000)
    trainer.model.train()
    return trainer


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(names: list[str], batch: dict, steps: int, warmup: int) -> dict[str, list[float]]:
    """Seconds of each timed step per method; methods take turns, the order alternating."""
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    trainers = {n: trainer_for(n, device) for n in names}
    on_device = {k: v.to(device) for k, v in batch.items()}
    times: dict[str, list[float]] = {n: [] for n in names}
    for k in range(warmup + steps):
        for name in names if k % 2 == 0 else names[::-1]:
            _sync(device)
            started = time.perf_counter()
            trainers[name].step(on_device, TARGET)
            _sync(device)
            if k >= warmup:
                times[name].append(time.perf_counter() - started)
    return times


class _RssPeak:
    """Samples this process's resident set in a thread; ``peak`` is the largest seen (bytes)."""

    def __init__(self, every_s: float = 0.002):
        self.every_s, self.peak = every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            self._stop.wait(self.every_s)

    def __enter__(self):
        self.peak = self.now()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def step_memory(name: str, batch: dict) -> dict:
    """Peak memory of one training step of ``name`` (run in a fresh process)."""
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    trainer = trainer_for(name, device)
    on_device = {k: v.to(device) for k, v in batch.items()}
    if device.type == "cuda":
        trainer.step(on_device, TARGET)  # optimizer state exists from the first step on
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        trainer.step(on_device, TARGET)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        return {"peak_mb": peak / 2**20, "step_mb": (peak - before) / 2**20, "kind": "cuda"}
    with _RssPeak() as rss:
        before = rss.peak
        trainer.step(on_device, TARGET)
    return {"peak_mb": rss.peak / 2**20, "step_mb": (rss.peak - before) / 2**20, "kind": "rss"}


def memory_in_subprocess(name: str, args) -> dict:
    """``step_memory`` of ``name`` in a fresh interpreter (allocators keep freed memory)."""
    cmd = [
        sys.executable,
        __file__,
        "--memory-of",
        name,
        "--batch-size",
        str(args.batch_size),
        "--length",
        str(args.length),
        "--threads",
        str(args.threads or os.cpu_count() or 1),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--methods", default=",".join(METHODS), help="of " + ", ".join(METHODS))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=64, help="padded length of the batch")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per method")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first steps")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (all cores)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory processes")
    parser.add_argument("--memory-of", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    batch = make_batch(args.batch_size, args.length)
    if args.memory_of:
        print(json.dumps(step_memory(args.memory_of, batch)))
        return 0

    names = args.methods.split(",")
    unknown = sorted(set(names) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    started = time.time()
    times = time_steps(names, batch, args.steps, args.warmup)
    memory = {} if args.no_memory else {n: memory_in_subprocess(n, args) for n in names}
    per_method = {}
    for name in names:
        per_method[name] = {
            "step_s": statistics.median(times[name]),
            "step_s_all": [round(t, 3) for t in times[name]],
            **({"memory": memory[name]} if name in memory else {}),
        }
    step = {n: per_method[n]["step_s"] for n in names}
    ratios, goals = {}, {}
    if {"scalearn", "adapter"} <= set(names):
        ratios["scalearn_over_adapter"] = step["scalearn"] / step["adapter"]
        goals["scalearn_over_adapter"] = {
            "goal": f"<= {GOAL_SCALEARN_OVER_ADAPTER}",
            "met": ratios["scalearn_over_adapter"] <= GOAL_SCALEARN_OVER_ADAPTER,
        }
    if {"scalearn", "adapter_fusion"} <= set(names):
        ratios["adapter_fusion_over_scalearn"] = step["adapter_fusion"] / step["scalearn"]
        goals["adapter_fusion_over_scalearn"] = {
            "goal": f">= {GOAL_FUSION_OVER_SCALEARN}",
            "met": ratios["adapter_fusion_over_scalearn"] >= GOAL_FUSION_OVER_SCALEARN,
        }
    if {"scalearn", "scalearn_per_adapter"} <= set(names):
        ratios["per_adapter_over_fused"] = step["scalearn_per_adapter"] / step["scalearn"]
    out = {
        "benchmark": "stage_two",
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        "backbone": BACKBONE,
        "sources": len(SOURCES),
        "batch": {"batch_size": args.batch_size, "length": args.length},
        "steps": args.steps,
        "warmup_steps": args.warmup,
        "methods": per_method,
        "ratios": ratios,
        "goals": goals,
        "wall_s": round(time.time() - started, 1),
    }
    if args.json:
        print(json.dumps(out, indent=1))
    lines = [
        f"stage two, {out['device']} x{out['threads']} threads, {len(SOURCES)} sources, "
        f"batch {args.batch_size} x {args.length}, median of {args.steps} steps"
    ]
    for name in names:
        mem = per_method[name].get("memory")
        shown = f", peak {mem['peak_mb']:.0f} MB (step +{mem['step_mb']:.0f} MB)" if mem else ""
        lines.append(f"  {name:<22} {step[name]:7.3f} s/step{shown}")
    for key, value in ratios.items():
        goal = goals.get(key)
        verdict = f" (goal {goal['goal']}: {'met' if goal['met'] else 'NOT met'})" if goal else ""
        lines.append(f"  {key:<30} {value:.2f}{verdict}")
    print("\n".join(lines), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
