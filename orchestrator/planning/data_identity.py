"""What of a node's data spec goes into its id.

Local paths differ between machines, so a local data set is identified by the content of its
files, not by where it lies; the same files give the same node id on a laptop and on a cluster.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from trainables.tasks.local import task_dir
from trainables.tasks.registry import get_task
from trainables.tasks.synthetic import VERSION as SYNTHETIC_VERSION


def task_folder(task: str, root: str) -> Path:
    """The folder of ``task`` under a local benchmark directory (the directory itself if none).

    The loader's own rule (``trainables.tasks.local.task_dir``), so the files a node's id hashes
    are the files it trains on.
    """
    return task_dir(task, root)


@lru_cache(maxsize=4096)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def folder_fingerprint(folder: Path) -> str:
    """A digest of every file's relative name and bytes under ``folder``."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        st = path.stat()
        h.update(str(path.relative_to(folder)).encode())
        h.update(_file_digest(str(path), st.st_size, st.st_mtime_ns).encode())
    return h.hexdigest()[:32]


def resolve_data(task: str, data: dict) -> dict:
    """The data spec a trainable gets: defaults filled, local folders pinned to the task."""
    spec = get_task(task)
    out = dict(data)
    if out["source"] == "synthetic":
        out.setdefault("seed", 0)
        out.setdefault("n_train", spec.train_size)
        out.setdefault("n_test", spec.test_size)
        # the generator's version: other code, other rows, other ids
        out.setdefault("version", SYNTHETIC_VERSION)
    elif out["source"] == "hub" and spec.hub:
        out.setdefault("repo", spec.hub[0])
        out.setdefault("config", spec.hub[1])
    elif out["source"] == "local":
        out["dir"] = str(task_folder(task, out["dir"]))
    return out


# The data protocol's version. A change to the rows a node of some task trains, selects or is
# scored on raises it for exactly the nodes it changes (``data_protocol``); version 1 enters no
# id, so nodes whose data never changed keep theirs.
# 2: GLUE and SuperGLUE split 90/10 by ``datasets``' train_test_split (the official rows);
#    ReCoRD truncates the passage only, picks the candidate by its positive-class logit and
#    orders its candidates as the hub does; WSC marks the official data's index as given;
#    a train limit or few-shot k keeps the first rows of train, not a seeded sample.
DATA_PROTOCOL = 2


def data_protocol(task: str, data: dict, limited: bool = False) -> int:
    """The protocol version of ``task``'s data under ``data``; ``limited``: the node keeps only
    some train rows (``train_limit`` or ``k``)."""
    benchmark = get_task(task).benchmark
    if benchmark in ("glue", "superglue") and data.get("source") in ("hub", "local"):
        return DATA_PROTOCOL
    if limited or data.get("k") is not None or data.get("train_limit") is not None:
        return DATA_PROTOCOL  # HumSet and synthetic rows change only where train is cut
    return 1


def data_identity(data: dict, task: str | None = None, limited: bool = False) -> dict:
    """The part of a resolved data spec that decides the data a node trains on (with ``task``:
    and the data protocol's version, where it is not the first)."""
    ident = dict(data)
    if data["source"] == "local":
        ident = {k: v for k, v in data.items() if k != "dir"}
        folder = Path(data["dir"])
        ident["files"] = (
            folder_fingerprint(folder) if folder.is_dir() else f"missing:{os.fspath(folder)}"
        )
    if task is not None:
        version = data_protocol(task, data, limited)
        if version > 1:
            ident["protocol"] = version
    return ident
