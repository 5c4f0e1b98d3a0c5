"""Training one node, the same for every kind: build its model, run the loop, save the payload.

Stage-one nodes train one task, transfer nodes one target over their sources, joint nodes every
task of their benchmark at once; ``NodeSpec.scored_tasks`` and ``NodeSpec.sources`` say which.
"""

from __future__ import annotations

import json
import os

from orchestrator.contract.entry_files import METRICS_FILE
from orchestrator.contract.methods import Kind
from orchestrator.contract.node import NodeSpec
from orchestrator.contract.rows import TaskResult
from orchestrator.contract.trainer import Report
from trainables.encode import encode_task
from trainables.loop import LoopResult, LoopSettings, TaskData, run
from trainables.tasks.grouped import split_meta
from trainables.tasks.registry import get_task
from trainables.tokenizer import load_tokenizer


def train_model(
    node: NodeSpec, out_dir: str, report: Report | None, resume_from: str | None
) -> list[TaskResult]:
    """Build the node's model with a head per scored task, train it, save it; one result per
    task."""
    from trainables.models import HeadSpec, NodeModel

    tasks = node.scored_tasks
    tokenizer = load_tokenizer(node.backbone, files=node.backbone_path)
    data = [task_data(node, task, tokenizer) for task in tasks]
    heads = [HeadSpec(t, get_task(t).problem_type, max(get_task(t).num_labels, 1)) for t in tasks]
    missing = [s.node_id for s in node.sources if s.path is None]
    if missing:
        raise ValueError(f"node {node.id}: no local payload for sources {missing}")
    model = NodeModel.build(
        node.backbone,
        node.method,
        heads,
        node.hparams,
        node.seed,
        sources=[(s.task, s.path) for s in node.sources] or None,
        vocab_size=vocab_size(node.backbone, tokenizer),
        files=node.backbone_path,
    )
    settings = LoopSettings.from_hparams(node.hparams, node.seed)
    result = run(model, data, settings, tokenizer.pad_token_id, report, resume_from)
    model.save_artifact(out_dir)
    results = task_results(tasks, result, model)
    write_metrics(out_dir, node, results, result)
    return results


def data_spec(node: NodeSpec, task: str) -> dict:
    """The data spec of ``task``, with the node's train (or dev) limits unless it sets its own."""
    spec = node.data_for(task).to_dict()
    for key in ("train_limit", "k", "dev_limit"):
        value = getattr(node.hparams, key)
        if value is not None:
            spec.setdefault(key, value)
    return spec


def task_data(node: NodeSpec, task: str, tokenizer) -> TaskData:
    """The task's encoded train/dev/test splits for this node.

    Each task of a joint node keeps its own max length unless the node sets one (SuperGLUE:
    128, MultiRC 324, ReCoRD 256, as the official joint runs) and, in a joint node, its rows cap
    (ReCoRD: the first 100,730 rows, weighed as 100,730).
    """
    info = get_task(task)
    max_length = int(node.hparams.max_length or info.max_length)
    spec = data_spec(node, task)
    splits = encode_task(task, spec, tokenizer, max_length)
    dev_meta, test_meta = split_meta(task, spec)  # MultiRC / ReCoRD: scored per question
    return TaskData(
        task,
        splits["train"],
        splits["dev"],
        splits["test"],
        dev_meta,
        test_meta,
        pad_to=max_length if node.hparams.padding == "max_length" else None,
        train_rows=info.joint_rows if node.kind == Kind.JOINT else None,
    )


def vocab_size(backbone: str, tokenizer) -> int | None:
    """The tokenizer's vocabulary size for the tiny model (which is sized to it), else None."""
    from trainables.backbone_ref import Form, parse

    return len(tokenizer) if parse(backbone).form == Form.TINY else None


def task_results(tasks: list[str], result: LoopResult, model) -> list[TaskResult]:
    """One result per task: test and dev metrics (0-100), epochs, parameter counts, extras."""
    counts = model.param_counts()
    summary = model.transfer_summary()
    out = []
    for task in tasks:
        test, dev = result.test[task], result.dev.get(task, {})
        out.append(
            TaskResult(
                task=task,
                score=test["score"],
                dev_score=dev.get("score"),
                metrics=_without_loss(test),
                dev_metrics=_without_loss(dev),
                best_epoch=result.best_epoch,
                epochs_run=result.epochs_run,
                trainable_params=counts["trainable_params"],
                transfer_params=counts["transfer_params"],
                extra={
                    "transfer": summary,
                    "test_loss": test.get("loss"),
                    "dev_loss": dev.get("loss"),
                },
            )
        )
    return out


def write_metrics(out_dir: str, node: NodeSpec, results: list[TaskResult], run: LoopResult) -> None:
    """metrics.json beside the artifact: the results and the per-epoch history."""
    payload = {
        "node_id": node.id,
        "method": node.method,
        "rows": [r.to_dict() for r in results],
        "history": run.history,
    }
    with open(os.path.join(out_dir, METRICS_FILE), "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, sort_keys=True)


def _without_loss(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "loss"}
