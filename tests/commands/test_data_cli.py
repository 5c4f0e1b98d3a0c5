"""``python -m orchestrator data check``: the splits a sweep trains on, without torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SHARED_DATA
from tests.hub_rows import rows, write

GLUE = SHARED_DATA / "glue"
needs_glue = pytest.mark.skipif(
    not GLUE.is_dir(), reason=f"the real GLUE files are not at {GLUE} (see PROVENANCE.md)"
)


@pytest.mark.slow
@needs_glue
def test_glue_check_shows_rows_and_labels_and_flags_missing_tasks(cli):
    out = cli("data", "check", "--benchmark", "glue", "--data-dir", str(GLUE))
    assert out.returncode == 1, "MNLI, QQP and QNLI are not in the shared data"
    text = out.stdout
    assert "rte: 2241 / 249 / 277" in text and "mrpc: 3301 / 367 / 408" in text
    assert "cola: 7695 / 856 / 1043" in text and "stsb: 5174 / 575 / 1500" in text
    assert "entailment 1124 (50.2 %), not_entailment 1117 (49.8 %)" in text
    assert "in_domain_train.tsv, dev.tsv" in text
    assert "mnli: not loaded" in text and "no folder mnli or MNLI" in text
    assert "warning" not in text, "every file read has the official number of rows"


@needs_glue
def test_json_output_for_chosen_tasks(cli):
    out = cli(
        "data",
        "check",
        "--benchmark",
        "glue",
        "--data-dir",
        str(GLUE),
        "--tasks",
        "stsb,rte",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert list(report["tasks"]) == ["stsb", "rte"]  # the paper's order
    rte = report["tasks"]["rte"]["splits"]
    assert [rte[s]["rows"] for s in ("train", "dev", "test")] == [2241, 249, 277]
    assert sum(report["tasks"]["stsb"]["splits"]["test"]["labels"].values()) == 1500


def test_wrong_row_counts_are_warned_and_groups_counted(cli, tmp_path):
    write(tmp_path / "rte" / "train.parquet", rows("rte", "train", 40))
    write(tmp_path / "rte" / "validation.parquet", rows("rte", "validation", 10))
    write(tmp_path / "multirc" / "train.jsonl", rows("multirc", "train", 20))
    write(tmp_path / "multirc" / "val.jsonl", rows("multirc", "validation", 4))
    args = ("data", "check", "--benchmark", "superglue", "--data-dir", str(tmp_path))
    out = cli(*args, "--tasks", "rte,multirc")
    assert out.returncode == 1
    assert "the train file has 40 rows, the official split 2490" in out.stdout
    assert "12 rows; 4 questions" in out.stdout  # MultiRC's test: 3 options per question
    assert cli(*args, "--tasks", "wic,nope").returncode != 0


def test_data_check_imports_no_torch(tmp_path):
    write(tmp_path / "copa" / "train.jsonl", rows("copa", "train", 20))
    write(tmp_path / "copa" / "val.jsonl", rows("copa", "validation", 5))
    code = (
        "import sys; from orchestrator.__main__ import main;"
        f"rc = main(['data', 'check', '--benchmark', 'superglue', '--data-dir', '{tmp_path}',"
        " '--tasks', 'copa']);"
        "bad = [m for m in ('torch', 'transformers', 'adapters', 'ray') if m in sys.modules];"
        "print('LOADED', bad); sys.exit(rc or bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and "LOADED []" in out.stdout  # 1: 20 rows, not COPA's 400
    assert "choice1" in out.stdout and "copa: 18 / 2 / 5" in out.stdout
