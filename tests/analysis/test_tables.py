"""Tables shaped like the paper's: order, groups, seeds behind cells, Avg., the paper's numbers."""

from __future__ import annotations

import json

import pytest

from orchestrator.analysis.tables import build_table, paper_reference, render
from orchestrator.results import row_files as results
from tests.result_rows import add, result_row


@pytest.fixture
def res(tmp_path):
    r = str(tmp_path / "results")
    add(r, "a-rte-0", "adapter", "rte", 0, 70.0)
    add(r, "a-rte-1", "adapter", "rte", 1, 74.0)
    add(r, "a-cola-0", "adapter", "cola", 0, 60.0)
    add(r, "a-cola-1", "adapter", "cola", 1, 62.0)
    add(r, "s-rte-0", "scalearn", "rte", 0, 80.0, kind="transfer")
    add(r, "s-cola-0", "scalearn", "cola", 0, 50.0, kind="transfer")
    add(r, "s-cola-1", "scalearn", "cola", 1, 54.0, kind="transfer")
    add(r, "f-rte-0", "full_ft", "rte", 0, 72.0)
    add(r, "f-sim", "full_ft", "cola", 0, 99.0, simulated=True)
    add(r, "f-fail", "full_ft", "cola", 1, 0.0, status="failed")
    return r


def test_grid_order_means_and_avg(res):
    t = build_table(results.load(f"{res}/s"), benchmark="glue")
    assert t.methods == ["full_ft", "adapter", "scalearn"]  # the paper's order and groups
    assert t.tasks == ["rte", "cola"]  # GLUE's column order: ... MRPC, RTE, CoLA
    assert t.mean.loc["adapter", "rte"] == 72.0 and t.mean.loc["adapter", "Avg."] == 66.5
    assert t.mean.loc["scalearn", "cola"] == 52.0
    assert t.n.loc["scalearn", "rte"] == 1
    assert t.mean.isna().loc["full_ft", "Avg."], "Avg. stays empty when a task is missing"
    assert any("Full FT: Avg. left empty, no result for CoLA" in n for n in t.notes)


def test_markdown_shows_groups_std_and_uneven_seeds(res):
    text = render(build_table(results.load(f"{res}/s"), benchmark="glue"), "md", std=True)
    lines = text.splitlines()
    assert [c.strip() for c in lines[0].split("|")[1:6]] == [
        "Group",
        "Method",
        "RTE",
        "CoLA",
        "Avg.",
    ]
    adapter = next(line for line in lines if "| Adapter " in line)
    assert "72.00 ± 2.83" in adapter and "66.50" in adapter
    scalearn = next(line for line in lines if "| ScaLearn " in line)
    assert "80.00 ± - (n=1)" in scalearn, "a cell with fewer seeds says how many"
    assert "Two-stage transfer" in scalearn
    assert "Note: seed counts differ within RTE" in text


def test_compare_paper_puts_the_papers_number_and_difference_beside_each_cell(res):
    ref = paper_reference()
    paper_rte = ref[(ref.benchmark == "glue") & (ref.system == "Adapter") & (ref.task == "RTE")]
    assert float(paper_rte.score.iloc[0]) == 72.89
    t = build_table(results.load(f"{res}/s"), benchmark="glue", compare_paper=True)
    text = render(t, "md")
    adapter = next(line for line in text.splitlines() if "| Adapter " in line)
    assert "72.00 [paper 72.89, -0.89]" in adapter
    csv_text = render(t, "csv")
    assert csv_text.splitlines()[0].startswith("Group,Method,RTE,CoLA,Avg.")
    latex = render(t, "latex")
    assert r"\begin{tabular}" in latex and r"\multicolumn" in latex


@pytest.mark.slow
def test_cli_table_and_plots_render(res, cli, tmp_path):
    add(
        res,
        "s-rte-1",
        "scalearn",
        "rte",
        1,
        82.0,
        kind="transfer",
        extra={"transfer": {"omegas": [[0.1, 0.9], [0.3, 0.7]], "sources": ["rte", "cola"]}},
    )
    out = cli("table", f"{res}/s", "--benchmark", "glue", "--std", "--compare-paper")
    assert out.returncode == 0, out.stderr
    assert "[paper 72.89" in out.stdout
    for kind, name in (("overview", "o.png"), ("grid", "g.svg"), ("omegas", "w.pdf")):
        extra = ["--target", "rte"] if kind == "omegas" else []
        out = cli("plot", f"{res}/s", "--out", str(tmp_path / name), "--kind", kind, *extra)
        assert out.returncode == 0, out.stderr
        assert (tmp_path / name).stat().st_size > 5000
    png = (tmp_path / "o.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out = cli(
        "plot", f"{res}/s", "--out", str(tmp_path / "x.png"), "--kind", "omegas", "--target", "cola"
    )
    assert out.returncode == 2 and "no learned omegas" in out.stderr


def test_omegas_are_averaged_over_seeds(res):
    from orchestrator.analysis.plots import omegas_for

    for seed, w in ((0, 0.2), (1, 0.4)):
        extra = {"transfer": {"omegas": [[w, 1 - w]], "sources": ["rte", "cola"]}}
        add(res, f"s-rte-{seed}", "scalearn", "rte", seed, 80.0, kind="transfer", extra=extra)
    mat, names = omegas_for(results.load(f"{res}/s"), "rte")
    assert names == ["rte", "cola"]
    assert mat[0].tolist() == pytest.approx([0.3, 0.7])
    assert json.loads(results.load(f"{res}/s").query("node_id == 's-rte-0'").extra.iloc[0])


def test_few_shot_rows_are_shown_one_k_at_a_time(tmp_path):
    r = str(tmp_path / "results")
    for node, k, score in (("full", None, 70.0), ("k4", 4, 55.0), ("k16", 16, 62.0)):
        hp = {"lr": 3e-4} if k is None else {"lr": 3e-4, "k": k}
        results.write_node_rows(
            r,
            "s",
            node,
            [
                result_row(
                    **{
                        "sweep": "s",
                        "node_id": node,
                        "kind": "stl",
                        "method": "adapter",
                        "benchmark": "glue",
                        "task": "rte",
                        "seed": 0,
                        "status": "done",
                        "score": score,
                        "started_at": 1.0,
                        "finished_at": 2.0,
                        "hparams": hp,
                    }
                )
            ],
        )
    df = results.load(f"{r}/s")
    full = build_table(df)
    assert full.mean.loc["adapter", "rte"] == 70.0
    assert any("few-shot results for k = 4, 16 left out" in n for n in full.notes)
    assert build_table(df, k=16).mean.loc["adapter", "rte"] == 62.0
    assert build_table(df, k=4).mean.loc["adapter", "rte"] == 55.0


FIVE = ("sst2", "stsb", "mrpc", "rte", "cola")  # the GLUE tasks of the shared files


def _five_task_run(res, backbone="roberta-base", hparams=None):
    for i, task in enumerate(FIVE):
        results.write_node_rows(
            res,
            "five",
            f"a-{task}",
            [
                result_row(
                    sweep="five",
                    node_id=f"a-{task}",
                    method="adapter",
                    benchmark="glue",
                    task=task,
                    backbone=backbone,
                    score=50.0 + i,
                    started_at=1.0,
                    finished_at=2.0,
                    hparams=hparams or {},
                )
            ],
        )
    return results.load(f"{res}/five")


def test_compare_paper_on_a_subset_averages_the_papers_numbers_over_the_same_tasks(tmp_path):
    t = build_table(_five_task_run(str(tmp_path)), benchmark="glue", compare_paper=True)
    # the paper's Adapter over SST-2, STS-B, MRPC, RTE, CoLA, not its 8-task 83.83
    assert t.paper.loc["adapter", "Avg."] == pytest.approx(80.338)
    assert t.paper.loc["adapter", "rte"] == 72.89
    text = render(t, "md")
    assert "52.00 [paper 80.34, -28.34]" in text and "83.83" not in text
    assert any("over the 5 tasks shown (SST-2, STS-B, MRPC, RTE, CoLA)" in n for n in t.notes)
    assert "not its published Avg. over all 8" in text


def test_compare_paper_only_where_backbone_and_setting_are_the_papers(tmp_path):
    tiny = build_table(
        _five_task_run(str(tmp_path / "t"), backbone="tiny-roberta"),
        benchmark="glue",
        compare_paper=True,
    )
    assert tiny.paper is None and "paper" not in render(tiny, "md").split("Note:")[0]
    assert any("these results are on tiny-roberta" in n for n in tiny.notes)
    hub = build_table(
        _five_task_run(str(tmp_path / "h"), backbone="FacebookAI/roberta-base"),
        benchmark="glue",
        compare_paper=True,
    )
    assert hub.paper.loc["adapter", "cola"] == 58.28, "the hub's name of the same backbone"
    few = build_table(
        _five_task_run(str(tmp_path / "k"), hparams={"k": 16}),
        benchmark="glue",
        compare_paper=True,
        k=16,
    )
    assert few.paper is None and any("few-shot results with k = 16" in n for n in few.notes)


def test_compare_paper_fills_every_row_of_the_papers_grid(res):
    from orchestrator.contract.methods import METHODS

    for i, (name, entry) in enumerate(METHODS.items()):
        add(res, f"n{i}", name, "rte", 0, 70.0 + i, kind=entry.kind.value)
    text = render(build_table(results.load(f"{res}/s"), benchmark="glue", compare_paper=True), "md")
    rows = [line for line in text.splitlines() if line.startswith("|") and "Method" not in line]
    rows = [r for r in rows if not set(r) <= {"|", "-"}]
    assert len(rows) == 14
    paper = [e for e in METHODS.values() if e.kind.value != "probe"]  # probes have no grid row
    for entry, row in zip(paper, rows, strict=True):
        assert f"| {entry.display} " in row and "[paper " in row, row
