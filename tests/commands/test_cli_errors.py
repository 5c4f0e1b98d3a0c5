"""Every verb answers bad arguments with exit status 2 and one clear line, never a traceback."""

from __future__ import annotations

import os

import pytest

from orchestrator.__main__ import VERBS, main
from tests.conftest import run_cli
from tests.result_rows import add

GOOD = """\
sweep: s
backbone: tiny-roberta
benchmarks:
  synthetic: {seeds: [0]}
methods:
  adapter: {lr: 1.0e-3}
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A good sweep, a file where folders belong, and a results folder of GLUE rows."""
    root = tmp_path_factory.mktemp("cli")
    (root / "good.yaml").write_text(GOOD)
    (root / "afile").write_text("not a folder")
    results = str(root / "results")
    add(results, "a-rte-0", "adapter", "rte", 0, 70.0)
    add(results, "s-rte-0", "scalearn", "rte", 0, 80.0, kind="transfer")
    return root


# (verb and arguments with {w} for the work folder, what the one error line says)
CASES = [
    ("plan {w}/missing.yaml", "cannot read the file"),
    ("plan {w}/good.yaml --store {w}/afile", "--store: {w}/afile is a file, not a folder"),
    ("plan {w}/good.yaml --store bogus+x://y", "--store: cannot open the store bogus+x://y"),
    ("plan {w}/good.yaml --estimate --gpus 0", "argument --gpus: expected a positive number"),
    ("plan {w}/good.yaml --estimate --gpus -1", "argument --gpus: expected a positive number"),
    ("plan {w}/good.yaml --estimate --gpus nan", "argument --gpus: expected a finite number"),
    ("plan {w}/good.yaml --max-nodes 0", "argument --max-nodes: expected a positive integer"),
    ("run {w}/good.yaml --simulate --speed 0", "argument --speed: expected a positive number"),
    ("run {w}/good.yaml --simulate --speed -1", "argument --speed: expected a positive number"),
    ("run {w}/good.yaml --simulate --speed inf", "argument --speed: expected a finite number"),
    ("run {w}/good.yaml --num-cpus 0", "argument --num-cpus: expected a positive integer"),
    ("run {w}/good.yaml --min-nodes -1", "argument --min-nodes: expected a non-negative integer"),
    ("run {w}/good.yaml --results {w}/afile", "--results: {w}/afile is a file, not a folder"),
    ("run {w}/good.yaml --store {w}/afile/x", "--store: {w}/afile/x cannot be a folder"),
    ("run {w}/good.yaml --address 127.0.0.1:1", "--address: nothing answers at 127.0.0.1:1"),
    ("run {w}/good.yaml --address headnode", "--address: expected a Ray cluster address"),
    ("status {w}/nothing", "{w}/nothing: no such folder; give results/<sweep> of a run"),
    ("status {w}/afile", "{w}/afile: a file, not a folder"),
    ("table {w}/nothing", "{w}/nothing: no such folder"),
    ("table {w}/results/s --benchmark glu", "argument --benchmark: invalid choice: 'glu'"),
    ("table {w}/results/s --k 0", "argument --k: expected a positive integer"),
    ("plot {w}/nothing --out {w}/x.png", "{w}/nothing: no such folder"),
    ("plot {w}/results/s --out {w}/x.txt", "--out {w}/x.txt: expected a .png, .pdf or .svg"),
    ("plot {w}/results/s --out {w}/no/x.png", "--out: no such folder: {w}/no (make it first)"),
    ("plot {w}/results/s --out {w}/afile/x.png", "--out: {w}/afile is a file, not a folder"),
    ("plot {w}/results/s --out {w}/x.png --benchmark glu", "invalid choice: 'glu'"),
    ("plot {w}/results/s --out {w}/x.png --benchmark humset", "no finished results of humset"),
    ("plot {w}/results/s --out {w}/x.png --kind omegas", "--kind omegas needs --target TASK"),
    ("params --sources 0", "argument --sources: expected a positive integer, got 0"),
    ("params --sources -3", "argument --sources: expected a positive integer, got -3"),
    ("params --sources many", "argument --sources: expected an integer, got 'many'"),
    ("data check --benchmark glue --tasks nope", "--tasks: nope: not tasks of glue"),
    ("data check --benchmark glue --data-dir {w}/afile", "--data-dir {w}/afile is not a dir"),
    ("data check --benchmark glu", "argument --benchmark: invalid choice: 'glu'"),
    ("report {w}/nothing --out {w}/r.html", "{w}/nothing: no such folder"),
    ("report {w}/results/s --out {w}/r.png", "--out {w}/r.png: expected an .html file"),
    ("report {w}/results/s --out {w}/no/r.html", "--out: no such folder: {w}/no (make it first)"),
    ("table {w}/results/s --significance --baseline nope", "nope"),
    ("run {w}/good.yaml --log-to comet", "argument --log-to: invalid choice: 'comet'"),
]
# and every verb, those added later included, with an option it does not have (argparse's
# message: a missing argument or the unknown option)
CASES += [(f"{verb} --no-such-option", "error:") for verb in VERBS]


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:") or ": error:" in line]


@pytest.mark.parametrize(("args", "says"), CASES, ids=[c[0] for c in CASES])
def test_bad_arguments_exit_2_with_one_clear_line(work, capsys, args, says):
    argv = args.format(w=work).split()
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse: usage, then one error line
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = _error_lines(err)
    assert len(lines) == 1, err
    assert says.format(w=work) in lines[0], err
    if "usage:" not in err:  # our own errors are that one line alone
        assert err.strip() == lines[0], err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_plot_into_a_read_only_folder(work, capsys):
    folder = work / "readonly"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert main(["plot", f"{work}/results/s", "--out", f"{folder}/x.png"]) == 2
        assert "--out: cannot write in" in capsys.readouterr().err
    finally:
        folder.chmod(0o700)


def test_a_real_process_says_the_same(work):
    out = run_cli("run", f"{work}/good.yaml", "--simulate", "--speed", "0", timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "argument --speed: expected a positive number, got 0" in out.stderr
    out = run_cli("status", f"{work}/nothing", timeout=120)
    assert (out.returncode, out.stderr) == (
        2,
        f"error: {work}/nothing: no such folder; give results/<sweep> of a run\n",
    )
