"""Command-line values checked as argparse parses them (exit status 2 with argparse's message),
and folders checked before a command reads them."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from orchestrator.problems import UsageError


def positive_int(text: str) -> int:
    """An integer > 0."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def results_folder(path: str) -> str:
    """``path`` when it can hold a sweep's results (a folder, or a remote URI); UsageError if it
    does not exist or is a file, so that a typo is not answered with 'no results'."""
    if "://" in path and not path.startswith("file://"):
        return path
    local = Path(path.removeprefix("file://")).expanduser()
    if not local.exists():
        raise UsageError(path, "no such folder; give results/<sweep> of a run")
    if not local.is_dir():
        raise UsageError(path, "a file, not a folder; give results/<sweep> of a run")
    return path


def output_file(path: str, option: str = "--out") -> Path:
    """``path`` when a file can be written there: its folder exists and is a writable folder."""
    out = Path(path).expanduser()
    folder = out.parent
    if out.is_dir():
        raise UsageError(option, f"{out} is a folder; give a file name")
    if not folder.exists():
        raise UsageError(option, f"no such folder: {folder} (make it first)")
    if not folder.is_dir():
        raise UsageError(option, f"{folder} is a file, not a folder")
    if not os.access(folder, os.W_OK):
        raise UsageError(option, f"cannot write in {folder}: permission denied")
    return out


def results_to_draw(folder: str, out: str, suffixes: tuple[str, ...], expected: str):
    """The results of ``folder`` for a command that writes them to the file ``out``: the file's
    kind (one of ``suffixes``, ``expected`` says which) and folder checked first; UsageError when
    either is wrong or there are no results."""
    from orchestrator.results import row_files as results

    if not out.lower().endswith(suffixes):
        raise UsageError(f"--out {out}", f"expected {expected}")
    output_file(out)
    df = results.load(results_folder(folder))
    if df.empty:
        raise UsageError("", f"no results in {folder}")
    return df
