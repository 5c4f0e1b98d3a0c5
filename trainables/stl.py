"""Single-task nodes (stage one: Full FT, Adapter, Compacter++), and what every node kind shares.

A node trains one NodeModel with the loop, writes the model's artifact and a metrics.json into its
out_dir, and returns one result row per task.
"""

from __future__ import annotations

import json
import os

from trainables.encode import encode_task
from trainables.loop import LoopResult, LoopSettings, Report, TaskData, run
from trainables.tasks.grouped import split_meta
from trainables.tasks.registry import get_task
from trainables.tokenizer import load_tokenizer

METRICS_FILE = "metrics.json"


def train(
    node: dict,
    sources: dict[str, str],
    out_dir: str,
    report: Report | None = None,
    resume_from: str | None = None,
) -> dict:
    """Train a single-task node; ``sources`` is unused (stage one has no dependencies)."""
    del sources
    return train_model(node, [node["task"]], out_dir, report, resume_from)


def train_model(
    node: dict,
    tasks: list[str],
    out_dir: str,
    report: Report | None,
    resume_from: str | None,
    model_sources: list[tuple[str, str]] | None = None,
) -> dict:
    """Build the node's model with a head per task, train it, save it; one row per task."""
    from trainables.models import HeadSpec, NodeModel

    tokenizer = load_tokenizer(node["backbone"])
    data = [task_data(node, task, tokenizer) for task in tasks]
    heads = [HeadSpec(t, get_task(t).problem_type, max(get_task(t).num_labels, 1)) for t in tasks]
    model = NodeModel.build(
        node["backbone"],
        node["method"],
        heads,
        node["hparams"],
        node["seed"],
        sources=model_sources,
        vocab_size=vocab_size(node["backbone"], tokenizer),
    )
    settings = LoopSettings.from_hparams(node["hparams"], node["seed"])
    result = run(model, data, settings, tokenizer.pad_token_id, report, resume_from)
    model.save_artifact(out_dir)
    rows = result_rows(tasks, result, model)
    write_metrics(out_dir, node, rows, result)
    return {"rows": rows}


def data_spec(node: dict, task: str) -> dict:
    """The data spec of ``task``: node["data"] is one spec or {task: spec} (plus "default")."""
    data = node.get("data") or {"source": "synthetic"}
    if "source" in data:
        spec = dict(data)
    elif task in data:
        spec = dict(data[task])
    elif "default" in data:
        spec = dict(data["default"])
    else:
        raise KeyError(f"node {node.get('id')}: no data spec for task {task!r} in {sorted(data)}")
    # a train (or dev) subsample given as an hparam applies unless the data spec sets its own
    for key in ("train_limit", "k", "dev_limit"):
        if node["hparams"].get(key) is not None:
            spec.setdefault(key, node["hparams"][key])
    return spec


def task_data(node: dict, task: str, tokenizer) -> TaskData:
    """The task's encoded train/dev/test splits for this node."""
    max_length = node["hparams"].get("max_length") or get_task(task).max_length
    spec = data_spec(node, task)
    splits = encode_task(task, spec, tokenizer, int(max_length))
    dev_meta, test_meta = split_meta(task, spec)  # MultiRC / ReCoRD: scored per question
    return TaskData(task, splits["train"], splits["dev"], splits["test"], dev_meta, test_meta)


def vocab_size(backbone: str, tokenizer) -> int | None:
    """The tokenizer's vocabulary size for the tiny model (which is sized to it), else None."""
    from trainables.backbones import TINY, base_name

    return len(tokenizer) if base_name(backbone) == TINY else None


def result_rows(tasks: list[str], result: LoopResult, model) -> list[dict]:
    """One row per task: test and dev metrics (0-100), epochs, parameter counts, extras."""
    counts = model.param_counts()
    summary = model.transfer_summary()
    rows = []
    for task in tasks:
        test, dev = result.test[task], result.dev.get(task, {})
        rows.append(
            {
                "task": task,
                "score": test["score"],
                "dev_score": dev.get("score"),
                "metrics": _without_loss(test),
                "dev_metrics": _without_loss(dev),
                "best_epoch": result.best_epoch,
                "epochs_run": result.epochs_run,
                "trainable_params": counts["trainable_params"],
                "transfer_params": counts["transfer_params"],
                "extra": {
                    "transfer": summary,
                    "test_loss": test.get("loss"),
                    "dev_loss": dev.get("loss"),
                },
            }
        )
    return rows


def write_metrics(out_dir: str, node: dict, rows: list[dict], result: LoopResult) -> None:
    """metrics.json beside the artifact: the rows and the per-epoch history."""
    payload = {
        "node_id": node.get("id"),
        "method": node["method"],
        "rows": rows,
        "history": result.history,
    }
    with open(os.path.join(out_dir, METRICS_FILE), "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, sort_keys=True)


def _without_loss(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "loss"}
