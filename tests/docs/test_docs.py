"""The README stays short and names only real verbs; the docs site lists every page and builds
with no warning; the hyperparameter reference is rendered from the code."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import types

import pytest
import yaml

from tests.conftest import ROOT

DOCS = ROOT / "docs"
README_MAX_WORDS = 2500


def _nav_pages(nav) -> list[str]:
    """Every page file named in mkdocs.yml's nav, at any depth."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [p for item in nav for p in _nav_pages(item)]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in _nav_pages(value)]
    return []


def _hook():
    path = DOCS / "hooks" / "hparams_table.py"
    spec = importlib.util.spec_from_file_location("hparams_table_hook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_is_short():
    words = len((ROOT / "README.md").read_text().split())
    assert words <= README_MAX_WORDS, f"README.md has {words} words; the rest belongs in docs/"


def test_every_docs_page_is_in_the_nav():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = set(_nav_pages(config["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages, "no page under docs/"
    assert pages <= nav, f"pages missing from mkdocs.yml's nav: {sorted(pages - nav)}"
    assert nav <= pages, f"nav names pages that do not exist: {sorted(nav - pages)}"


def test_the_readme_names_only_real_verbs():
    modules = {p.stem for p in (ROOT / "orchestrator" / "commands").glob("*.py")}
    verbs = modules - {"__init__", "args"}
    named = set(re.findall(r"python -m orchestrator (\w+)", (ROOT / "README.md").read_text()))
    assert named, "the README names no verb"
    assert named <= verbs, f"not verbs of python -m orchestrator: {sorted(named - verbs)}"
    assert verbs <= named, f"verbs the README leaves out: {sorted(verbs - named)}"


def test_the_hook_renders_one_table_per_title(monkeypatch):
    hook = _hook()
    from orchestrator.contract import hparams

    tables = {
        "Training": ["| key | default |", "|---|---|", "| `lr` | `1.0e-4` |"],
        "ScaLearn": ["| key | default |", "|---|---|", "| `omega_dropout` | `null` |"],
    }
    monkeypatch.setattr(hparams, "reference_tables", lambda: tables, raising=False)
    page = f"# Sweep files\n\nbefore\n\n{hook.MARKER}\n\nafter\n"
    out = hook.render(page)
    assert hook.MARKER not in out
    assert out.index("### Training") < out.index("| `lr` |") < out.index("### ScaLearn")
    assert out.index("| `omega_dropout` |") < out.index("after")


def test_the_hook_warns_when_the_page_lost_its_marker(caplog):
    hook = _hook()
    page = types.SimpleNamespace(file=types.SimpleNamespace(src_uri=hook.PAGE))
    with caplog.at_level("WARNING"):
        assert hook.on_page_markdown("# Sweep files\n", page=page) == "# Sweep files\n"
    assert hook.MARKER in caplog.text


def test_the_site_builds_strictly(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]'); the site is not built")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "sweep-files" / "index.html").is_file()
