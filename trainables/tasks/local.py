"""A task's official splits from local files, in the hub's columns.

A sweep names a directory per benchmark (holding one folder per task, e.g. ``glue/rte``) or per
task (the task's folder itself). In a task's folder a file belongs to a split by the words of
its name: "train" (also ``in_domain_train.tsv``, the hub's ``train-00000-of-00002.parquet``
shards and ``super_glue-train.parquet``), "validation" / "val" / "dev" (MNLI: "matched"), "test".
Formats by extension: ``.tsv`` (GLUE's classic files), ``.jsonl`` / ``.json`` (SuperGLUE's
official files, or records with the hub's columns), ``.parquet`` and ``.csv`` (the hub's columns).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from trainables.tasks.glue_tsv import read_glue_tsv
from trainables.tasks.superglue_jsonl import flatten

FORMATS = (".tsv", ".jsonl", ".json", ".parquet", ".csv")

# Folder names the classic GLUE / SuperGLUE downloads use for a task, besides its own name.
FOLDER_ALIASES: dict[str, tuple[str, ...]] = {
    "sst2": ("sst-2", "SST-2"),
    "stsb": ("sts-b", "STS-B"),
    "wsc": ("WSC", "wsc.fixed"),
    "wic": ("WiC",),
    "boolq": ("BoolQ",),
    "multirc": ("MultiRC",),
    "record": ("ReCoRD",),
}


def task_dir(task: str, root: str | Path) -> Path:
    """The folder of ``task`` under ``root`` (a benchmark's folder), else ``root`` itself."""
    for name in (task, task.upper(), *FOLDER_ALIASES.get(task, ())):
        candidate = Path(root) / name
        if candidate.is_dir():
            return candidate
    return Path(root)


def split_of(filename: str) -> str | None:
    """Which official split a file holds, from the words of its name; None for other files."""
    stem = filename.lower()
    for ext in FORMATS:
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
            break
    else:
        return None
    words = set(re.split(r"[^a-z0-9]+", stem))
    if "mismatched" in words:
        return "validation_mismatched"
    if words & {"validation", "val", "dev"}:
        return "validation"
    if "train" in words:
        return "train"
    if "test" in words:
        return "test"
    return None


def split_files(folder: str | Path) -> dict[str, list[Path]]:
    """The data files of each split in ``folder``, shards in name order."""
    found: dict[str, list[Path]] = {}
    for path in sorted(Path(folder).iterdir()):
        split = split_of(path.name) if path.is_file() else None
        if split is not None:
            found.setdefault(split, []).append(path)
    return found


def missing_splits(task: str, folder: str | Path, splits: tuple[str, ...]) -> list[str]:
    """Those of ``splits`` that have no file for ``task`` under ``folder`` (what ``read_local``
    would stop at), without reading a file."""
    found = split_files(task_dir(task, folder))
    return [split for split in splits if not found.get(split)]


def read_local(task: str, folder: str | Path, splits: tuple[str, ...]) -> dict[str, list[dict]]:
    """Rows (hub columns) of each of ``splits`` of ``task`` from the files in ``folder``.

    Raises FileNotFoundError naming what was looked for when a split has no file.
    """
    folder = task_dir(task, folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{task}: no data directory {folder}")
    files = split_files(folder)
    out = {}
    for split in splits:
        paths = files.get(split)
        if not paths:
            raise FileNotFoundError(_missing(task, folder, split))
        kinds = {p.suffix.lower() for p in paths}
        if len(kinds) > 1:
            raise ValueError(
                f"{task}: {split} is in files of different formats in {folder}: "
                f"{', '.join(p.name for p in paths)}; keep one"
            )
        out[split] = [row for path in paths for row in read_file(task, path)]
    return out


def _missing(task: str, folder: Path, split: str) -> str:
    """Why no file of ``split`` was found, and what would be."""
    names = (task, task.upper(), *FOLDER_ALIASES.get(task, ()))
    looked = (
        f"no folder {' or '.join(dict.fromkeys(names))} in {folder}, and "
        if not any(p.is_file() and split_of(p.name) for p in folder.iterdir())
        else ""
    )
    return (
        f"{task}: {looked}no {split} file in {folder} (a file name with "
        f"{_WORDS[split]}, ending in {', '.join(FORMATS)})"
    )


_WORDS = {
    "train": "'train'",
    "validation": "'validation', 'val' or 'dev'",
    "validation_mismatched": "'mismatched'",
    "test": "'test'",
}


def read_file(task: str, path: Path) -> list[dict]:
    """The hub rows of one file, by its extension."""
    suffix = path.suffix.lower()
    if suffix == ".tsv":
        return read_glue_tsv(task, path)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        records = pq.read_table(path).to_pylist()
    elif suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            records = [_csv_cells(row) for row in csv.DictReader(f)]
    else:
        records = _json_records(path)
    return [row for record in records for row in flatten(task, record)]


def _json_records(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped.startswith("["):  # one JSON array rather than JSON lines
        return json.loads(stripped)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _csv_cells(row: dict) -> dict:
    """CSV cells holding JSON lists or objects (HumSet's labels, ReCoRD's entities) decoded."""
    out = {}
    for key, value in row.items():
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                import ast

                try:
                    value = ast.literal_eval(value)  # Python reprs, as pandas writes lists
                except (ValueError, SyntaxError):
                    pass
        out[key] = value
    return out
