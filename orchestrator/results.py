"""Result rows: one Parquet file per node under ``<results>/<sweep>/trials/``.

A node's file holds one row per task it scored (one for stage-one and transfer nodes, one per
task for joint nodes). The file is named by node id and replaced atomically, so a results folder
holds exactly one current outcome per node, and ``pd.read_parquet(<results>/<sweep>/trials)``
reads the whole sweep, while it is still running too.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

SCHEMA = pa.schema(
    [
        ("sweep", pa.string()),
        ("run_id", pa.string()),
        ("node_id", pa.string()),
        ("kind", pa.string()),
        ("method", pa.string()),
        ("benchmark", pa.string()),
        ("task", pa.string()),
        ("seed", pa.int64()),
        ("backbone", pa.string()),
        ("status", pa.string()),  # done | failed | blocked
        ("score", pa.float64()),  # test score, 0-100
        ("dev_score", pa.float64()),
        ("metrics", pa.map_(pa.string(), pa.float64())),  # every test metric, 0-100
        ("dev_metrics", pa.map_(pa.string(), pa.float64())),
        ("trainable_params", pa.int64()),
        ("transfer_params", pa.int64()),
        ("best_epoch", pa.int64()),
        ("epochs_run", pa.int64()),
        ("wall_s", pa.float64()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("artifact_uri", pa.string()),
        ("simulated", pa.bool_()),
        ("hparams", pa.string()),  # JSON
        ("sources", pa.list_(pa.string())),  # node ids of the source adapters
        ("search_group", pa.string()),  # the search a node belongs to, if any
        ("search_role", pa.string()),  # "sample" (a configuration tried) or "best" (the winner's)
        ("extra", pa.string()),  # JSON: e.g. ScaLearn's learned omegas per layer and source
        ("error", pa.string()),
    ]
)
COLUMNS = SCHEMA.names


def _fs(uri: str) -> tuple[pafs.FileSystem, str]:
    if "://" in uri:
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), str(Path(uri).expanduser().resolve())


def trials_dir(results: str, sweep: str) -> str:
    """Where a sweep's node files go."""
    return f"{results.rstrip('/')}/{sweep}/trials"


def _ts(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def _normalise(row: dict) -> dict:
    out = {k: row.get(k) for k in COLUMNS}
    for k in ("metrics", "dev_metrics"):
        out[k] = {str(a): float(b) for a, b in (row.get(k) or {}).items() if b is not None}
    for k in ("hparams", "extra"):
        v = row.get(k)
        out[k] = v if isinstance(v, str) or v is None else json.dumps(v, sort_keys=True)
    for k in ("started_at", "finished_at"):
        out[k] = _ts(row.get(k))
    out["sources"] = list(row.get("sources") or [])
    out["simulated"] = bool(row.get("simulated", False))
    return out


def write_node_rows(results: str, sweep: str, node_id: str, rows: list[dict]) -> str:
    """Write (or replace) the rows of one node atomically; returns the file's path."""
    fs, base = _fs(trials_dir(results, sweep))
    fs.create_dir(base, recursive=True)
    table = pa.Table.from_pylist([_normalise(r) for r in rows], schema=SCHEMA)
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


def grid(df, benchmark: str | None = None, split: str = "test", std: bool = False):
    """Methods (paper order) by tasks (paper order) plus Avg.: the mean over seeds of done rows.

    Avg. is the mean of the row's task cells and stays empty (NaN) when a task is missing.
    With ``std`` the result has a second column level: mean and std.
    """
    import pandas as pd

    from orchestrator.tables import build_table

    t = build_table(df, benchmark=benchmark, split=split)
    if not std or t.mean.empty:
        return t.mean
    return pd.concat({"mean": t.mean, "std": t.std}, axis=1)


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
