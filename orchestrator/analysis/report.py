"""``report DIR --out report.html``: a sweep's results as one self-contained page.

The page needs no network and no server: styles are inline and every figure is a PNG embedded as
base64. It holds the grid (the paper's numbers and the differences beside each cell, significance
marks against the baseline row), Figure 1 and the grid heatmap, ScaLearn's learned omegas per
target, the few-shot and probing figures and tables when the results have them, the nodes that
failed or were blocked with their errors, and the training time of each method.
"""

from __future__ import annotations

import base64
import html
import io
import json

import pandas as pd

from orchestrator.analysis.experiment_tables import (
    fewshot_curves,
    probe_rows,
    render_fewshot,
    render_probing,
    task_order,
)
from orchestrator.analysis.plots import figure
from orchestrator.analysis.tables import build_table, mark_significance, table_rows
from orchestrator.contract.methods import METHODS, Kind
from orchestrator.contract.node import NodeStatus
from orchestrator.results.row_files import latest
from trainables.tasks.registry import display_name

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1400px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; } td.name { text-align: left; }
td.best { font-weight: bold; } td.err { text-align: left; font-family: monospace; }
tr.group td { background: #fafafa; font-style: italic; text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
pre { background: #f7f7f7; padding: 0.5em; overflow-x: auto; font-size: 0.8em; }
.note { color: #555; font-size: 0.85em; margin: 0.2em 0; }
"""


def _png(fig) -> str:
    """A figure as an inline <img> (base64 PNG); closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[str]], cls: list[list[str]] | None = None) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for i, r in enumerate(rows):
        cells = []
        for j, c in enumerate(r):
            klass = (cls[i][j] if cls else "") or ("name" if j == 0 else "")
            attr = f' class="{klass}"' if klass else ""
            cells.append(f"<td{attr}>{html.escape(str(c))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _notes(notes: list[str]) -> str:
    return "\n".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)


def grid_section(df: pd.DataFrame) -> list[str]:
    """The grid with the paper's numbers, differences and significance marks, best bold."""
    t = build_table(df, compare_paper=True)
    if not t.methods:
        return ["<h2>Results</h2>", _notes(t.notes or ["no finished rows"])]
    mark_significance(t)
    rows = table_rows(t)
    best = {c: t.mean[c].max() for c in t.columns}
    last_group = None
    width = len(rows[0]) - 1
    out = ["<h2>Results</h2>", '<table class="grid">']
    out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in rows[0][1:]) + "</tr>")
    for m, r in zip(t.methods, rows[1:], strict=True):
        if r[0] != last_group:
            out.append(f'<tr class="group"><td colspan="{width}">{html.escape(r[0])}</td></tr>')
            last_group = r[0]
        cells = [f'<td class="name">{html.escape(r[1])}</td>']
        for c, text in zip(t.columns, r[2:], strict=True):
            v = t.mean.loc[m, c]
            klass = ' class="best"' if pd.notna(v) and v == best[c] else ""
            cells.append(f"<td{klass}>{html.escape(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    out.append(_notes(["bold: the best mean of each column", *t.notes]))
    return out


def figures_section(df: pd.DataFrame) -> list[str]:
    """Figure 1 beside the grid heatmap, and the learned omegas of every transfer target."""
    out = []
    if build_table(df).methods:
        out += ["<h2>Figure 1: average score against transfer parameters</h2>"]
        out.append(_png(figure(df, "overview")))
    for method, target in omega_targets(df):
        out.append(
            f"<h2>{html.escape(METHODS[method].display)}: omegas for "
            f"{html.escape(display_name(target))}</h2>"
        )
        out.append(_png(figure(df, "omegas", target=target, method=method)))
    return out


def omega_targets(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(method, target) pairs whose done rows carry learned omegas, in the catalogue's order."""
    rows = latest(df)
    if rows.empty:
        return []
    rows = rows[(rows["status"] == NodeStatus.DONE.value) & (rows["kind"] == Kind.TRANSFER.value)]
    found = set()
    for r in rows.itertuples():
        extra = json.loads(r.extra) if isinstance(r.extra, str) else {}
        if extra.get("transfer", {}).get("omegas"):
            found.add((r.method, r.task))
    order = list(METHODS)
    tasks = task_order({t for _, t in found})
    return sorted(found, key=lambda mt: (order.index(mt[0]), tasks.index(mt[1])))


def experiments_section(df: pd.DataFrame) -> list[str]:
    """The few-shot and probing figures and tables, when the results have them."""
    out = []
    if not fewshot_curves(df).empty:
        out += ["<h2>Few-shot: average score against k</h2>", _png(figure(df, "fewshot"))]
        out.append(f"<pre>{html.escape(render_fewshot(df))}</pre>")
    if not probe_rows(df).empty:
        out += ["<h2>Probing: score against each source's fixed omega</h2>"]
        out += [_png(figure(df, "probing")), f"<pre>{html.escape(render_probing(df))}</pre>"]
    return out


def problems_section(df: pd.DataFrame) -> list[str]:
    """Nodes that failed, were blocked or pruned, with their errors."""
    rows = latest(df)
    bad = (NodeStatus.FAILED.value, NodeStatus.BLOCKED.value, NodeStatus.PRUNED.value)
    rows = rows[rows["status"].isin(bad)].drop_duplicates("node_id") if not rows.empty else rows
    out = ["<h2>Failed and blocked nodes</h2>"]
    if rows.empty:
        return [*out, _notes(["none: every node finished"])]
    body = [
        [f"{r.method}/{r.task}/s{r.seed}", r.status, r.node_id, r.error or ""]
        for r in rows.itertuples()
    ]
    cls = [["name", "name", "err", "err"] for _ in body]
    return [*out, _table(["node", "status", "id", "error"], body, cls)]


def time_section(df: pd.DataFrame) -> list[str]:
    """How long each method's nodes trained: nodes, total and mean wall time."""
    rows = latest(df)
    if rows.empty:
        return []
    rows = rows[rows["status"] == NodeStatus.DONE.value].drop_duplicates("node_id")
    rows = rows[rows["wall_s"].notna()]
    if rows.empty:
        return []
    g = rows.groupby("method")["wall_s"]
    body = []
    for m in (m for m in METHODS if m in g.groups):
        w = g.get_group(m)
        body.append([METHODS[m].display, str(len(w)), f"{w.sum():.1f}", f"{w.mean():.1f}"])
    header = ["method", "nodes", "total (s)", "per node (s)"]
    notes = ["wall time of each node's training, done nodes of the latest runs"]
    if rows["simulated"].any():
        notes.append("simulated nodes: the cost model's time divided by --speed")
    return ["<h2>Time per method</h2>", _table(header, body), _notes(notes)]


def render_report(df: pd.DataFrame, title: str) -> str:
    """The whole page as one HTML string."""
    rows = latest(df)
    counts = rows.drop_duplicates("node_id")["status"].value_counts() if not rows.empty else {}
    summary = ", ".join(f"{n} {s}" for s, n in dict(counts).items()) or "no rows"
    runs = sorted(set(rows["run_id"])) if not rows.empty else []
    head = [
        f"<h1>{html.escape(title)}</h1>",
        _notes([f"nodes: {summary}", f"runs: {', '.join(runs) or '-'}"]),
    ]
    body = [
        *head,
        *grid_section(df),
        *figures_section(df),
        *experiments_section(df),
        *problems_section(df),
        *time_section(df),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
