"""Tables of the paper's other experiments: scores against a setting rather than a method's grid.

- Probing (Figures 3 and 5): a target's score against the fixed omega of each source adapter, and
  the pairwise grid of the target's own adapter's omega against a partner's.
- Few-shot (Figures 2 and 4): each method's average score over a benchmark's tasks against k.

Means and standard deviations are over seeds; only done rows count.
"""

from __future__ import annotations

import json

import pandas as pd

from orchestrator.analysis.tables import few_shot_k
from orchestrator.contract.methods import METHODS, Kind
from orchestrator.contract.node import NodeStatus
from orchestrator.results.row_files import latest
from trainables.tasks.registry import BENCHMARKS, display_name


def _done(df: pd.DataFrame) -> pd.DataFrame:
    df = latest(df)
    if df.empty:
        return df
    return df[df["status"] == NodeStatus.DONE.value]


def probe_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Done probe rows with their sources and fixed omegas as columns.

    Columns: target, seed, score, sources (tuple of task names), omegas (tuple), pairwise (bool).
    """
    df = _done(df)
    if df.empty:
        return pd.DataFrame(columns=["target", "seed", "score", "sources", "omegas", "pairwise"])
    df = df[df["kind"] == Kind.PROBE.value]
    sources = df["extra"].map(lambda e: tuple(json.loads(e or "{}").get("transfer", {})["sources"]))
    omegas = df["hparams"].map(lambda h: tuple(json.loads(h)["probe_omegas"]))
    return pd.DataFrame(
        {
            "target": df["task"].to_numpy(),
            "seed": df["seed"].to_numpy(),
            "score": df["score"].to_numpy(dtype=float),
            "sources": sources.to_numpy(),
            "omegas": omegas.to_numpy(),
            "pairwise": (sources.map(len) == 2).to_numpy(),
        }
    )


def single_source(df: pd.DataFrame) -> pd.DataFrame:
    """Single-source probing: index (target, source), columns omega, cells mean over seeds."""
    rows = probe_rows(df)
    rows = rows[~rows["pairwise"]]
    if rows.empty:
        return pd.DataFrame()
    rows = rows.assign(
        source=rows["sources"].map(lambda s: s[0]), omega=rows["omegas"].map(lambda w: w[0])
    )
    table = rows.groupby(["target", "source", "omega"])["score"].mean().unstack("omega")
    return table.reindex(task_order(table.index.get_level_values("target")), level="target")


def pairwise_grids(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Pairwise probing: per target, the own adapter's omega (rows) against the partner's."""
    rows = probe_rows(df)
    rows = rows[rows["pairwise"]]
    out = {}
    for target in task_order(rows["target"].unique()):
        g = rows[rows["target"] == target]
        own = g["omegas"].map(lambda w: w[0])
        partner = g["omegas"].map(lambda w: w[1])
        grid = g.assign(own=own, partner=partner).groupby(["own", "partner"])["score"].mean()
        grid = grid.unstack("partner")
        grid.index.name = f"{display_name(target)} omega"
        grid.columns.name = f"{display_name(g['sources'].iloc[0][1])} omega"
        out[target] = grid
    return out


def fewshot_curves(df: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark, method and k: the mean over tasks of each seed, then its mean and std over
    seeds (columns benchmark, method, k, mean, std, seeds); seeds missing a task are left out."""
    df = _done(df)
    cols = ["benchmark", "method", "k", "mean", "std", "seeds"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df.assign(k=few_shot_k(df))
    df = df[df["k"].notna() & (df["kind"] != Kind.PROBE.value)]
    out = []
    for (bench, method, k), g in df.groupby(["benchmark", "method", "k"]):
        tasks = g["task"].nunique()
        per_seed = g.groupby("seed").agg(score=("score", "mean"), n=("task", "nunique"))
        per_seed = per_seed[per_seed["n"] == tasks]["score"]
        out.append((bench, method, int(k), per_seed.mean(), per_seed.std(ddof=1), len(per_seed)))
    curves = pd.DataFrame(out, columns=cols)
    order = {m: i for i, m in enumerate(METHODS)}
    return curves.sort_values(["benchmark", "method", "k"], key=_sort_key(order)).reset_index(
        drop=True
    )


def _sort_key(order: dict):
    def key(col: pd.Series) -> pd.Series:
        return col.map(order) if col.name == "method" else col

    return key


def task_order(tasks) -> list[str]:
    """Tasks in the paper's order (GLUE, then SuperGLUE, HumSet, synthetic), others after."""
    known = list(dict.fromkeys(t for ts in BENCHMARKS.values() for t in ts))
    present = set(tasks)
    return [t for t in known if t in present] + sorted(present - set(known))


def render_probing(df: pd.DataFrame) -> str:
    """Both probing tables as Markdown, or a line saying there are no probes."""
    single, grids = single_source(df), pairwise_grids(df)
    if single.empty and not grids:
        return "no probing results in these results"
    out = []
    if not single.empty:
        out.append(
            "Single-source probing: test score by the source adapter's omega, mean over seeds"
        )
        header = ["Target", "Source", *[f"{w:g}" for w in single.columns]]
        rows = [
            [display_name(t), display_name(s), *[_num(v) for v in single.loc[(t, s)]]]
            for t, s in single.index
        ]
        out.append(_markdown([header, *rows]))
    for target, grid in grids.items():
        out.append("")
        out.append(
            f"Pairwise probing on {display_name(target)}: rows {grid.index.name}, "
            f"columns {grid.columns.name}"
        )
        header = ["", *[f"{w:g}" for w in grid.columns]]
        rows = [[f"{a:g}", *[_num(v) for v in grid.loc[a]]] for a in grid.index]
        out.append(_markdown([header, *rows]))
    return "\n".join(out)


def render_fewshot(df: pd.DataFrame) -> str:
    """Few-shot averages by k as Markdown, one block per benchmark."""
    curves = fewshot_curves(df)
    if curves.empty:
        return "no few-shot results in these results"
    out = []
    for bench, g in curves.groupby("benchmark", sort=False):
        ks = sorted(g["k"].unique())
        out.append(f"{bench}: average test score over its tasks by k, mean ± std over seeds")
        rows = [["Method", *[f"k={k}" for k in ks]]]
        for method, m in g.groupby("method", sort=False):
            cells = {
                r.k: f"{r.mean:.2f} ± {r.std:.2f}" if r.seeds > 1 else f"{r.mean:.2f}"
                for r in m.itertuples()
            }
            rows.append([METHODS[method].display, *[cells.get(k, "") for k in ks]])
        out.append(_markdown(rows))
        out.append("")
    return "\n".join(out).rstrip()


def _num(v) -> str:
    return "" if pd.isna(v) else f"{v:.2f}"


def _markdown(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(r):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    return "\n".join(
        [line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(r) for r in rows[1:]]
    )
