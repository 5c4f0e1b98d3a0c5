"""The paper's tables from a results frame: grouped rows, ordered columns, the paper's numbers.

Rows are methods in the paper's groups and order (STL; joint MTL; two-stage transfer), columns the
benchmark's tasks in the paper's order plus Avg.; a cell is the mean over seeds on the 0-100 scale.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources

import pandas as pd

from orchestrator.analysis.significance import ALPHA, Significance, compare
from orchestrator.contract.methods import METHODS, SIGNIFICANCE_BASELINE, Kind
from orchestrator.contract.node import NodeStatus
from orchestrator.results.row_files import latest
from trainables.tasks.registry import BENCHMARKS, display_name

PAPER_CSV = "scalearn_paper_tables.csv"


def paper_reference() -> pd.DataFrame:
    """The paper's published numbers: benchmark, backbone, group, system, task, score."""
    with resources.files("orchestrator.analysis.reference").joinpath(PAPER_CSV).open() as f:
        return pd.read_csv(f)


AVG = "Avg."


@dataclass
class Table:
    """A results grid with its seed counts and notes, ready to render.

    ``columns`` are the cell keys in order: a benchmark's tasks then ``Avg.``; a grid of several
    benchmarks has ``<benchmark>:<task>`` keys and one ``<benchmark>:Avg.`` per benchmark, then
    ``Avg.`` over every task. ``labels`` are their headers.
    """

    benchmark: str | None
    tasks: list[str]
    methods: list[str]
    mean: pd.DataFrame  # method x columns
    std: pd.DataFrame
    n: pd.DataFrame  # seeds behind each cell
    paper: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    per_seed: pd.DataFrame | None = None  # (method, seed) x columns: the scores behind each cell
    significance: Significance | None = None

    def __post_init__(self) -> None:
        if not self.columns and self.tasks:
            self.columns = [*self.tasks, AVG]
        for c in self.columns:
            self.labels.setdefault(c, display_name(c))

    def is_average(self, column: str) -> bool:
        """Whether a column is an average over tasks rather than one task's cell."""
        return column == AVG or column.endswith(f":{AVG}")


def few_shot_k(df: pd.DataFrame) -> pd.Series:
    """The few-shot k of each row (None for full-data rows), from its hyperparameters."""
    return df["hparams"].map(lambda h: json.loads(h).get("k") if isinstance(h, str) else None)


def _finished(df: pd.DataFrame, k: int | None, notes: list[str]) -> pd.DataFrame:
    """The done rows a grid counts: no search samples or probes; full-data rows, or k's."""
    df = latest(df)
    if df.empty:
        return df
    # a search's samples are configurations tried, not results; its seed nodes are
    sample = df["search_role"].eq("sample") if "search_role" in df else False
    # probes are experiments about sources, not a method's results (experiment_tables)
    probe = df["kind"].eq(Kind.PROBE.value)
    df = df[(df["status"] == NodeStatus.DONE.value) & ~sample & ~probe]
    ks = few_shot_k(df)
    if k is None and ks.notna().any():
        found = ", ".join(str(int(v)) for v in sorted(ks.dropna().unique()))
        notes.append(f"few-shot results for k = {found} left out; choose one with --k")
    return df[ks.isna()] if k is None else df[ks == k]


def _benchmarks(df: pd.DataFrame) -> list[str]:
    """The benchmarks of the rows, pools (``glue+superglue``) split into theirs, in order."""
    return list(dict.fromkeys(part for b in df["benchmark"] for part in str(b).split("+")))


def rows_of(df: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """The rows of one benchmark's grid: its nodes', a pool's on its tasks, and the stage-one
    rows of its tasks (a stage-one node is the same run whichever benchmark lists its task)."""
    tasks = set(BENCHMARKS.get(benchmark, ()))
    own = df["benchmark"] == benchmark
    pooled = df["benchmark"].map(lambda b: benchmark in str(b).split("+") and "+" in str(b))
    stage_one = df["kind"].eq(Kind.STL.value) & df["task"].isin(tasks)
    picked = df[own | ((pooled | stage_one) & df["task"].isin(tasks))]
    return picked.drop_duplicates(["node_id", "task"])


def _cells(df: pd.DataFrame, methods: list[str], tasks: list[str], split: str):
    col = "score" if split == "test" else "dev_score"
    g = df.groupby(["method", "task"])[col]
    mean = g.mean().unstack().reindex(index=methods, columns=tasks)
    std = g.std(ddof=1).unstack().reindex(index=methods, columns=tasks)
    n = g.count().unstack().reindex(index=methods, columns=tasks).fillna(0).astype(int)
    mean[AVG] = mean[tasks].mean(axis=1, skipna=False)
    per_seed = df.groupby(["method", "seed", "task"])[col].mean().unstack().reindex(columns=tasks)
    # a seed's Avg. needs that seed on every task, as a row's Avg. needs every task
    per_seed[AVG] = per_seed[tasks].mean(axis=1, skipna=False)
    return mean, std, n, per_seed


def _coverage_notes(n: pd.DataFrame, methods: list[str], tasks: list[str], prefix="") -> list:
    notes = []
    for m in methods:
        missing = [display_name(t) for t in tasks if n.loc[m, t] == 0]
        if missing:
            notes.append(
                f"{METHODS[m].display}: {prefix}Avg. left empty, no result for {', '.join(missing)}"
            )
    uneven = [t for t in tasks if n[t][n[t] > 0].nunique() > 1]
    if uneven:
        notes.append(
            "seed counts differ within "
            + ", ".join(display_name(t) for t in uneven)
            + "; cells with fewer seeds than their column show (n=...)"
        )
    return notes


def build_table(
    df: pd.DataFrame,
    benchmark: str | None = None,
    split: str = "test",
    compare_paper: bool = False,
    k: int | None = None,
) -> Table:
    """Aggregate done rows over seeds into a Table for one benchmark, or for all of them side by
    side with an Avg. each when ``benchmark`` is None and the results span several.

    Few-shot rows count only when ``k`` names their k; without it only full-data rows count.
    """
    notes: list[str] = []
    df = _finished(df, k, notes)
    benches = [benchmark] if benchmark else (_benchmarks(df) if not df.empty else [])
    known = [b for b in benches if b in BENCHMARKS]
    if benchmark is None and len(known) > 1:
        return _side_by_side(df, known, split, compare_paper, k, notes)
    if benchmark is not None and not df.empty:
        df = rows_of(df, benchmark)
    if df.empty:
        empty = pd.DataFrame()
        return Table(benchmark, [], [], empty, empty, empty, notes=[*notes, "no finished rows"])
    present = set(df["task"])
    tasks = list(dict.fromkeys(t for b in benches for t in BENCHMARKS.get(b, ()) if t in present))
    tasks += sorted(present - set(tasks))
    methods = [m for m in METHODS if m in set(df["method"])]
    mean, std, n, per_seed = _cells(df, methods, tasks, split)
    notes += _coverage_notes(n, methods, tasks)
    paper = None
    if compare_paper and len(benches) != 1:
        notes.append("--compare-paper needs one benchmark; use --benchmark")
    elif compare_paper:
        backbones = sorted({str(b) for b in df["backbone"]})
        paper, why = paper_cells(benches[0], backbones, methods, tasks, k)
        notes.extend(why)
    return Table(benchmark, tasks, methods, mean, std, n, paper, notes, per_seed=per_seed)


def _side_by_side(
    df: pd.DataFrame, benches: list[str], split: str, compare_paper: bool, k, notes: list[str]
) -> Table:
    """Each benchmark's grid in turn (its tasks, its Avg.), then Avg. over every distinct task."""
    methods = [m for m in METHODS if m in set(df["method"])]
    means, stds, ns, seeds, papers, labels = [], [], [], [], [], {}
    all_tasks: list[str] = []
    for b in benches:
        rows = rows_of(df, b)
        present = set(rows["task"])
        tasks = [t for t in BENCHMARKS[b] if t in present]
        mean, std, n, per_seed = _cells(rows, methods, tasks, split)
        notes += _coverage_notes(n, methods, tasks, prefix=f"{b} ")
        keys = {t: f"{b}:{t}" for t in [*tasks, AVG]}
        means.append(mean.rename(columns=keys))
        stds.append(std.rename(columns=keys))
        ns.append(n.rename(columns=keys))
        seeds.append(per_seed.rename(columns=keys))
        labels.update({f"{b}:{t}": display_name(t) for t in tasks})
        labels[f"{b}:{AVG}"] = f"{_BENCHMARK_NAMES.get(b, b)} Avg."
        if compare_paper:
            backbones = sorted({str(x) for x in rows["backbone"]})
            paper, why = paper_cells(b, backbones, methods, tasks, k)
            notes.extend(f"{b}: {w}" for w in why)
            if paper is not None:
                papers.append(paper.rename(columns=keys))
        all_tasks += [t for t in tasks if t not in all_tasks]
    mean, std, n = pd.concat(means, axis=1), pd.concat(stds, axis=1), pd.concat(ns, axis=1)
    # every distinct task once (RTE is GLUE's and SuperGLUE's)
    firsts = [next(f"{b}:{t}" for b in benches if f"{b}:{t}" in mean) for t in all_tasks]
    mean[AVG] = mean[firsts].mean(axis=1, skipna=False)
    per_seed = pd.concat(seeds, axis=1)
    per_seed[AVG] = per_seed[firsts].mean(axis=1, skipna=False)
    columns = [c for c in mean.columns if c != AVG] + [AVG]
    labels[AVG] = "Avg. (all)"
    paper = pd.concat(papers, axis=1).reindex(columns=columns) if papers else None
    return Table(None, all_tasks, methods, mean, std, n, paper, notes, columns, labels, per_seed)


DEFAULT_BASELINE = SIGNIFICANCE_BASELINE


def mark_significance(
    t: Table, test: str = "welch", baseline: str | None = None, alpha: float = ALPHA
) -> Table:
    """Mark each cell whose per-seed scores differ from the baseline row's in the same column
    (``test`` over seeds, Holm-corrected over every comparison of the table) and say so in a
    note. The baseline defaults to Adapter where the table has it, else its first row.

    Raises ValueError naming the rows a table has when ``baseline`` is not one of them."""
    if not t.methods or t.per_seed is None:
        return t
    if baseline is None:
        baseline = DEFAULT_BASELINE if DEFAULT_BASELINE in t.methods else t.methods[0]
    if baseline not in t.methods:
        raise ValueError(
            f"--baseline {baseline!r} is no row of this table; its rows: {', '.join(t.methods)}"
        )
    present = set(t.per_seed.index.get_level_values("method"))
    scores = {
        (m, c): t.per_seed.loc[m][c].dropna().tolist()
        for m in t.methods
        if m in present
        for c in t.columns
    }
    t.significance = compare(scores, t.methods, t.columns, baseline, test, alpha)
    t.notes.append(t.significance.note(METHODS[baseline].display))
    return t


_BENCHMARK_NAMES = {"glue": "GLUE", "superglue": "SuperGLUE", "humset": "HumSet"}


def grid(df: pd.DataFrame, benchmark: str | None = None, split: str = "test", std: bool = False):
    """Methods (paper order) by tasks (paper order) plus Avg.: the mean over seeds of done rows.

    Avg. is the mean of the row's task cells and stays empty (NaN) when a task is missing.
    With ``std`` the result has a second column level: mean and std.
    """
    t = build_table(df, benchmark=benchmark, split=split)
    if not std or t.mean.empty:
        return t.mean
    return pd.concat({"mean": t.mean, "std": t.std}, axis=1)


FULL_DATA = "full"  # the reference's setting of full-data results (few-shot: "k=4", ...)
_HUB_ORG = "FacebookAI/"


def paper_cells(
    benchmark: str, backbones: list[str], methods: list[str], tasks: list[str], k: int | None
) -> tuple[pd.DataFrame | None, list[str]]:
    """The paper's numbers beside a table of ``methods`` x ``tasks``, and notes saying what they
    are; (None, why) where the paper has none for these results.

    A paper cell is shown only where the results' backbone and setting (full data, or few-shot
    with k) are the paper's. Its Avg. is the paper's published one when the table shows every
    task of the benchmark, else the mean of the paper's cells over the tasks shown.
    """
    ref = paper_reference()
    ref = ref[ref["benchmark"] == benchmark]
    setting = FULL_DATA if k is None else f"k={k}"
    settings = ref["setting"] if "setting" in ref else pd.Series(FULL_DATA, index=ref.index)
    ref = ref[settings == setting]
    what = "full-data results" if k is None else f"few-shot results with k = {k}"
    if ref.empty:
        return None, [f"--compare-paper: the paper's reference has no {what} for {benchmark}"]
    ours = {b.removeprefix(_HUB_ORG) for b in backbones}
    papers = sorted(set(ref["backbone"]))
    if len(ours) != 1 or not ours <= set(papers):
        return None, [
            f"--compare-paper: no paper numbers, these results are on {', '.join(backbones)}; "
            f"the paper's {benchmark} {what} are on {', '.join(papers)}"
        ]
    ref = ref[ref["backbone"] == ours.pop()]
    by_system = {METHODS[m].display: m for m in methods}
    by_task = {display_name(t): t for t in tasks}
    out = pd.DataFrame(index=methods, columns=[*tasks, "Avg."], dtype=float)
    published = pd.Series(float("nan"), index=methods)
    for r in ref.itertuples():
        if r.system not in by_system:
            continue
        if r.task == "Avg.":
            published[by_system[r.system]] = float(r.score)
        elif r.task in by_task:
            out.loc[by_system[r.system], by_task[r.task]] = float(r.score)
    paper_tasks = [t for t in BENCHMARKS.get(benchmark, ()) if display_name(t) in set(ref["task"])]
    if set(paper_tasks) <= set(tasks):
        out["Avg."] = published
        return out, []
    out["Avg."] = out[tasks].mean(axis=1, skipna=False)
    shown = ", ".join(display_name(t) for t in tasks)
    return out, [
        f"paper Avg. is the mean of the paper's numbers over the {len(tasks)} tasks shown "
        f"({shown}), not its published Avg. over all {len(paper_tasks)}"
    ]


def _best(t: Table, col: str) -> float:
    """The highest mean of a column (NaN when it has none)."""
    return float(t.mean[col].max())


def _cell(t: Table, m: str, col: str, std: bool, fmt: str = "md") -> str:
    v = t.mean.loc[m, col]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        text = ""
    else:
        text = f"{v:.2f}"
        if fmt == "latex" and f"{v:.2f}" == f"{_best(t, col):.2f}":
            text = rf"\textbf{{{text}}}"  # the paper's convention: the best of each column
        if t.significance is not None and (m, col) in t.significance.marked:
            text += "$^{*}$" if fmt == "latex" else "*"
        if std and not t.is_average(col):
            s = t.std.loc[m, col]
            text += f" ± {s:.2f}" if not math.isnan(s) else " ± -"
        if not t.is_average(col):
            n = int(t.n.loc[m, col])
            if n < int(t.n[col].max()):
                text += f" (n={n})"
    if t.paper is not None and col in t.paper:
        p = t.paper.loc[m, col]
        if not math.isnan(p):
            diff = f", {v - p:+.2f}" if text and not math.isnan(v) else ""
            text = f"{text} [paper {p:.2f}{diff}]".strip()
    return text


def table_rows(t: Table, std: bool = False, fmt: str = "md") -> list[list[str]]:
    """Header plus one row per method: group, method, cells (LaTeX: the best of each column
    bold; with significance marked, ``*`` on the cells that differ from the baseline)."""
    header = ["Group", "Method", *[t.labels[c] for c in t.columns]]
    rows = [header]
    for m in t.methods:
        rows.append(
            [METHODS[m].group, METHODS[m].display, *[_cell(t, m, c, std, fmt) for c in t.columns]]
        )
    return rows


def render(t: Table, fmt: str = "md", std: bool = False) -> str:
    """The table as Markdown, CSV or LaTeX, notes below it."""
    if not t.methods:
        return "\n".join(t.notes)
    rows = table_rows(t, std, fmt)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        return buf.getvalue()
    if fmt == "latex":
        return _latex(rows, t.notes)
    return _markdown(rows, t.notes)


def _markdown(rows: list[list[str]], notes: list[str]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(r: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    out = [line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    last_group = None
    for r in rows[1:]:
        shown = r[0] if r[0] != last_group else ""
        last_group = r[0]
        out.append(line([shown, *r[1:]]))
    return "\n".join(out + [""] + [f"Note: {n}" for n in notes]).rstrip()


def _latex(rows: list[list[str]], notes: list[str]) -> str:
    def esc(s: str) -> str:
        return s.replace("±", r"$\pm$").replace("_", r"\_").replace("%", r"\%")

    cols = len(rows[0]) - 1
    out = [
        r"\begin{tabular}{l" + "r" * (cols - 1) + "}",
        r"\toprule",
        " & ".join(esc(c) for c in rows[0][1:]) + r" \\",
        r"\midrule",
    ]
    last_group = None
    for r in rows[1:]:
        if r[0] != last_group:
            if last_group is not None:
                out.append(r"\midrule")
            out.append(rf"\multicolumn{{{cols}}}{{l}}{{\textit{{{esc(r[0])}}}}} \\")
            last_group = r[0]
        out.append(" & ".join(esc(c) for c in r[1:]) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    out += [f"% {n}" for n in notes]
    return "\n".join(out)


def search_table(df: pd.DataFrame) -> str:
    """Every search group: the configurations tried with their dev scores, the winner marked."""
    df = latest(df)
    if df.empty or "search_role" not in df or not df["search_role"].notna().any():
        return "no searches in these results"
    out = []
    for gid, g in df[df["search_role"].notna()].groupby("search_group", sort=False):
        first = g.iloc[0]
        where = first["task"] if first["kind"] != "joint" else first["benchmark"]
        samples = g[g["search_role"] == "sample"]
        keys = searched_keys(g)
        out.append(
            f"{METHODS[first['method']].display} on {display_name(where)} ({gid}): "
            f"{samples['node_id'].nunique()} samples over {', '.join(keys)}"
        )
        per_node = samples.groupby("node_id").agg(
            dev_score=("dev_score", "mean"),
            status=("status", "first"),
            hparams=("hparams", "first"),
        )
        best_score = per_node.loc[per_node.status == NodeStatus.DONE.value, "dev_score"].max()
        marked = False
        for _, r in per_node.sort_values("dev_score", ascending=False).iterrows():
            params = json.loads(r["hparams"]) if isinstance(r["hparams"], str) else {}
            shown = ", ".join(f"{k}={_fmt(params.get(k))}" for k in keys)
            best = (
                not marked and r["status"] == NodeStatus.DONE.value and r["dev_score"] == best_score
            )
            marked |= best
            mark = "  <- best" if best else ""
            score = f"{r['dev_score']:.2f}" if pd.notna(r["dev_score"]) else "-"
            out.append(f"  {shown:<40} dev {score:>7}  {r['status']}{mark}")
        best = g[g["search_role"] == "best"]
        if not best.empty and isinstance(best.iloc[0]["hparams"], str):
            params = json.loads(best.iloc[0]["hparams"])
            out.append(
                "  seed nodes trained with: "
                + ", ".join(f"{k}={_fmt(params.get(k))}" for k in keys)
            )
        out.append("")
    return "\n".join(out).rstrip()


def searched_keys(g: pd.DataFrame) -> list[str]:
    """The hyperparameters that vary among a group's samples."""
    params = [json.loads(h) for h in g["hparams"].dropna()]
    if not params:
        return []
    return sorted(k for k in params[0] if len({json.dumps(p.get(k)) for p in params}) > 1)


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)
