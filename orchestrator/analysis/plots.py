"""Figures a researcher would put in a paper, drawn with matplotlib from a results frame."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from orchestrator.analysis.tables import build_table, searched_keys
from orchestrator.contract.methods import HEADLINE, METHODS, Kind
from orchestrator.contract.node import NodeStatus
from orchestrator.results.row_files import latest
from trainables.tasks.registry import display_name

KINDS = ("overview", "grid", "omegas", "search", "probing", "fewshot")
PANEL_COLUMNS = 5


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def method_params(df: pd.DataFrame) -> dict[str, float]:
    """The median transfer (or, for other methods, trainable) parameter count per method."""
    out = {}
    for m, g in df.groupby("method"):
        col = "transfer_params" if METHODS[m].kind == Kind.TRANSFER else "trainable_params"
        vals = g[col].dropna()
        if len(vals) and vals.median() > 0:
            out[m] = float(vals.median())
    return out


def draw_overview(ax, df: pd.DataFrame, benchmark: str | None = None) -> None:
    """The paper's Figure 1: average score against transfer parameters, log scale."""
    t = build_table(df, benchmark=benchmark)
    params = method_params(latest(df))
    points = [
        (params[m], t.mean.loc[m, "Avg."], m)
        for m in t.methods
        if METHODS[m].kind == Kind.TRANSFER
        and m in params
        and not math.isnan(t.mean.loc[m, "Avg."])
    ]
    for i, (x, y, m) in enumerate(sorted(points)):
        color = "tab:red" if METHODS[m].family == METHODS[HEADLINE].family else "tab:blue"
        ax.scatter([x], [y], s=60, color=color, zorder=3)
        # alternate above and below so neighbours' labels do not overlap
        ax.annotate(
            METHODS[m].display,
            (x, y),
            textcoords="offset points",
            xytext=(6, 6 if i % 2 == 0 else -14),
            fontsize=9,
        )
    for m in t.methods:  # the other methods as reference lines: they have no transfer layer
        avg = t.mean.loc[m, "Avg."]
        if METHODS[m].kind != Kind.TRANSFER and not math.isnan(avg):
            ax.axhline(avg, ls="--", lw=0.8, color="grey")
            ax.annotate(
                METHODS[m].display,
                (1.0, avg),
                xycoords=("axes fraction", "data"),
                xytext=(-4, 2),
                textcoords="offset points",
                ha="right",
                fontsize=8,
                color="grey",
            )
    ax.set_xscale("log")
    ax.set_xlabel("transfer parameters (log scale)")
    ax.set_ylabel("average score")
    ax.set_title("Average score against transfer parameters")
    ax.grid(True, which="both", alpha=0.3)
    if not points:
        ax.text(0.5, 0.5, "no transfer results yet", transform=ax.transAxes, ha="center")


def draw_grid(ax, df: pd.DataFrame, benchmark: str | None = None) -> None:
    """A heatmap of the results grid (methods by tasks, mean over seeds)."""
    t = build_table(df, benchmark=benchmark)
    cols = t.columns
    values = t.mean[cols].to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [t.labels[c] for c in cols], rotation=30, ha="right")
    ax.set_yticks(range(len(t.methods)), [METHODS[m].display for m in t.methods])
    lo, hi = np.nanmin(values), np.nanmax(values)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if not math.isnan(v):
                dark = (v - lo) / ((hi - lo) or 1) < 0.6
                ax.text(
                    j,
                    i,
                    f"{v:.1f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "black",
                )
    ax.set_title("Test score, mean over seeds")
    ax.figure.colorbar(im, ax=ax, fraction=0.04)


def omegas_for(df: pd.DataFrame, target: str, method: str = HEADLINE) -> tuple:
    """The mean over seeds of a transfer method's learned omegas for a target: (layers x sources,
    source names)."""
    rows = latest(df)
    rows = rows[
        (rows["method"] == method)
        & (rows["task"] == target)
        & (rows["status"] == NodeStatus.DONE.value)
    ]
    mats, names = [], None
    for extra in rows["extra"].dropna():
        summary = json.loads(extra).get("transfer", {})
        if summary.get("omegas"):
            mats.append(np.asarray(summary["omegas"], dtype=float))
            names = summary.get("sources")
    if not mats:
        raise ValueError(f"no learned omegas of {method} for target {target!r} in these results")
    return np.mean(mats, axis=0), names or [str(i) for i in range(mats[0].shape[1])]


def draw_omegas(ax, df: pd.DataFrame, target: str, method: str = HEADLINE) -> None:
    """Learned scaling per source (columns) and layer (rows) for one target task."""
    mat, names = omegas_for(df, target, method)
    im = ax.imshow(mat, cmap="magma", aspect="auto")
    ax.set_xticks(range(len(names)), [display_name(n) for n in names], rotation=30, ha="right")
    ax.set_yticks(range(mat.shape[0]), [f"layer {i}" for i in range(mat.shape[0])])
    ax.set_title(
        f"{METHODS[method].display}: mean omega per source and layer, target {display_name(target)}"
    )
    ax.figure.colorbar(im, ax=ax, fraction=0.04)


def draw_search(fig, df: pd.DataFrame) -> None:
    """Dev score against each searched hyperparameter, one panel per search group and parameter."""
    df = latest(df)
    samples = df[df["search_role"].eq("sample") & df["dev_score"].notna()]
    panels = []
    for _, g in samples.groupby("search_group", sort=False):
        for key in searched_keys(g):
            panels.append((g, key))
    if not panels:
        raise ValueError("no search samples in these results")
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    for i, (g, key) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        per_node = g.groupby("node_id").agg(dev=("dev_score", "mean"), hp=("hparams", "first"))
        xs = [json.loads(h).get(key) for h in per_node["hp"]]
        numeric = all(isinstance(x, (int, float)) for x in xs)
        ax.scatter(xs if numeric else [str(x) for x in xs], per_node["dev"], s=40)
        if numeric and min(xs) > 0 and max(xs) / min(xs) > 20:
            ax.set_xscale("log")
        first = g.iloc[0]
        where = display_name(first["task"] or first["benchmark"])
        ax.set_title(f"{METHODS[first['method']].display} on {where}", fontsize=10)
        ax.set_xlabel(key)
        ax.set_ylabel("dev score")
        ax.grid(True, alpha=0.3)


def draw_probing(fig, df: pd.DataFrame) -> None:
    """Figures 3 and 5: per target, test score against each source adapter's fixed omega (mean
    and spread over seeds), then the pairwise grids as heatmaps."""
    from orchestrator.analysis.experiment_tables import pairwise_grids, probe_rows, task_order

    rows = probe_rows(df)
    single = rows[~rows["pairwise"]]
    grids = pairwise_grids(df)
    if single.empty and not grids:
        raise ValueError("no probing results in these results")
    targets = task_order(single["target"].unique()) if not single.empty else []
    sources = task_order({s[0] for s in single["sources"]}) if not single.empty else []
    colour = {s: f"C{i}" for i, s in enumerate(sources)}  # one colour per source everywhere
    cols = min(PANEL_COLUMNS, max(len(targets), len(grids)))
    n_rows = math.ceil(len(targets) / cols) + math.ceil(len(grids) / cols)
    fig.set_size_inches(3.2 * cols, 2.8 * n_rows)
    index = 0
    for target in targets:
        index += 1
        ax = fig.add_subplot(n_rows, cols, index)
        g = single[single["target"] == target]
        for source in sources:
            s = g[g["sources"].map(lambda x, source=source: x[0] == source)]
            if s.empty:
                continue
            by = s.assign(omega=s["omegas"].map(lambda w: w[0])).groupby("omega")["score"]
            mean, std = by.mean(), by.std(ddof=1).fillna(0.0)
            c = colour[source]
            ax.plot(mean.index, mean.values, marker="o", ms=3, color=c, label=display_name(source))
            ax.fill_between(mean.index, mean - std, mean + std, color=c, alpha=0.15)
        ax.set_title(display_name(target), fontsize=10)
        ax.set_xlabel("omega", fontsize=8)
        ax.grid(True, alpha=0.3)
        if index == 1:
            ax.set_ylabel("test score")
            ax.legend(fontsize=7, title="source", title_fontsize=7)
    index = math.ceil(len(targets) / cols) * cols if targets else 0
    for target, grid in grids.items():
        index += 1
        ax = fig.add_subplot(n_rows, cols, index)
        im = ax.imshow(grid.to_numpy(dtype=float), cmap="viridis", origin="lower", aspect="auto")
        ax.set_xticks(range(len(grid.columns)), [f"{w:g}" for w in grid.columns], fontsize=7)
        ax.set_yticks(range(len(grid.index)), [f"{w:g}" for w in grid.index], fontsize=7)
        ax.set_xlabel(grid.columns.name, fontsize=8)
        ax.set_ylabel(grid.index.name, fontsize=8)
        ax.set_title(f"{display_name(target)}: pairwise", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.05)


def draw_fewshot(fig, df: pd.DataFrame) -> None:
    """Figures 2 and 4: each method's average score over a benchmark's tasks against k (log
    scale), mean and spread over seeds, one panel per benchmark."""
    from orchestrator.analysis.experiment_tables import fewshot_curves

    curves = fewshot_curves(df)
    if curves.empty:
        raise ValueError("no few-shot results in these results")
    benches = list(dict.fromkeys(curves["benchmark"]))
    fig.set_size_inches(5.5 * len(benches), 4.2)
    for i, bench in enumerate(benches):
        ax = fig.add_subplot(1, len(benches), i + 1)
        for method, m in curves[curves["benchmark"] == bench].groupby("method", sort=False):
            std = m["std"].fillna(0.0)
            style = "-" if METHODS[method].family == METHODS[HEADLINE].family else "--"
            ax.plot(m["k"], m["mean"], style, marker="o", ms=4, label=METHODS[method].display)
            ax.fill_between(m["k"], m["mean"] - std, m["mean"] + std, alpha=0.12)
        ax.set_xscale("log")
        ks = sorted(curves["k"].unique())
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("k (training examples of the target)")
        ax.set_ylabel("average test score")
        ax.set_title(bench)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)


def plot(
    df: pd.DataFrame,
    out,
    kind: str = "overview",
    benchmark: str | None = None,
    target: str | None = None,
    method: str = HEADLINE,
    fmt: str | None = None,
):
    """Draw one figure kind to ``out`` (.png, .pdf or .svg; or a binary file object with
    ``fmt``); returns ``out``."""
    plt = _pyplot()
    fig = figure(df, kind, benchmark, target, method)
    fig.savefig(out, dpi=130, format=fmt)
    plt.close(fig)
    return out


def figure(
    df: pd.DataFrame,
    kind: str = "overview",
    benchmark: str | None = None,
    target: str | None = None,
    method: str = HEADLINE,
):
    """One figure kind drawn on a new matplotlib figure (the caller saves and closes it)."""
    if kind in ("overview", "grid") and not build_table(df, benchmark=benchmark).methods:
        where = f" of {benchmark}" if benchmark else ""
        raise ValueError(f"no finished results{where} to draw in these results")
    plt = _pyplot()
    if kind == "overview":
        fig, axes = plt.subplots(1, 2, figsize=(15, 5.5), gridspec_kw={"width_ratios": [1, 1.3]})
        draw_overview(axes[0], df, benchmark)
        draw_grid(axes[1], df, benchmark)
    elif kind == "grid":
        fig, ax = plt.subplots(figsize=(9, 5.5))
        draw_grid(ax, df, benchmark)
    elif kind == "omegas":
        if not target:
            raise ValueError("--kind omegas needs --target TASK")
        fig, ax = plt.subplots(figsize=(8, 5))
        draw_omegas(ax, df, target, method)
    elif kind == "search":
        fig = plt.figure(figsize=(13, 7))
        draw_search(fig, df)
    elif kind == "probing":
        fig = plt.figure()
        draw_probing(fig, df)
    elif kind == "fewshot":
        fig = plt.figure()
        draw_fewshot(fig, df)
    else:
        raise ValueError(f"unknown plot kind {kind!r}; known: {', '.join(KINDS)}")
    fig.tight_layout()
    return fig
