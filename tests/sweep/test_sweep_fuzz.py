"""Mutated shipped sweeps: ``plan`` succeeds or exits 2 naming the key, never a traceback.

Hypothesis deletes, retypes, renames and perturbs keys of the shipped sweep files, duplicates their
lines and garbles their bytes; ``plan`` runs in process (``orchestrator.__main__.main``), so any
exception fails the test. Each example must finish within the deadline (a hang guard, far above
the tenth of a second a plan takes), and a plan that succeeds has as many nodes as the plan-size
guard counts.

The examples are derived from the test's name, so CI sees the same ones on every run; set
``SWEEP_FUZZ_EXPLORE=1`` to draw fresh ones (and ``SWEEP_FUZZ_EXAMPLES`` for how many).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.__main__ import main
from orchestrator.sweep.spec import load_spec
from tests.conftest import SHARED_DATA, SWEEPS, TEST_SWEEPS


def _texts() -> dict[str, str]:
    """Each shipped sweep's text, relative data folders made absolute (the mutants live in a
    temporary folder)."""
    out = {}
    for path in sorted(SWEEPS.glob("*.yaml")) + sorted(TEST_SWEEPS.glob("*.yaml")):
        text = path.read_text()
        if "shared/data" in text and not SHARED_DATA.is_dir():
            continue
        out[path.name] = re.sub(
            r"dir: (\.\.?/[^\s},]+)",
            lambda m, folder=path.parent: f"dir: {(folder / m.group(1)).resolve()}",
            text,
        )
    return out


TEXTS = _texts()
TREES = {name: yaml.safe_load(text) for name, text in TEXTS.items()}
KEY_LINE = re.compile(r"^\s*([A-Za-z_][\w-]*):")

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 2**32, 2**64, 10**29]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "1e-3", "inf", "glue", "adapter", "x" * 300, "local", "!!", "0"]),
    st.lists(st.one_of(st.integers(-3, 10), st.text(max_size=3)), max_size=4),
    st.dictionaries(st.sampled_from(["lr", "cpu", "type", "x"]), st.integers(-2, 5), max_size=2),
)


def _paths(tree, prefix=()) -> list[tuple]:
    """Every key path of mapping keys and list items."""
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out.append((*prefix, i))
            out += _paths(v, (*prefix, i))
    return out


def _parent(tree, path):
    for k in path[:-1]:
        tree = tree[k]
    return tree


def _perturbed(value, draw):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return draw(st.sampled_from([-value, value * 10**6, value + 0.5, value - 1, 0]))
    if isinstance(value, str) and value:
        i = draw(st.integers(0, len(value) - 1))
        return value[:i] + draw(st.sampled_from(["x", "", "_", "1", " "])) + value[i + 1 :]
    if isinstance(value, list):
        return value[1:] if value and draw(st.booleans()) else [*value, draw(VALUES)]
    return draw(VALUES)


@st.composite
def tree_mutation(draw):
    """(sweep name, mutated text, the key names a rejection must mention)."""
    name = draw(st.sampled_from(sorted(TREES)))
    tree = yaml.safe_load(TEXTS[name])
    path = draw(st.sampled_from(_paths(tree)))
    parent = _parent(tree, path)
    key = path[-1]
    kind = draw(st.sampled_from(["delete", "retype", "rename", "perturb"]))
    names = [str(k) for k in path[-2:] if not isinstance(k, int)]
    if kind == "delete":
        del parent[key]
    elif kind == "retype":
        parent[key] = draw(VALUES)
    elif kind == "perturb":
        parent[key] = _perturbed(parent[key], draw)
    elif isinstance(parent, dict):
        new = str(key) + draw(st.sampled_from(["x", "_", "s", "2"]))
        parent[new] = parent.pop(key)
        names.append(new)
    else:  # a list item has no name: rename means drop it
        del parent[key]
    return name, yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), names


@st.composite
def duplicated_line(draw):
    """(sweep name, text with one key line doubled, that key, its line number)."""
    name = draw(st.sampled_from(sorted(TEXTS)))
    lines = TEXTS[name].splitlines()
    candidates = [i for i, line in enumerate(lines) if KEY_LINE.match(line)]
    i = draw(st.sampled_from(candidates))
    doubled = [*lines[: i + 1], lines[i], *lines[i + 1 :]]
    return name, "\n".join(doubled) + "\n", KEY_LINE.match(lines[i]).group(1), i + 1


@st.composite
def garbled(draw):
    name = draw(st.sampled_from(sorted(TEXTS)))
    data = bytearray(TEXTS[name].encode())
    nasty = st.sampled_from(
        [b"\xff", b"\x00", b"\xc3", b"{", b"[", b":", b"&a", b"*a", b"\n", b"\t"]
    )
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(data) - 1))
        chunk = draw(st.one_of(nasty, st.binary(min_size=1, max_size=2)))
        data[i : i + 1] = chunk
    return name, bytes(data)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def plan(folder: Path, content: str | bytes) -> tuple[int, str, str, Path]:
    path = folder / "mutant.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["plan", str(path), "--store", str(folder / "store")])
    return rc, out.getvalue(), err.getvalue(), path


def check_outcome(rc: int, out: str, err: str, path: Path) -> None:
    """Success with the counted number of nodes, or exit 2 with problem lines only."""
    from orchestrator.planning.size import count_nodes

    assert rc in (0, 2), err
    assert "Traceback" not in err
    if rc == 0:
        nodes = int(re.search(r": (\d+) nodes, ", out).group(1))
        assert count_nodes(load_spec(path)).total == nodes
        return
    assert err.startswith("error: "), err
    body = err.splitlines()[1:] or [err]
    assert all(line.strip() for line in body), err


EXPLORE = os.environ.get("SWEEP_FUZZ_EXPLORE") == "1"
FUZZ = settings(
    max_examples=int(os.environ.get("SWEEP_FUZZ_EXAMPLES", "60")),
    derandomize=not EXPLORE,
    deadline=timedelta(seconds=30),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.slow
@FUZZ
@given(tree_mutation())
def test_a_mutated_key_is_planned_or_named(folder, mutation):
    name, text, names = mutation
    rc, out, err, path = plan(folder, text)
    check_outcome(rc, out, err, path)
    if rc == 2:
        assert any(n in err for n in names), f"{name}: none of {names} in\n{err}"


@FUZZ
@given(duplicated_line())
def test_a_doubled_key_is_named_with_both_lines(folder, mutation):
    name, text, key, line = mutation
    rc, out, err, path = plan(folder, text)
    check_outcome(rc, out, err, path)
    assert rc == 2, f"{name}: doubled {key} at line {line} was accepted"
    pattern = rf"[ .]{re.escape(key)}: duplicate key at line {line + 1}\b.*first at line {line}\b"
    assert re.search(pattern, err), err


@pytest.mark.slow
@settings(FUZZ, max_examples=int(os.environ.get("SWEEP_FUZZ_EXAMPLES", "80")))
@given(garbled())
def test_garbled_bytes_are_planned_or_reported(folder, mutation):
    _, data = mutation
    check_outcome(*plan(folder, data))
