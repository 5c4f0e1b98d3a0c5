"""A task's official splits from the hub's Parquet repositories, by name.

``datasets`` 4.x no longer runs loading scripts, so only Parquet repositories load: GLUE from
``nyu-mll/glue``, SuperGLUE from ``aps/super_glue`` (WSC as its ``wsc.fixed`` config). HumSet's
repository (``nlp-thedeep/humset``) is script-based; its rows are read from the Parquet branch the
hub converts such repositories to (``refs/convert/parquet``), config "1.0.0" (the reference code's
version). That branch is an assumption no test here can check offline; a data spec may name
another ``repo``, ``config`` or ``revision`` (a mirror, a local copy of the repository).
"""

from __future__ import annotations

from trainables.tasks.registry import get_task

# Repositories that need another revision than the default branch.
REVISIONS = {"nlp-thedeep/humset": "refs/convert/parquet"}
# The hub's split names -> ours (MNLI's matched validation split is its test split).
SPLIT_NAMES = {"validation_matched": "validation"}


def hub_source(task: str, data: dict) -> tuple[str, str, str | None]:
    """(repository, config, revision) of ``task`` for a data spec."""
    spec = get_task(task)
    if spec.hub is None and not data.get("repo"):
        raise ValueError(f"{task}: no hub repository is known; give data.repo and data.config")
    repo = data.get("repo") or spec.hub[0]
    config = data.get("config") or spec.hub[1]
    return repo, config, data.get("revision", REVISIONS.get(repo))


def read_hub(task: str, data: dict, splits: tuple[str, ...]) -> dict[str, list[dict]]:
    """Rows (hub columns) of each of ``splits`` of ``task`` via ``datasets.load_dataset``."""
    import datasets

    repo, config, revision = hub_source(task, data)
    kwargs = {"revision": revision} if revision else {}
    loaded = datasets.load_dataset(repo, config, **kwargs)
    named = {SPLIT_NAMES.get(name, name): part for name, part in loaded.items()}
    missing = [s for s in splits if s not in named]
    if missing:
        raise KeyError(f"{task}: {repo} ({config}) has no split {missing}; it has {list(loaded)}")
    return {split: named[split].to_list() for split in splits}
