"""The train/eval loop shared by every node kind.

Training runs in *rounds*; each round ends with a dev evaluation, a selection step and a report.
A round is one epoch (all train batches of every task, in a seeded random order) or, when
``max_steps`` is set, ``eval_every`` steps whose task is drawn in proportion to task size.
The best round's trainable state is kept and restored for the test evaluation.

Determinism: batches are a pure function of (seed, task, pass); dropout draws from torch's RNG,
seeded once and saved in every checkpoint, so a resumed run ends exactly where an uninterrupted
one does.

Speed: batches are padded to their longest sequence and grouped by length (random groups in a
random order), evaluation runs on length-sorted batches, and GPUs train under bf16 autocast.
``pad_to``, ``group_by_length=False`` and ``precision="fp16"`` give the reference scripts' setup
(``benchmarks/throughput.py`` compares the two).
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from orchestrator.contract.hparams import HParams
from trainables.encode import EncodedSplit, collate, eval_batches, pass_batches
from trainables.tasks.grouped import postprocess
from trainables.tasks.metrics import score
from trainables.tasks.registry import MULTILABEL, REGRESSION, selection_value

Report = Callable[[dict, "str | None"], None]
PRECISIONS = ("bf16", "fp16", "fp32")
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
MODEL_FILE, BEST_FILE, TRAINER_FILE, STATE_FILE = (
    "model.safetensors",
    "best.safetensors",
    "trainer.pt",
    "state.json",
)


_D = HParams()  # the defaults are the hyperparameters' own: one definition


@dataclass
class LoopSettings:
    """What the loop reads from a node's hyperparameters (``HParams`` documents each)."""

    lr: float = _D.lr
    epochs: int = _D.epochs
    batch_size: int = _D.batch_size
    warmup_ratio: float = _D.warmup_ratio
    weight_decay: float = _D.weight_decay
    patience: int | None = _D.patience  # rounds without improvement before stopping; None: never
    select: str = _D.select  # "loss" (lower dev loss) or "score" (higher dev score)
    max_steps: int | None = _D.max_steps  # step budget; rounds are then eval_every steps
    eval_every: int | None = _D.eval_every  # steps per round with max_steps (default: an epoch)
    max_grad_norm: float | None = _D.max_grad_norm  # as the reference code's Trainer
    group_by_length: bool = _D.group_by_length  # batches of similar length: less padding
    eval_batch_size: int | None = _D.eval_batch_size
    pad_to: int | None = None  # pad every batch to this length (reference setup); None: dynamic
    precision: str = _D.precision  # GPU autocast: bf16, fp16 (with loss scaling) or fp32
    seed: int = 0

    @classmethod
    def from_hparams(cls, hparams: HParams, seed: int) -> LoopSettings:
        """The loop's settings from a node's hyperparameters (the rest are the model's)."""
        if hparams.select not in ("loss", "score"):
            raise ValueError(f"hparams.select must be 'loss' or 'score', not {hparams.select!r}")
        if hparams.precision not in PRECISIONS:
            raise ValueError(
                f"hparams.precision must be one of {PRECISIONS}, not {hparams.precision!r}"
            )
        return cls(
            lr=hparams.lr,
            epochs=hparams.epochs,
            batch_size=hparams.batch_size,
            warmup_ratio=hparams.warmup_ratio,
            weight_decay=hparams.weight_decay,
            patience=hparams.patience,
            select=hparams.select,
            max_steps=hparams.max_steps,
            eval_every=hparams.eval_every,
            max_grad_norm=hparams.max_grad_norm,
            group_by_length=hparams.group_by_length,
            eval_batch_size=hparams.eval_batch_size,
            pad_to=hparams.max_length if hparams.padding == "max_length" else None,
            precision=hparams.precision,
            seed=seed,
        )


@dataclass
class TaskData:
    """One task's encoded splits."""

    name: str
    train: EncodedSplit
    dev: EncodedSplit
    test: EncodedSplit
    # MultiRC / ReCoRD: per-example question groups, scored per question (tasks.grouped)
    dev_meta: list | None = None
    test_meta: list | None = None
    # pad this task's training batches to this length (padding: max_length); None: the settings'
    pad_to: int | None = None
    # draw training batches from the first this many rows only, and weigh the task by it in
    # step mode (joint ReCoRD: 100,730, as the official --downsample_last_dataset); None: all
    train_rows: int | None = None

    @property
    def train_size(self) -> int:
        """The train rows batches are drawn from."""
        n = len(self.train)
        return n if self.train_rows is None else min(n, self.train_rows)


@dataclass
class LoopState:
    """Everything besides model/optimizer tensors that a resumed run needs (JSON)."""

    rounds_done: int = 0
    step: int = 0
    drawn: dict[str, int] = field(default_factory=dict)  # step mode: batches taken per task
    best_round: int | None = None
    best_value: float | None = None
    best_dev: dict[str, dict] = field(default_factory=dict)
    bad_rounds: int = 0
    stopped: bool = False
    history: list[dict] = field(default_factory=list)


@dataclass
class LoopResult:
    """Test and best-round dev metrics per task, and how the run went."""

    test: dict[str, dict]
    dev: dict[str, dict]
    best_epoch: int
    epochs_run: int
    history: list[dict]
    # training throughput of this process (rounds resumed from a checkpoint are not counted);
    # kept out of ``history`` so that equal runs have equal histories
    train_s: float = 0.0
    train_examples: int = 0
    train_tokens: int = 0  # padded tokens fed to the model


@dataclass
class _Throughput:
    seconds: float = 0.0
    examples: int = 0
    tokens: int = 0


def run(
    model,
    tasks: list[TaskData],
    settings: LoopSettings,
    pad_id: int,
    report: Report | None = None,
    resume_from: str | None = None,
) -> LoopResult:
    """Train ``model`` on ``tasks``, keep the best round, evaluate it on every task's test split."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    plan = RoundPlan(tasks, settings)
    trainer = Trainer(model, settings, pad_id, device, plan.total_steps)
    optimizer, scheduler, scaler = trainer.optimizer, trainer.scheduler, trainer.scaler
    state, best = LoopState(drawn={t.name: 0 for t in tasks}), None
    torch.manual_seed(settings.seed)
    if resume_from is not None:
        state, best = _load_checkpoint(resume_from, model, optimizer, scheduler, scaler)
    speed = _Throughput()

    while not state.stopped and state.rounds_done < plan.rounds:
        train_loss = trainer.round(plan, state, speed)
        dev = {
            t.name: evaluate(
                model,
                t.name,
                t.dev,
                pad_id,
                _eval_bs(settings),
                device,
                settings.precision,
                t.dev_meta,
            )
            for t in tasks
        }
        value = round_value(dev, settings.select)
        if _improves(value, state.best_value, settings.select):
            best = {k: v.detach().to("cpu", copy=True) for k, v in model.checkpoint_state().items()}
            state.best_round, state.best_value, state.best_dev = state.rounds_done, value, dev
            state.bad_rounds = 0
        else:
            state.bad_rounds += 1
        state.rounds_done += 1
        if settings.patience is not None and state.bad_rounds >= settings.patience:
            state.stopped = True
        metrics = _round_metrics(state, train_loss, dev, scheduler)
        state.history.append(metrics)
        if report is not None:
            _report_with_checkpoint(
                report, metrics, model, optimizer, scheduler, scaler, state, best
            )

    if best is not None:
        model.load_checkpoint_state({k: v.to(device) for k, v in best.items()})
    test = {
        t.name: evaluate(
            model,
            t.name,
            t.test,
            pad_id,
            _eval_bs(settings),
            device,
            settings.precision,
            t.test_meta,
        )
        for t in tasks
    }
    return LoopResult(
        test=test,
        dev=state.best_dev,
        best_epoch=(state.best_round or 0) + 1,
        epochs_run=state.rounds_done,
        history=state.history,
        train_s=speed.seconds,
        train_examples=speed.examples,
        train_tokens=speed.tokens,
    )


class RoundPlan:
    """Which batches each round trains on; a pure function of the settings and loop state."""

    def __init__(self, tasks: list[TaskData], settings: LoopSettings):
        self.tasks = {t.name: t for t in tasks}
        self.settings = settings
        self._passes: dict[str, tuple[int, list[list[int]]]] = {}
        bs = settings.batch_size
        self.batches_per_pass = {t.name: math.ceil(t.train_size / bs) for t in tasks}
        epoch_steps = sum(self.batches_per_pass.values())
        if epoch_steps == 0:
            raise ValueError("no training examples")
        if settings.max_steps:
            self.round_steps = settings.eval_every or epoch_steps
            self.rounds = math.ceil(settings.max_steps / self.round_steps)
            self.total_steps = settings.max_steps
        else:
            self.round_steps = epoch_steps
            self.rounds = settings.epochs
            self.total_steps = epoch_steps * settings.epochs

    def steps(self, state: LoopState) -> list[tuple[str, list[int]]]:
        """(task, example indices) of each step of the next round; advances ``state.drawn``."""
        s, r = self.settings, state.rounds_done
        if not s.max_steps:
            # epoch mode: every task's pass r, batches of all tasks interleaved at random
            steps = [
                (name, b)
                for name, t in self.tasks.items()
                for b in pass_batches(
                    t.train, s.batch_size, s.seed, r, True, s.group_by_length, t.train_rows
                )
            ]
            if len(self.tasks) > 1:
                random.Random(f"{s.seed}:round:{r}").shuffle(steps)
            return steps
        # step mode: tasks drawn in proportion to their (capped) size (temperature 1)
        names = list(self.tasks)
        weights = [self.tasks[n].train_size for n in names]
        count = min(self.round_steps, s.max_steps - state.step)
        drawn = random.Random(f"{s.seed}:round:{r}").choices(names, weights=weights, k=count)
        steps = []
        for name in drawn:
            k = state.drawn[name]
            state.drawn[name] = k + 1
            per_pass = self.batches_per_pass[name]
            batches = self._pass(name, k // per_pass)
            steps.append((name, batches[k % per_pass]))
        return steps

    def _pass(self, name: str, index: int) -> list[list[int]]:
        # one pass serves many consecutive steps; keep only the latest per task
        if self._passes.get(name, (None,))[0] != index:
            s, t = self.settings, self.tasks[name]
            self._passes[name] = (
                index,
                pass_batches(
                    t.train, s.batch_size, s.seed, index, True, s.group_by_length, t.train_rows
                ),
            )
        return self._passes[name][1]


class Trainer:
    """Optimizer, schedule and one step at a time: autocast, loss scaling (fp16), clipping.

    ``run`` drives it round by round; a benchmark may drive it step by step.
    """

    def __init__(
        self, model, settings: LoopSettings, pad_id: int, device: torch.device, total_steps: int
    ):
        model.to(device)
        self.model, self.settings, self.pad_id, self.device = model, settings, pad_id, device
        self.params = model.trainable_parameters()
        groups = getattr(model, "optimizer_groups", None)
        if groups is None:
            self.optimizer = torch.optim.AdamW(
                self.params, lr=settings.lr, weight_decay=settings.weight_decay
            )
        else:
            # a method may train some parameters at their own rate (e.g. mask scores)
            self.optimizer = torch.optim.AdamW(
                groups(settings.lr, settings.weight_decay),
                lr=settings.lr,
                weight_decay=settings.weight_decay,
            )
        self.scheduler = _linear_schedule(self.optimizer, total_steps, settings.warmup_ratio)
        self.scaler = _grad_scaler(device, settings.precision)  # None unless fp16 on a GPU

    def batch(
        self, split: EncodedSplit, indices: list[int], pad_to: int | None = None
    ) -> dict[str, torch.Tensor]:
        """The collated batch of ``indices`` on the device, padded to ``pad_to`` (default the
        settings')."""
        width = self.settings.pad_to if pad_to is None else pad_to
        return _to(collate(split, indices, self.pad_id, width), self.device)

    def round(self, plan: RoundPlan, state: LoopState, speed: _Throughput) -> float:
        """Trains the round's steps; returns the mean train loss and adds to ``speed``."""
        self.model.train()
        started = time.perf_counter()
        total, count = torch.zeros((), device=self.device), 0
        previous = None
        for name, indices in plan.steps(state):
            task = plan.tasks[name]
            batch = self.batch(task.train, indices, task.pad_to)
            loss = self.step(batch, name)
            # check the step before this one: its loss is ready by now, so a GPU never idles
            # waiting for the check (a check of this step's loss would stall it every step)
            _check_finite(previous)
            previous = (loss, name)
            total += loss
            count += 1
            state.step += 1
            speed.examples += len(indices)
            speed.tokens += batch["input_ids"].numel()
        _check_finite(previous)
        mean = float(total) / max(count, 1)  # float() waits for the device: the time is real
        speed.seconds += time.perf_counter() - started
        return mean

    def step(self, batch: dict, task: str) -> torch.Tensor:
        """One optimizer step on ``batch``; returns the detached loss (not checked here)."""
        with _autocast(self.device, self.settings.precision):
            loss, _ = self.model(batch, task)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)  # clip the true gradients
        else:
            loss.backward()
        if self.settings.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.params, self.settings.max_grad_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.detach().float()


def _check_finite(step: tuple[torch.Tensor, str] | None) -> None:
    """A diverged run fails the trial (it is retried, then reported) rather than train on."""
    if step is not None and not torch.isfinite(step[0]).all():
        raise FloatingPointError(f"non-finite training loss ({step[0].item()}) on {step[1]}")


@torch.no_grad()
def evaluate(
    model,
    task: str,
    split: EncodedSplit,
    pad_id: int,
    batch_size: int,
    device: torch.device,
    precision: str = "bf16",
    meta: list | None = None,
) -> dict:
    """Mean loss and every metric (0-100) of ``model`` on ``split``.

    ``meta``: MultiRC's / ReCoRD's per-example groups; their metrics are computed per question.
    """
    model.eval()
    loss_sum, predictions = 0.0, [None] * len(split)
    raw = [None] * len(split) if meta is not None else None
    for indices in eval_batches(split, batch_size):
        batch = _to(collate(split, indices, pad_id), device)
        with _autocast(device, precision):
            loss, logits = model(batch, task)
        loss_sum += float(loss) * len(indices)
        for i, p in zip(indices, decode(split.problem_type, logits.float().cpu()), strict=True):
            predictions[i] = p
        if raw is not None:
            for i, row in zip(indices, logits.float().cpu().tolist(), strict=True):
                raw[i] = row
    if raw is None:
        metrics = score(task, predictions, split.labels)
    else:
        metrics = score(task, *postprocess(task, meta, raw, split.labels))
    return {"loss": loss_sum / max(len(split), 1), **metrics}


def round_value(dev: dict[str, dict], select: str) -> float:
    """What picks the best round: the mean over tasks of the dev loss, or of each task's
    selection metric (``selection_value``: STS-B Pearson, MRPC / QQP / CB accuracy, else the
    score)."""
    if select == "loss":
        return _mean([d["loss"] for d in dev.values()])
    return _mean([selection_value(name, d) for name, d in dev.items()])


def decode(problem_type: str, logits: torch.Tensor) -> list:
    """Predictions from logits: class ids, floats (regression) or 0/1 rows (multi-label)."""
    if problem_type == REGRESSION:
        return logits.reshape(len(logits), -1)[:, 0].tolist()
    if problem_type == MULTILABEL:
        return (logits > 0).long().tolist()
    return logits.argmax(-1).tolist()


def _improves(value: float, best: float | None, select: str) -> bool:
    """Whether ``value`` beats ``best``; a NaN never does, and anything beats a NaN or nothing."""
    if math.isnan(value):
        return best is None
    if best is None or math.isnan(best):
        return True
    return value < best if select == "loss" else value > best


def _linear_schedule(optimizer, total_steps: int, warmup_ratio: float):
    warmup = math.ceil(total_steps * warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _round_metrics(state: LoopState, train_loss: float, dev: dict, scheduler) -> dict:
    metrics = {
        "epoch": state.rounds_done,
        "step": state.step,
        "train_loss": train_loss,
        "dev_loss": _mean([d["loss"] for d in dev.values()]),
        "dev_score": _mean([d["score"] for d in dev.values()]),
        "best_epoch": state.best_round + 1,
        "lr": scheduler.get_last_lr()[0],
    }
    if len(dev) > 1:
        metrics.update({f"dev_score/{name}": d["score"] for name, d in dev.items()})
    return metrics


def _report_with_checkpoint(
    report: Report,
    metrics: dict,
    model,
    optimizer,
    scheduler,
    scaler,
    state: LoopState,
    best: dict | None,
) -> None:
    """Write a resumable checkpoint to a fresh folder, report, then delete the folder.

    The folder lives only for the call: ``report`` must copy it (Ray Tune's report does).
    """
    from safetensors.torch import save_file

    folder = Path(tempfile.mkdtemp(prefix="scalearn-ckpt-"))
    try:
        save_file(_contiguous_cpu(model.checkpoint_state()), str(folder / MODEL_FILE))
        if best is not None:
            save_file(_contiguous_cpu(best), str(folder / BEST_FILE))
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        trainer = {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": rng,
        }
        if scaler is not None:
            trainer["scaler"] = scaler.state_dict()
        torch.save(trainer, folder / TRAINER_FILE)
        (folder / STATE_FILE).write_text(json.dumps(asdict(state)))
        report(dict(metrics), str(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load_checkpoint(
    folder: str, model, optimizer, scheduler, scaler=None
) -> tuple[LoopState, dict | None]:
    from safetensors.torch import load_file

    path = Path(folder)
    device = next(iter(model.trainable_parameters())).device
    model.load_checkpoint_state(load_file(str(path / MODEL_FILE), device=str(device)))
    best = load_file(str(path / BEST_FILE)) if (path / BEST_FILE).exists() else None
    # weights_only: a checkpoint is data, never code
    trainer = torch.load(path / TRAINER_FILE, map_location="cpu", weights_only=True)
    optimizer.load_state_dict(trainer["optimizer"])
    scheduler.load_state_dict(trainer["scheduler"])
    if scaler is not None and "scaler" in trainer:
        scaler.load_state_dict(trainer["scaler"])
    torch.set_rng_state(trainer["rng"]["cpu"])
    if "cuda" in trainer["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(trainer["rng"]["cuda"])
    state = LoopState(**json.loads((path / STATE_FILE).read_text()))
    return state, best


def _contiguous_cpu(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _autocast(device: torch.device, precision: str = "bf16"):
    # mixed precision on GPUs (the paper used it); full precision on CPU, where bf16 is slow
    # without AMX and fp16 autocast is not supported for most ops
    if device.type == "cuda" and precision in _AUTOCAST_DTYPES:
        return torch.autocast("cuda", dtype=_AUTOCAST_DTYPES[precision])
    return contextlib.nullcontext()


def _grad_scaler(device: torch.device, precision: str):
    # fp16 needs loss scaling (its range underflows small gradients); bf16 and fp32 do not
    if device.type == "cuda" and precision == "fp16":
        return torch.amp.GradScaler("cuda")
    return None


def _eval_bs(settings: LoopSettings) -> int:
    return settings.eval_batch_size or 2 * settings.batch_size


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
