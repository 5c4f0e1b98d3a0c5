"""Everything ``plan`` and ``run`` check before any work starts, reported at once.

``check_sweep`` gathers in one ``Report`` (``orchestrator.problems``):

1. the folders the options name (``--store``, ``--results``): a file where a folder belongs;
2. the sweep file (``orchestrator.sweep.spec.read_spec``): YAML, keys, values, and the data it
   names (local folders and their files, hub ids), one line per cause with the tasks it affects;
3. ``SPEC_CHECKS``, run on the file's valid parts even when other parts have problems;
4. the plan's size (``orchestrator.planning.size``): above ``max_nodes`` nothing is planned;
5. source adapters of transfer methods, trained by the sweep or held by the store (looked up
   only when the parts of the file that decide their ids have no problem, so that a typo in
   ``training`` is not also reported as a missing source).

It returns the plan only when nothing is wrong; otherwise it raises every problem as an
``InputError``, which the CLI prints (one line each) before exiting with status 2.

To add a check of a sweep: write ``def check_x(spec: SweepSpec, report: Report) -> None`` that
calls ``report.add(spec.path, "key.path", "what is wrong; what would be right", tasks=[...])``
and append it to ``SPEC_CHECKS``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.planning.nodes import Plan
from orchestrator.planning.plan import build_plan
from orchestrator.planning.size import DEFAULT_MAX_NODES, count_nodes, size_problem
from orchestrator.problems import Report
from orchestrator.store import ArtifactStore, open_store
from orchestrator.sweep.spec import SweepSpec, read_spec

SpecCheck = Callable[[SweepSpec, Report], None]


def check_local_files(spec: SweepSpec, report: Report) -> None:
    """Every task read from a local folder has a file for each official split it trains on."""
    from trainables.tasks.data import official_splits
    from trainables.tasks.local import FORMATS, missing_splits, task_dir

    for bench in spec.benchmarks.values():
        for task in bench.tasks:
            data = bench.data[task]
            if data.get("source") != "local" or not Path(data["dir"]).is_dir():
                continue
            root = Path(data["dir"])
            key = f"{bench.data_keys.get(task, f'benchmarks.{bench.name}.data')}.dir"
            try:
                missing = missing_splits(task, root, official_splits(task))
            except OSError as e:
                report.add(spec.path, key, f"cannot list {root}: {e.strerror or e}", [task])
                continue
            if missing:
                report.add(
                    spec.path,
                    key,
                    f"no {' or '.join(missing)} file in {task_dir(task, root)}: each task's "
                    f"folder (named as the task, under {root}) holds files named with their "
                    f"split ('train', 'validation', 'dev', 'test') ending in {', '.join(FORMATS)}",
                    [task],
                )


# Checks of a (possibly partial) spec, in order; each adds its problems to the report.
SPEC_CHECKS: list[SpecCheck] = [check_local_files]

# Parts of a sweep file that decide the ids of source adapters (with methods.<source method>).
_SOURCE_ID_KEYS = ("training", "backbone", "benchmarks", "sources", "fewshot", "probing", "scope")


@dataclass
class CheckedSweep:
    """A sweep that passed every check: its spec, its plan against the store, the store."""

    spec: SweepSpec
    plan: Plan
    store: ArtifactStore


def check_sweep(
    path: str,
    store_uri: str,
    *,
    results: str | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    simulate: bool = False,
    report: Report | None = None,
) -> CheckedSweep:
    """The checked sweep and its plan; raises InputError with every problem found, those already
    in ``report`` (a command's own options) among them."""
    report = Report() if report is None else report
    store_ok = check_folder_option(report, "--store", store_uri)
    if results is not None:
        check_folder_option(report, "--results", results)
    store = None
    if store_ok:
        try:
            store = open_store(store_uri)
        except (OSError, ValueError) as e:
            report.add("--store", "", f"cannot open the store {store_uri}: {e}")
    spec, found = read_spec(path)
    for p in found:
        report.add(p.where, p.key, p.message, p.tasks)
    if spec is None:
        report.raise_if_any()
    for check in SPEC_CHECKS:
        check(spec, report)
    problem = size_problem(count_nodes(spec, simulate), max_nodes)
    if problem:
        report.add(spec.path, "", problem)
        report.raise_if_any()
    trusted = store is not None and not _touches_source_ids(spec, [p.key for p in found])
    plan, missing = build_plan(
        spec,
        committed=store.is_committed if trusted else None,
        simulate=simulate,
        mark_cached=trusted and not report,
    )
    if trusted:
        for p in missing:
            report.add(p.where, p.key, p.message, p.tasks)
    report.raise_if_any()
    return CheckedSweep(spec, plan, store)


def _touches_source_ids(spec: SweepSpec, keys: list[str]) -> bool:
    """Whether a problem at one of ``keys`` may change the ids of the sweep's source adapters."""
    own = f"methods.{spec.source_method}"
    for key in keys:
        if key in ("", "methods") or key == own or key.startswith(own + "."):
            return True
        if key.split(".")[0].split("[")[0] in _SOURCE_ID_KEYS:
            return True
    return False


def check_folder_option(report: Report, option: str, uri: str) -> bool:
    """Whether ``uri`` (a folder or a URI) can be a folder; a problem for ``option`` if not."""
    if "://" in uri and not uri.startswith("file://"):
        return True  # a remote store: checked when it is opened
    path = Path(uri.removeprefix("file://")).expanduser()
    if path.exists() and not path.is_dir():
        report.add(
            option,
            "",
            f"{path} is a file, not a folder; give a folder (made if missing) or a URI such as "
            "s3://bucket/path",
        )
        return False
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        report.add(option, "", f"{path} cannot be a folder: {existing} is a file")
        return False
    if existing is not None and existing != path and not os.access(existing, os.W_OK):
        report.add(option, "", f"{path} cannot be made: {existing} is not writable")
        return False
    return True
