"""SuperGLUE's official JSONL records flattened into the hub's rows.

Most SuperGLUE tasks already use the hub's keys. Three nest theirs: WSC puts its spans under
"target"; MultiRC nests questions and answer options in the passage (the hub has one row per
answer option); ReCoRD nests entity spans in the passage and queries beside it (the hub has one
row per query, entities and answers as sorted unique text). ReCoRD's spans include their end
character.
"""

from __future__ import annotations


def flatten(task: str, record: dict) -> list[dict]:
    """The hub rows of one JSON record (the record itself when it is already flat)."""
    if task == "wsc" and isinstance(record.get("target"), dict):
        return [{**{k: v for k, v in record.items() if k != "target"}, **record["target"]}]
    if task == "multirc" and isinstance(record.get("passage"), dict):
        return _multirc(record)
    if task == "record" and isinstance(record.get("passage"), dict):
        return _record(record)
    return [record]


def _multirc(record: dict) -> list[dict]:
    passage = record["passage"]
    rows = []
    for question in passage["questions"]:
        for answer in question["answers"]:
            rows.append(
                {
                    "paragraph": passage["text"],
                    "question": question["question"],
                    "answer": answer["text"],
                    "label": answer.get("label", -1),
                    "idx": {
                        "paragraph": record["idx"],
                        "question": question["idx"],
                        "answer": answer["idx"],
                    },
                }
            )
    return rows


def _record(record: dict) -> list[dict]:
    passage = record["passage"]
    text = passage["text"]
    spans = [(e["start"], e["end"]) for e in passage["entities"]]
    # unique and sorted, as the hub's rows (its conversion of the official files) hold them: the
    # order of a query's candidate rows, hence of ReCoRD's train rows, is the hub's
    entities = sorted({text[start : end + 1] for start, end in spans})
    return [
        {
            "passage": text,
            "query": qa["query"],
            "entities": entities,
            "entity_spans": {"start": [s for s, _ in spans], "end": [e for _, e in spans]},
            "answers": sorted({a["text"] for a in qa.get("answers", [])}),
            "idx": {"passage": record["idx"], "query": qa["idx"]},
        }
        for qa in record["qas"]
    ]
