"""Result rows: one Parquet file per node under ``<results>/<sweep>/trials/``.

A node's file holds one row per task it scored (one for stage-one and transfer nodes, one per
task for joint nodes). The file is named by node id and replaced atomically, so a results folder
holds exactly one current outcome per node, and ``pd.read_parquet(<results>/<sweep>/trials)``
reads the whole sweep, while it is still running too.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import types
import typing
import uuid
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from orchestrator.contract.rows import Json, ResultRow
from orchestrator.uri import filesystem, join, without_query

QUARANTINE = ".quarantine"


def _arrow_type(hint) -> pa.DataType:
    """The Parquet column type of a ``ResultRow`` field's annotation."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return _arrow_type(args[0])  # X | None: nullable X, and every column is nullable
    if hint is Json or hint is str:
        return pa.string()
    if hint is bool:
        return pa.bool_()
    if hint is int:
        return pa.int64()
    if hint is float:
        return pa.float64()
    if hint is datetime:
        return pa.timestamp("us", tz="UTC")
    origin = typing.get_origin(hint)
    if origin is dict:
        key, value = typing.get_args(hint)
        return pa.map_(_arrow_type(key), _arrow_type(value))
    if origin is list:
        return pa.list_(_arrow_type(typing.get_args(hint)[0]))
    raise TypeError(f"no Parquet type for ResultRow annotation {hint!r}")


# The schema, derived from the one definition of a row; the fields' order is the columns' order.
_HINTS = typing.get_type_hints(ResultRow)
SCHEMA = pa.schema([(f.name, _arrow_type(_HINTS[f.name])) for f in dataclasses.fields(ResultRow)])
COLUMNS = SCHEMA.names


def trials_dir(results: str, sweep: str) -> str:
    """Where a sweep's node files go."""
    return join(results, sweep, "trials")


def write_node_rows(results: str, sweep: str, node_id: str, rows: list[ResultRow]) -> str:
    """Write (or replace) the rows of one node atomically; returns the file's path."""
    fs, base = filesystem(trials_dir(results, sweep))
    fs.create_dir(base, recursive=True)
    table = pa.Table.from_pylist([dataclasses.asdict(r) for r in rows], schema=SCHEMA)
    final = f"{base}/{node_id}.parquet"
    tmp = f"{base}/.{node_id}.{uuid.uuid4().hex[:8]}.tmp"
    with fs.open_output_stream(tmp) as f:
        pq.write_table(table, f)
    fs.move(tmp, final)
    return final


@dataclass
class RowFile:
    """One node file as read: its rows, or why it cannot be read."""

    node_id: str
    path: str
    rows: list[dict] | None = None
    problem: str | None = None


def _conform(table: pa.Table) -> pa.Table:
    """A node file in the current schema: columns added since it was written come back null."""
    for f in SCHEMA:
        if f.name not in table.column_names:
            table = table.append_column(f.name, pa.nulls(len(table), f.type))
    return table.select(SCHEMA.names).cast(SCHEMA)


def _read(fs: pafs.FileSystem, path: str) -> pa.Table:
    """A node file in the current schema; ValueError (with the reason) when it is unreadable."""
    try:
        with fs.open_input_file(path) as fh:
            table = pq.read_table(fh)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException) as e:
        raise ValueError(f"not a readable Parquet file ({_first_line(e)})") from None
    try:
        return _conform(table)
    except (pa.ArrowException, TypeError, ValueError) as e:
        raise ValueError(f"its columns do not fit the row schema ({_first_line(e)})") from None


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def read_row_file(results: str, sweep: str, node_id: str) -> RowFile | None:
    """A node's file of rows, read; None when the node has none."""
    fs, base = filesystem(trials_dir(results, sweep))
    return _row_file(fs, f"{base}/{node_id}.parquet", node_id)


def _row_file(fs: pafs.FileSystem, path: str, node_id: str) -> RowFile | None:
    try:
        table = _read(fs, path)
    except FileNotFoundError:
        return None
    except ValueError as e:
        return RowFile(node_id, path, problem=str(e))
    rows = table.to_pylist()
    if not rows:
        return RowFile(node_id, path, problem="it holds no rows")
    others = sorted({str(r["node_id"]) for r in rows} - {node_id})
    if others:
        return RowFile(node_id, path, rows, problem=f"it holds rows of node {others[0]}")
    return RowFile(node_id, path, rows)


def has_done_rows(results: str, sweep: str, node_id: str, tasks=None) -> bool:
    """Whether the node's file is readable and holds a ``done`` row for each task (of ``tasks``
    when given): a row file of a committed node that is not is rebuilt from the store."""
    f = read_row_file(results, sweep, node_id)
    if f is None or f.problem:
        return False
    done = {r["task"] for r in f.rows if r["status"] == "done"}
    if len(done) != len(f.rows):
        return False
    return set(tasks) <= done if tasks is not None else True


def has_rows(results: str, sweep: str, node_id: str) -> bool:
    """Whether the node has a file of rows in this results folder (readable or not)."""
    fs, base = filesystem(trials_dir(results, sweep))
    return fs.get_file_info(f"{base}/{node_id}.parquet").type == pafs.FileType.File


def read_node_rows(results: str, sweep: str, node_id: str) -> list[dict]:
    """The rows of one node (empty when it has none or its file is unreadable)."""
    f = read_row_file(results, sweep, node_id)
    return list(f.rows or []) if f is not None else []


def _node_files(fs: pafs.FileSystem, base: str) -> list[pafs.FileInfo]:
    sel = pafs.FileSelector(base, allow_not_found=True)
    return sorted(
        (
            i
            for i in fs.get_file_info(sel)
            if i.type == pafs.FileType.File
            and i.base_name.endswith(".parquet")
            and not i.base_name.startswith(".")
        ),
        key=lambda i: i.path,
    )


def scan(results: str, sweep: str) -> list[RowFile]:
    """Every node file of a sweep, read (``problem`` set on those that cannot be used)."""
    fs, base = filesystem(trials_dir(results, sweep))
    out = []
    for info in _node_files(fs, base):
        f = _row_file(fs, info.path, info.base_name[: -len(".parquet")])
        if f is not None:
            out.append(f)
    return out


def quarantine_row_file(results: str, sweep: str, node_id: str, reason: str) -> str | None:
    """Move an unusable node file aside to ``trials/.quarantine/`` (never deleted; readers skip
    it), with a note of why; returns where it went, None when it is gone already."""
    fs, base = filesystem(trials_dir(results, sweep))
    src = f"{base}/{node_id}.parquet"
    dest = f"{base}/{QUARANTINE}/{node_id}.{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    fs.create_dir(f"{base}/{QUARANTINE}", recursive=True)
    try:
        fs.move(src, f"{dest}.parquet")
    except FileNotFoundError:
        return None
    with fs.open_output_stream(f"{dest}.json") as f:
        f.write(json.dumps({"node_id": node_id, "reason": reason, "at": time.time()}).encode())
    print(f"results: {src}: {reason}; moved aside to {dest}.parquet", file=sys.stderr, flush=True)
    return f"{dest}.parquet"


def warn_unreadable(path: str, reason: str) -> None:
    """The one warning about a file a reader skips."""
    print(f"warning: skipping {path}: {reason}", file=sys.stderr, flush=True)


def load(path: str):
    """The tidy DataFrame of a sweep's results: one row per node and task.

    ``path`` is ``<results>/<sweep>`` or its ``trials`` folder. Metrics columns hold dicts. A
    file that cannot be read is skipped with one warning naming it (``run`` rewrites it).
    """
    import pandas as pd

    p = without_query(path).rstrip("/")
    p = path if p.endswith("/trials") else join(path, "trials")
    fs, base = filesystem(p)
    tables = []
    for info in _node_files(fs, base):
        try:
            tables.append(_read(fs, info.path))
        except (ValueError, FileNotFoundError) as e:  # a file replaced while listing: gone
            warn_unreadable(info.path, str(e))
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    df = pa.concat_tables(tables).to_pandas()
    for k in ("metrics", "dev_metrics"):
        df[k] = df[k].map(lambda v: dict(v) if v is not None else {})
    return df


def latest(df):
    """Real rows only unless all are simulated, and the latest row per node and task."""
    if df.empty:
        return df
    if (~df["simulated"]).any():
        df = df[~df["simulated"]]
    df = df.sort_values("finished_at")
    return df.drop_duplicates(["node_id", "task"], keep="last")


def record_training(results: str, sweep: str, node_id: str, info: dict) -> None:
    """Note that a node trained to completion (before its commit): an audit trail of trainings.

    One small file per event, so concurrent writers on shared storage never collide; reading the
    folder tells how often each node was trained, e.g. to check that none trained twice.
    """
    fs, base = filesystem(join(results, sweep, "trainings"))
    fs.create_dir(base, recursive=True)
    with fs.open_output_stream(f"{base}/{node_id}.{uuid.uuid4().hex[:8]}.json") as f:
        f.write(json.dumps({"node_id": node_id, **info}, default=str).encode())


def trainings(path: str) -> list[dict]:
    """Every training-to-completion event of ``<results>/<sweep>`` (unreadable notes skipped with
    a warning)."""
    fs, base = filesystem(join(path, "trainings"))
    sel = pafs.FileSelector(base, allow_not_found=True)
    out = []
    for info in fs.get_file_info(sel):
        if info.type == pafs.FileType.File and info.base_name.endswith(".json"):
            try:
                with fs.open_input_stream(info.path) as f:
                    note = json.loads(f.read().decode())
                if not isinstance(note, dict) or "node_id" not in note:
                    raise ValueError("not a training note")
            except (OSError, ValueError) as e:
                warn_unreadable(info.path, _first_line(e))
                continue
            out.append(note)
    return out
