"""Significance over seeds: the tests against scipy, Holm's correction, the marks in a table."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from orchestrator.analysis.significance import bootstrap, holm, welch
from orchestrator.analysis.tables import build_table, mark_significance, render
from orchestrator.results import row_files as results
from tests.result_rows import add

SAMPLES = [
    ([70.1, 71.3, 69.8, 72.0, 70.6], [74.2, 75.9, 73.1, 76.4, 74.8]),
    ([60.0, 62.0], [50.0, 54.0, 52.5]),  # unequal sizes and variances
    ([88.1, 88.1, 88.4], [87.9, 90.2, 85.0, 91.7]),
    ([1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5]),
]


@pytest.mark.parametrize("a,b", SAMPLES)
def test_welch_equals_scipys_unequal_variance_t_test(a, b):
    ours = welch(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.p == pytest.approx(ref.pvalue, rel=1e-9)
    assert ours.df == pytest.approx(ref.df, rel=1e-12)


def test_welch_without_spread_and_too_few_seeds():
    assert welch([70.0, 70.0], [70.0, 70.0]).p == 1.0
    assert welch([70.0, 70.0], [71.0, 71.0]).p == 0.0
    with pytest.raises(ValueError, match="two scores or more"):
        welch([70.0], [71.0, 72.0])


def test_holm_adjusts_step_down_and_keeps_order():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, max(0.04*1, 0.06) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_bootstrap_separates_distant_means_not_equal_ones():
    a, b = SAMPLES[0]
    far = bootstrap(a, b)
    assert far.p < 0.01 and far.statistic == pytest.approx(sum(a) / 5 - sum(b) / 5)
    assert bootstrap(a, b).p == far.p  # deterministic
    assert bootstrap(a, [x + 0.05 for x in a]).p > 0.5


@pytest.fixture
def seeds(tmp_path):
    """Five seeds: ScaLearn clearly above Adapter on RTE, Full FT within Adapter's spread."""
    r = str(tmp_path / "results")
    scores = {
        "adapter": ([70.1, 71.3, 69.8, 72.0, 70.6], [60.2, 61.0, 59.5, 60.7, 60.1]),
        "scalearn": ([78.2, 79.9, 77.1, 80.4, 78.8], [60.6, 59.8, 61.2, 60.0, 60.4]),
        "full_ft": ([70.9, 69.7, 71.8, 70.2, 72.1], [61.5, 58.9, 60.8, 59.9, 61.1]),
    }
    for method, (rte, cola) in scores.items():
        kind = "transfer" if method == "scalearn" else "stl"
        for seed, (x, y) in enumerate(zip(rte, cola, strict=True)):
            add(r, f"{method}-rte-{seed}", method, "rte", seed, x, kind=kind)
            add(r, f"{method}-cola-{seed}", method, "cola", seed, y, kind=kind)
    return f"{r}/s"


def _row(text: str, name: str) -> list[str]:
    line = next(x for x in text.splitlines() if f"| {name} " in x)
    return [c.strip() for c in line.strip("|").split("|")]


def test_table_marks_cells_that_differ_from_the_baseline(seeds):
    t = mark_significance(build_table(results.load(seeds), benchmark="glue"))
    sig = t.significance
    assert sig.baseline == "adapter" and len(sig.adjusted) == 6  # 2 methods x (2 tasks + Avg.)
    assert sig.marked == {("scalearn", "rte"), ("scalearn", "Avg.")}
    adapter_rte = [70.1, 71.3, 69.8, 72.0, 70.6]
    raw = stats.ttest_ind([78.2, 79.9, 77.1, 80.4, 78.8], adapter_rte, equal_var=False).pvalue
    assert sig.adjusted[("scalearn", "rte")] >= raw  # corrected, never below the raw p
    text = render(t, "md")
    scalearn, full_ft = _row(text, "ScaLearn"), _row(text, "Full FT")
    assert scalearn[2:] == ["78.88*", "60.40", "69.64*"]
    assert not any("*" in c for c in full_ft)
    note = text.splitlines()[-1]
    assert "Welch's t-test" in note and "p < 0.05" in note and "Holm" in note
    assert "6 comparisons" in note and "Adapter" in note


def test_latex_bolds_the_best_of_each_column_and_marks_significance(seeds):
    t = mark_significance(build_table(results.load(seeds), benchmark="glue"))
    latex = render(t, "latex")
    scalearn = next(x for x in latex.splitlines() if x.startswith("ScaLearn"))
    assert r"\textbf{78.88}$^{*}$" in scalearn and r"\textbf{69.64}$^{*}$" in scalearn
    full_ft = next(x for x in latex.splitlines() if x.startswith("Full FT"))
    assert r"\textbf{60.44}" in full_ft and "$^{*}$" not in full_ft  # CoLA's best, not marked
    assert latex.count(r"\textbf") == 3 and "% * marks" in latex


def test_other_baseline_bootstrap_and_few_seeds(seeds, tmp_path):
    df = results.load(seeds)
    t = mark_significance(build_table(df, benchmark="glue"), test="bootstrap", baseline="scalearn")
    assert t.significance.marked == {
        ("adapter", "rte"),
        ("full_ft", "rte"),
        ("adapter", "Avg."),
        ("full_ft", "Avg."),
    }
    assert "bootstrap" in t.notes[-1] and "ScaLearn's" in t.notes[-1]
    with pytest.raises(ValueError, match="'bogus' is no row of this table; its rows: full_ft"):
        mark_significance(build_table(df, benchmark="glue"), baseline="bogus")
    one = str(tmp_path / "one")
    add(one, "a0", "adapter", "rte", 0, 70.0)
    add(one, "a1", "adapter", "rte", 1, 71.0)
    add(one, "s0", "scalearn", "rte", 0, 90.0, kind="transfer")
    t = mark_significance(build_table(results.load(f"{one}/s"), benchmark="glue"))
    assert not t.significance.marked and len(t.significance.untested) == 2
    assert "fewer than two seeds" in t.notes[-1]
    assert math.isnan(t.per_seed.loc["scalearn"]["rte"].get(1, math.nan))


def test_cli_significance(seeds, cli):
    out = cli("table", seeds, "--benchmark", "glue", "--significance", "--format", "latex")
    assert out.returncode == 0, out.stderr
    assert r"\textbf{78.88}$^{*}$" in out.stdout and "Holm" in out.stdout
    out = cli("table", seeds, "--significance", "--baseline", "nope")
    assert out.returncode == 2 and "'nope' is no row" in out.stderr
