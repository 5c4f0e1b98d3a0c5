"""``params``: the paper's transfer-parameter counts, from real modules built offline."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_params_for_roberta_base_and_eight_sources(cli):
    out = cli("params", "--backbone", "roberta-base", "--sources", "8", "--json", timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {r["method"]: r for r in json.loads(out.stdout)["methods"]}
    assert rows["scalearn"]["transfer_params"] == 73_728
    assert rows["scalearn_uniform"]["transfer_params"] == 96
    assert rows["scalearn_pp"]["transfer_params"] == 6_144
    assert rows["scalearn_uniform_pp"]["transfer_params"] == 8
    assert 21.0e6 < rows["adapter_fusion"]["transfer_params"] < 21.6e6
    assert rows["adapter"]["transfer_params"] is None
    assert rows["full_ft"]["trainable_params"] > 100 * rows["adapter"]["trainable_params"] / 2


@pytest.mark.slow
def test_params_prints_every_system_of_the_paper_with_what_the_paper_counts(cli):
    from orchestrator.contract.methods import METHODS

    out = cli("params", "--backbone", "roberta-base", "--sources", "8", timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    assert set(METHODS) <= set(lines)
    # the 14 systems of the paper's tables, and the probe of its probing experiments
    paper = {m for m, e in METHODS.items() if e.kind.value != "probe"}
    assert len(paper) == 14
    # the counted column: heads excluded; joint methods over 8 tasks
    for method, counted in (
        ("propetl", "959,280"),
        ("propetl_m", "1,549,104"),
        ("hyperformer", "59,420,544"),
        ("hyperformer_pp", "5,095,024"),
        ("adapter", "894,528"),
        ("scalearn", "73,728"),
    ):
        assert lines[method].split()[-1] == counted, lines[method]
