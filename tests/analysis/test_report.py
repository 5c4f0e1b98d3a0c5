"""report DIR --out report.html: one self-contained page, checked as text and in a real headless
Chromium (the table and every image render; a screenshot that is not blank)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from orchestrator.results import row_files as results
from tests.conftest import run_cli
from tests.result_rows import result_row

OMEGAS = {"transfer": {"omegas": [[0.2, 0.8], [0.6, 0.4]], "sources": ["rte", "cola"]}}


def _add(res, node, method, task, seed, score, kind="stl", **fields):
    row = {
        "sweep": "s",
        "node_id": node,
        "kind": kind,
        "method": method,
        "benchmark": "glue",
        "task": task,
        "seed": seed,
        "backbone": "roberta-base",
        "score": score,
        "dev_score": score - 1,
        "wall_s": 10.0 + seed,
        "started_at": 1.0,
        "finished_at": 2.0,
        **fields,
    }
    results.write_node_rows(res, "s", node, [result_row(**row)])


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The results folder and the page written by ``report`` (once for the module)."""
    tmp_path = tmp_path_factory.mktemp("report")
    r = str(tmp_path / "results")
    for seed, (rte, cola) in enumerate([(70.1, 60.2), (71.3, 61.0), (69.8, 59.5)]):
        _add(r, f"a-rte-{seed}", "adapter", "rte", seed, rte)
        _add(r, f"a-cola-{seed}", "adapter", "cola", seed, cola)
        _add(r, f"s-rte-{seed}", "scalearn", "rte", seed, rte + 9, "transfer", extra=OMEGAS)
        _add(r, f"s-cola-{seed}", "scalearn", "cola", seed, cola + 0.3, "transfer", extra=OMEGAS)
        _add(r, f"k8-{seed}", "adapter", "rte", seed, 55.0 + seed, hparams={"k": 8})
    _add(r, "f-rte-0", "full_ft", "rte", 0, 0.0, status="failed", error="CUDA out of memory")
    _add(r, "p-rte-0", "propetl", "rte", 0, 0.0, "transfer", status="blocked", error="blocked by x")
    out = run_cli("report", f"{r}/s", "--out", str(tmp_path / "report.html"))
    assert out.returncode == 0, out.stderr
    return f"{r}/s", tmp_path / "report.html"


def test_report_holds_grid_figures_problems_and_time(report, cli, tmp_path):
    sweep, path = report
    page = path.read_text()
    # self-contained: nothing fetched from anywhere
    assert not re.search(r"""(src|href)=["'](?!data:)""", page) and "<script" not in page
    grid = page[page.index('<table class="grid">') : page.index("</table>")]
    # ScaLearn's RTE: beyond Adapter's spread over seeds, bold as its column's best, the paper's
    # number and the difference beside it
    assert '<td class="best">79.40* [paper 82.06, -2.66]</td>' in grid
    assert "<td>70.40 [paper 72.89, -2.49]</td>" in grid
    assert "Full FT" not in grid  # its only node failed
    assert "Welch&#x27;s t-test" in page and "Holm" in page
    images = re.findall(r'<img alt="figure" src="data:image/png;base64,[A-Za-z0-9+/=]+">', page)
    assert len(images) == 4  # Figure 1, omegas for RTE and CoLA, few-shot
    assert "omegas for RTE" in page and "omegas for CoLA" in page and "Few-shot" in page
    problems = page[page.index("Failed and blocked") :]
    assert "full_ft/rte/s0" in problems and "CUDA out of memory" in problems
    assert "propetl/rte/s0" in problems and "blocked by x" in problems
    timing = page[page.index("Time per method") :]
    assert "<td>9</td><td>99.0</td><td>11.0</td>" in timing  # Adapter: 6 full-data, 3 few-shot
    assert cli("report", sweep, "--out", str(tmp_path / "r.txt")).returncode == 2


CHECK_JS = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const b = document.body;
  b.setAttribute("data-images", imgs.length);
  b.setAttribute("data-rendered", imgs.filter(i => i.complete && i.naturalWidth > 0).length);
  b.setAttribute("data-grid-rows", document.querySelectorAll("table.grid tr").length);
});
</script></body>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")


def test_report_renders_in_a_headless_browser(report, tmp_path):
    browser = _chromium()
    page = report[1]
    # a copy with a script that records what rendered; the report itself has none
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", CHECK_JS))
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    flags += ["--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*flags, "--dump-dom", f"file://{probe}"], capture_output=True, text=True, timeout=120
    )
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body, dom.stderr[-2000:]
    attrs = dict(re.findall(r'data-([a-z-]+)="(\d+)"', body.group(0)))
    assert attrs["images"] == "4" and attrs["rendered"] == "4"
    assert int(attrs["grid-rows"]) == 1 + 2 + 2  # header, two groups, two methods
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1400,2400", f"file://{page}"],
        capture_output=True,
        timeout=120,
    )
    from matplotlib.image import imread

    pixels = imread(str(shot))
    assert pixels.shape[0] == 2400 and pixels.shape[1] == 1400
    assert pixels.std() > 0.05  # text, tables and figures, not a blank page
