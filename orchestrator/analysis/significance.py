"""Whether a method differs from a baseline beyond chance over seeds, corrected for the number of
comparisons a table makes.

Two tests of a difference in means between two sets of per-seed scores: Welch's t-test (unequal
variances; the t statistic and its Welch-Satterthwaite degrees of freedom computed here, the
two-sided p from Student's t) and a bootstrap test (both samples shifted to the pooled mean, so
the null holds, then resampled with replacement). Holm's step-down procedure corrects the p values
of every comparison of one table together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TESTS = ("welch", "bootstrap")
BOOTSTRAP_RESAMPLES = 10_000


@dataclass(frozen=True)
class TestResult:
    """One comparison: the statistic (t for Welch, the difference in means for the bootstrap),
    the degrees of freedom (Welch only) and the two-sided p value."""

    statistic: float
    p: float
    df: float | None = None


def welch(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Welch's two-sided t-test of mean(a) == mean(b); each sample needs two values or more.

    Two samples without any spread have p = 1 when their means are equal and p = 0 otherwise."""
    x, y = _sample(a), _sample(b)
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    diff = float(x.mean() - y.mean())
    if va + vb == 0.0:
        return TestResult(math.copysign(math.inf, diff) if diff else 0.0, 0.0 if diff else 1.0)
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(x) - 1) + vb**2 / (len(y) - 1))
    from scipy.stats import t as student_t

    return TestResult(t, float(2.0 * student_t.sf(abs(t), df)), df)


def bootstrap(
    a: Sequence[float], b: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> TestResult:
    """A two-sided bootstrap test of mean(a) == mean(b): the share of resamples, drawn from both
    samples shifted to their pooled mean, whose difference in means is at least as large as the
    observed one (plus one, so p is never 0). Deterministic for a given ``seed``."""
    x, y = _sample(a), _sample(b)
    observed = float(x.mean() - y.mean())
    pooled = np.concatenate([x, y]).mean()
    x0, y0 = x - x.mean() + pooled, y - y.mean() + pooled
    rng = np.random.default_rng(seed)
    dx = rng.choice(x0, size=(resamples, len(x0))).mean(axis=1)
    dy = rng.choice(y0, size=(resamples, len(y0))).mean(axis=1)
    extreme = np.count_nonzero(np.abs(dx - dy) >= abs(observed) - 1e-12)
    return TestResult(observed, float((extreme + 1) / (resamples + 1)))


def _sample(values: Sequence[float]) -> np.ndarray:
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if len(x) < 2:
        raise ValueError(f"a test over seeds needs two scores or more per side, got {len(x)}")
    return x


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p values, in the order given: reject where adjusted p < alpha
    controls the family-wise error rate over all of them."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def run_test(name: str, a: Sequence[float], b: Sequence[float]) -> TestResult:
    """The test called ``name`` (one of ``TESTS``) of a against b."""
    if name == "welch":
        return welch(a, b)
    if name == "bootstrap":
        return bootstrap(a, b)
    raise ValueError(f"unknown significance test {name!r}; one of {', '.join(TESTS)}")


def describe(name: str) -> str:
    """The test's name as a table's note says it."""
    if name == "welch":
        return "Welch's t-test (two-sided)"
    return f"bootstrap test of the difference in means (two-sided, {BOOTSTRAP_RESAMPLES} resamples)"


ALPHA = 0.05


@dataclass
class Significance:
    """A table's comparisons with its baseline row: which cells differ beyond chance."""

    test: str
    baseline: str
    alpha: float
    marked: set[tuple[str, str]]  # (method, column) whose adjusted p < alpha
    adjusted: dict[tuple[str, str], float]  # Holm-adjusted p of every comparison made
    untested: list[tuple[str, str]]  # cells with a result but under two seeds on a side

    def note(self, baseline_name: str) -> str:
        """What the marks mean: the test, the correction and the threshold."""
        m = len(self.adjusted)
        text = (
            f"* marks a cell whose mean over seeds differs from {baseline_name}'s in its column: "
            f"{describe(self.test)}, p < {self.alpha:g} after Holm's correction over {m} "
            f"comparison{'s' if m != 1 else ''}"
        )
        if self.untested:
            text += f"; {len(self.untested)} cell(s) with fewer than two seeds on a side not tested"
        return text


def compare(
    per_seed: dict[tuple[str, str], list[float]],
    methods: Sequence[str],
    columns: Sequence[str],
    baseline: str,
    test: str = "welch",
    alpha: float = ALPHA,
) -> Significance:
    """Test every method's cell against the baseline's cell of the same column (per-seed scores
    in ``per_seed``), Holm-correcting over all the comparisons made."""
    raw: dict[tuple[str, str], float] = {}
    untested: list[tuple[str, str]] = []
    for m in methods:
        if m == baseline:
            continue
        for c in columns:
            a, b = per_seed.get((m, c), []), per_seed.get((baseline, c), [])
            if not a or not b:
                continue
            if len(a) < 2 or len(b) < 2:
                untested.append((m, c))
                continue
            raw[(m, c)] = run_test(test, a, b).p
    keys = list(raw)
    adjusted = dict(zip(keys, holm([raw[k] for k in keys]), strict=True))
    marked = {k for k, p in adjusted.items() if p < alpha}
    return Significance(test, baseline, alpha, marked, adjusted, untested)
