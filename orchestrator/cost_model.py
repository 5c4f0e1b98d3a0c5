"""The cost model: how long a node trains, in seconds on one reference GPU.

Work is proportional to training examples x epochs x a per-method factor (the catalogue's
``cost_factor``), scaled by the backbone's compute and the sequence length. Every other constant
of the model lives here, so a researcher who measured their own cluster edits one place. The
figures are estimates for planning (how many GPUs to ask for, what to run first), not predictions
to the minute.
"""

from __future__ import annotations

from orchestrator.contract.methods import METHODS, Kind
from trainables.tasks.registry import get_task

# Examples per second that one reference GPU (an A100-class card) trains with full fine-tuning of
# roberta-base at sequence length 128 (forward + backward).
REFERENCE_EXAMPLES_PER_SECOND = 400.0

# Compute of a backbone relative to roberta-base.
BACKBONE_FACTOR = {
    "roberta-base": 1.0,
    "roberta-large": 3.5,
    "xlm-roberta-base": 1.05,
    "xlm-roberta-large": 3.6,
    "tiny-roberta": 0.002,
}

# Fixed seconds per trial: process start, model build, data loading, evaluation, commit.
TRIAL_OVERHEAD_S = 30.0
TINY_TRIAL_OVERHEAD_S = 3.0

# Dev plus test evaluation per epoch, as a fraction of a training epoch's work per example.
EVAL_FACTOR = 1.0 / 3.0


def backbone_factor(backbone: str) -> float:
    """Compute of ``backbone`` relative to roberta-base; unknown names count as roberta-base."""
    return BACKBONE_FACTOR.get(backbone.removeprefix("random:"), 1.0)


def node_cost(method: str, backbone: str, tasks: list[str], hparams: dict) -> float:
    """Estimated seconds one node trains on one reference GPU."""
    joint = METHODS[method].kind == Kind.JOINT
    length = hparams["max_length"] or _mean_length(tasks, hparams, joint)
    per_example = METHODS[method].cost_factor * backbone_factor(backbone) * length / 128
    per_example /= REFERENCE_EXAMPLES_PER_SECOND
    if hparams.get("max_steps"):
        train_examples = hparams["max_steps"] * hparams["batch_size"]
        evals = hparams["max_steps"] / (hparams.get("eval_every") or hparams["max_steps"])
        eval_examples = evals * sum(_eval_rows(t) for t in tasks)
    else:
        rows = sum(_train_rows(t, hparams, joint) for t in tasks)
        train_examples = rows * hparams["epochs"]
        eval_examples = hparams["epochs"] * sum(_eval_rows(t) for t in tasks)
    work = (train_examples + eval_examples * EVAL_FACTOR) * per_example
    overhead = TINY_TRIAL_OVERHEAD_S if backbone == "tiny-roberta" else TRIAL_OVERHEAD_S
    return work + overhead


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
