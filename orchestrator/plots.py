"""Figures a researcher would put in a paper, drawn with matplotlib from a results frame."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from orchestrator.contract.methods import HEADLINE, METHODS, Kind
from orchestrator.contract.node import NodeStatus
from orchestrator.results import latest
from orchestrator.tables import build_table, searched_keys
from trainables.tasks.registry import display_name

KINDS = ("overview", "grid", "omegas", "search")


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
    cols = [*t.tasks, "Avg."]
    values = t.mean[cols].to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [display_name(c) for c in cols], rotation=30, ha="right")
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


def plot(
    df: pd.DataFrame,
    out: str,
    kind: str = "overview",
    benchmark: str | None = None,
    target: str | None = None,
    method: str = HEADLINE,
) -> str:
    """Draw one figure kind to ``out`` (.png, .pdf or .svg); returns the path."""
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
    else:
        raise ValueError(f"unknown plot kind {kind!r}; known: {', '.join(KINDS)}")
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out
