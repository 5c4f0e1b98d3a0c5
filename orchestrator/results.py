"""Result rows: one Parquet file per node under ``<results>/<sweep>/trials/``.

A node's file holds one row per task it scored (one for stage-one and transfer nodes, one per
task for joint nodes). The file is named by node id and replaced atomically, so a results folder
holds exactly one current outcome per node, and ``pd.read_parquet(<results>/<sweep>/trials)``
reads the whole sweep, while it is still running too.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
import uuid
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from orchestrator.contract.rows import Json, ResultRow


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


def _fs(uri: str) -> tuple[pafs.FileSystem, str]:
    if "://" in uri:
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), str(Path(uri).expanduser().resolve())


def trials_dir(results: str, sweep: str) -> str:
    """Where a sweep's node files go."""
    return f"{results.rstrip('/')}/{sweep}/trials"


def write_node_rows(results: str, sweep: str, node_id: str, rows: list[ResultRow]) -> str:
    """Write (or replace) the rows of one node atomically; returns the file's path."""
    fs, base = _fs(trials_dir(results, sweep))
    fs.create_dir(base, recursive=True)
    table = pa.Table.from_pylist([dataclasses.asdict(r) for r in rows], schema=SCHEMA)
    final = f"{base}/{node_id}.parquet"
    tmp = f"{base}/.{node_id}.{uuid.uuid4().hex[:8]}.tmp"
    with fs.open_output_stream(tmp) as f:
        pq.write_table(table, f)
    fs.move(tmp, final)
    return final


def has_rows(results: str, sweep: str, node_id: str) -> bool:
    """Whether the node has a file of rows in this results folder."""
    fs, base = _fs(trials_dir(results, sweep))
    return fs.get_file_info(f"{base}/{node_id}.parquet").type == pafs.FileType.File


def read_node_rows(results: str, sweep: str, node_id: str) -> list[dict]:
    """The rows of one node (empty when it has none)."""
    fs, base = _fs(trials_dir(results, sweep))
    try:
        with fs.open_input_file(f"{base}/{node_id}.parquet") as f:
            return pq.read_table(f).to_pylist()
    except (FileNotFoundError, OSError):
        return []


def _conform(table: pa.Table) -> pa.Table:
    """A node file in the current schema: columns added since it was written come back null."""
    for f in SCHEMA:
        if f.name not in table.column_names:
            table = table.append_column(f.name, pa.nulls(len(table), f.type))
    return table.select(SCHEMA.names).cast(SCHEMA)


def load(path: str):
    """The tidy DataFrame of a sweep's results: one row per node and task.

    ``path`` is ``<results>/<sweep>`` or its ``trials`` folder. Metrics columns hold dicts.
    """
    import pandas as pd

    p = path.rstrip("/")
    if not p.endswith("/trials"):
        p = f"{p}/trials"
    fs, base = _fs(p)
    sel = pafs.FileSelector(base, allow_not_found=True)
    files = [
        i.path
        for i in fs.get_file_info(sel)
        if i.type == pafs.FileType.File
        and i.base_name.endswith(".parquet")
        and not i.base_name.startswith(".")
    ]
    if not files:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    tables = []
    for f in sorted(files):
        with fs.open_input_file(f) as fh:
            tables.append(_conform(pq.read_table(fh)))
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
    fs, base = _fs(f"{results.rstrip('/')}/{sweep}/trainings")
    fs.create_dir(base, recursive=True)
    with fs.open_output_stream(f"{base}/{node_id}.{uuid.uuid4().hex[:8]}.json") as f:
        f.write(json.dumps({"node_id": node_id, **info}, default=str).encode())


def trainings(path: str) -> list[dict]:
    """Every training-to-completion event of ``<results>/<sweep>``."""
    fs, base = _fs(f"{path.rstrip('/')}/trainings")
    sel = pafs.FileSelector(base, allow_not_found=True)
    out = []
    for info in fs.get_file_info(sel):
        if info.type == pafs.FileType.File and info.base_name.endswith(".json"):
            with fs.open_input_stream(info.path) as f:
                out.append(json.loads(f.read().decode()))
    return out
