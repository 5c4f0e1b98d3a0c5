"""``params``: the paper's transfer-parameter counts, from real modules built offline."""

from __future__ import annotations

import json


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
