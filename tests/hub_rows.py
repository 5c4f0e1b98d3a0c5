"""Small rows in the hub's columns for every non-synthetic task, and writers for local files.

Tests write these as Parquet, CSV or JSONL into tmp folders: the loaders read them exactly as
they read the hub's repositories, without a download.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path


def _glue(task: str, i: int) -> dict:
    label = i % 2
    if task in ("cola", "sst2"):
        return {"sentence": f"{task} sentence {i}", "label": label, "idx": i}
    if task == "stsb":
        return {"sentence1": f"a {i}", "sentence2": f"b {i}", "label": float(i % 6), "idx": i}
    if task == "mnli":
        return {"premise": f"p {i}", "hypothesis": f"h {i}", "label": i % 3, "idx": i}
    if task == "qqp":
        return {"question1": f"q1 {i}", "question2": f"q2 {i}", "label": label, "idx": i}
    if task == "qnli":
        return {"question": f"q {i}", "sentence": f"s {i}", "label": label, "idx": i}
    return {"sentence1": f"first {i}", "sentence2": f"second {i}", "label": label, "idx": i}


def _superglue(task: str, i: int) -> dict:
    label = i % 2
    if task == "boolq":
        return {"question": f"is it {i}", "passage": f"passage {i}", "label": label, "idx": i}
    if task == "cb":
        return {"premise": f"p {i}", "hypothesis": f"h {i}", "label": i % 3, "idx": i}
    if task == "copa":
        return {
            "premise": f"premise {i}.",
            "choice1": f"one {i}.",
            "choice2": f"two {i}.",
            "question": "cause" if i % 2 else "effect",
            "label": label,
            "idx": i,
        }
    if task == "wic":
        return {
            "word": "bank",
            "sentence1": f"the bank {i}",
            "sentence2": f"a river bank {i}",
            "start1": 4,
            "start2": 8,
            "end1": 8,
            "end2": 12,
            "label": label,
            "idx": i,
        }
    if task == "wsc":
        return {
            "text": f"Mark told Pete {i} lies because he was jealous .",
            "span1_index": 0,
            "span2_index": 6,
            "span1_text": "Mark",
            "span2_text": "he",
            "label": label,
            "idx": i,
        }
    raise KeyError(task)


def multirc_rows(n_questions: int) -> list[dict]:
    """Three answer options per question, the first right, two questions per paragraph."""
    rows = []
    for q in range(n_questions):
        for a in range(3):
            rows.append(
                {
                    "paragraph": f"paragraph {q // 2}",
                    "question": f"question {q}?",
                    "answer": f"answer {a}",
                    "idx": {"paragraph": q // 2, "question": q, "answer": a},
                    "label": int(a == 0),
                }
            )
    return rows


def record_rows(n_queries: int) -> list[dict]:
    """One query per passage, three candidate entities, the second the answer."""
    return [
        {
            "passage": f"Alice met Bob {q} in Paris.\n@highlight\nA trip",
            "query": "@placeholder went home",
            "entities": ["Alice", "Bob", "Paris"],
            "entity_spans": {"text": ["Alice", "Bob", "Paris"], "start": [0, 10, 20], "end": [4]},
            "answers": ["Bob"],
            "idx": {"passage": q, "query": q},
        }
        for q in range(n_queries)
    ]


def humset_rows(task: str, n: int, num_labels: int) -> list[dict]:
    """Excerpts with one or two of the task's labels (class indices, as the hub stores them)."""
    return [
        {
            "entry_id": str(i),
            "lang": "en",
            "excerpt": f"excerpt {i}",
            task: sorted({i % num_labels, (i * 3) % num_labels}),
        }
        for i in range(n)
    ]


def rows(task: str, split: str, n: int) -> list[dict]:
    """``n`` rows (questions for MultiRC and ReCoRD) of ``task``'s ``split``."""
    from trainables.tasks.registry import get_task

    spec = get_task(task)
    offset = 0 if split == "train" else 10_000
    if spec.benchmark == "humset":
        out = humset_rows(task, n, spec.num_labels)
    elif task == "multirc":
        out = multirc_rows(n)
    elif task == "record":
        out = record_rows(n)
    elif spec.benchmark == "glue":
        out = [_glue(task, offset + i) for i in range(n)]
    else:
        out = [_superglue(task, offset + i) for i in range(n)]
    return out


def write(path: Path, records: list[dict]) -> Path:
    """``records`` as a file whose format follows ``path``'s extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(records), path)
    elif path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]))
            writer.writeheader()
            for r in records:
                writer.writerow(
                    {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in r.items()}
                )
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
