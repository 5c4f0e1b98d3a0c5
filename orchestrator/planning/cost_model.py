"""The cost model: how long a node trains, in seconds on one reference GPU.

Work is proportional to training examples x epochs x a per-method factor (the catalogue's
``cost_factor``), scaled by the backbone's compute per example: layers, hidden and feed-forward
sizes (read from its config) and the sequence length. Every other constant of the model lives
here, so a researcher who measured their own cluster edits one place. The figures are estimates
for planning (how many GPUs to ask for, what to run first), not predictions to the minute.
"""

from __future__ import annotations

from orchestrator.contract.methods import METHODS, Arch, Kind
from trainables.tasks.registry import get_task

# Examples per second that one reference GPU (an A100-class card) trains with full fine-tuning of
# roberta-base at sequence length 128 (forward + backward).
REFERENCE_EXAMPLES_PER_SECOND = 400.0
REFERENCE_LENGTH = 128
# roberta-base: the backbone the reference speed was measured on.
REFERENCE_ARCH = Arch(
    layers=12, hidden=768, intermediate=3072, vocab=50265, positions=514, type_vocab=1
)

# Fixed seconds per trial: process start, model build, data loading, evaluation, commit; a small
# model (compute under SMALL_MODEL_FACTOR of the reference) loads and evaluates in far less.
TRIAL_OVERHEAD_S = 30.0
TINY_TRIAL_OVERHEAD_S = 3.0
SMALL_MODEL_FACTOR = 0.01

# Dev plus test evaluation per epoch, as a fraction of a training epoch's work per example.
EVAL_FACTOR = 1.0 / 3.0


def _example_flops(arch: Arch, length: int) -> float:
    """Multiply-adds of one example through the encoder: per layer and token the attention
    projections (4 h^2), the feed-forward block (2 h i) and the attention itself (2 L h)."""
    h, i = arch.hidden, arch.intermediate
    return arch.layers * length * (4 * h * h + 2 * h * i + 2 * length * h)


def backbone_factor(arch: Arch | None, length: int = REFERENCE_LENGTH) -> float:
    """Compute of one example of ``length`` tokens on a backbone of ``arch``, relative to
    roberta-base at 128 tokens; an unknown architecture (a hub id not in the local cache) counts
    as roberta-base."""
    arch = arch or REFERENCE_ARCH
    return _example_flops(arch, length) / _example_flops(REFERENCE_ARCH, REFERENCE_LENGTH)


def node_cost(method: str, arch: Arch | None, tasks: list[str], hparams: dict) -> float:
    """Estimated seconds one node trains on one reference GPU, on a backbone of ``arch``."""
    joint = METHODS[method].kind == Kind.JOINT
    length = hparams["max_length"] or _mean_length(tasks, hparams, joint)
    factor = backbone_factor(arch, length)
    per_example = METHODS[method].cost_factor * factor / REFERENCE_EXAMPLES_PER_SECOND
    if hparams.get("max_steps"):
        train_examples = hparams["max_steps"] * hparams["batch_size"]
        evals = hparams["max_steps"] / (hparams.get("eval_every") or hparams["max_steps"])
        eval_examples = evals * sum(_eval_rows(t) for t in tasks)
    else:
        rows = sum(_train_rows(t, hparams, joint) for t in tasks)
        train_examples = rows * hparams["epochs"]
        eval_examples = hparams["epochs"] * sum(_eval_rows(t) for t in tasks)
    work = (train_examples + eval_examples * EVAL_FACTOR) * per_example
    small = backbone_factor(arch) < SMALL_MODEL_FACTOR
    return work + (TINY_TRIAL_OVERHEAD_S if small else TRIAL_OVERHEAD_S)


def _train_rows(task: str, hparams: dict, joint: bool = False) -> int:
    spec = get_task(task)
    rows = int(spec.train_size * 0.9)
    if joint and spec.joint_rows:
        rows = min(rows, spec.joint_rows)
    limit = hparams.get("train_limit")
    return min(rows, limit) if limit else rows


def _mean_length(tasks: list[str], hparams: dict, joint: bool) -> float:
    """A joint node's tokens per example when each task keeps its own length: the mean of the
    lengths, weighed by the rows each task is drawn from."""
    rows = {t: max(_train_rows(t, hparams, joint), 1) for t in tasks}
    return sum(get_task(t).max_length * n for t, n in rows.items()) / sum(rows.values())


def _eval_rows(task: str) -> int:
    spec = get_task(task)
    return int(spec.train_size * 0.1) + spec.test_size
