"""GLUE's classic TSV files (as ``download_glue_data.py`` wrote them) read into the hub's columns.

Quirks of the real files: fields are split on tabs only, never unquoted, because the TSVs keep raw
quote characters inside sentences (a CSV reader would merge lines); MRPC's header starts with a
byte-order mark and names its columns "Quality", "#1 String", "#2 String"; CoLA's files have no
header; MNLI's label column is "gold_label"; a few QQP lines are short and are skipped, as GLUE's
own processors do.
"""

from __future__ import annotations

from pathlib import Path

# task -> hub column -> the TSV's column name (or, for headerless CoLA, its position)
COLUMNS: dict[str, dict[str, str | int]] = {
    "cola": {"sentence": 3, "label": 1},
    "sst2": {"sentence": "sentence", "label": "label"},
    "mrpc": {"sentence1": "#1 String", "sentence2": "#2 String", "label": "Quality"},
    "qqp": {"question1": "question1", "question2": "question2", "label": "is_duplicate"},
    "stsb": {"sentence1": "sentence1", "sentence2": "sentence2", "label": "score"},
    "mnli": {"premise": "sentence1", "hypothesis": "sentence2", "label": "gold_label"},
    "qnli": {"question": "question", "sentence": "sentence", "label": "label"},
    "rte": {"sentence1": "sentence1", "sentence2": "sentence2", "label": "label"},
}


def read_glue_tsv(task: str, path: str | Path) -> list[dict]:
    """The labelled rows of one GLUE TSV file of ``task``, with the hub's column names."""
    if task not in COLUMNS:
        raise ValueError(f"{path}: TSV files are GLUE's format; {task!r} is not a GLUE task")
    # utf-8-sig drops MRPC's byte-order mark; splitting on "\n" alone keeps stray "\r" out of
    # fields after the strip below and never treats a quote as special
    text = Path(path).read_text(encoding="utf-8-sig")
    lines = [line.rstrip("\r") for line in text.split("\n")]
    lines = [line for line in lines if line.strip()]
    columns = COLUMNS[task]
    if all(isinstance(c, int) for c in columns.values()):
        positions = dict(columns)
        body = lines
    else:
        header = [h.strip() for h in lines[0].split("\t")] if lines else []
        missing = [c for c in columns.values() if c not in header]
        if missing:
            raise ValueError(
                f"{path}: no column {missing} in the header {header}; is this {task}'s GLUE TSV?"
            )
        positions = {hub: header.index(name) for hub, name in columns.items()}
        body = lines[1:]
    need = max(positions.values())
    rows = []
    for line in body:
        fields = line.split("\t")
        if len(fields) <= need:
            continue  # a short line (QQP has a few): skipped like GLUE's processors do
        rows.append({hub: fields[i] for hub, i in positions.items()})
    return rows
