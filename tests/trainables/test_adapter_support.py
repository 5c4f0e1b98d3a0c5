"""The plan-time support table is the installed adapters library's: probed again, it is equal."""

from __future__ import annotations

from importlib import metadata

import pytest

from orchestrator.contract.methods import METHODS
from trainables import adapter_support
from trainables.adapter_support_probe import probe, render
from trainables.models import PROBLEM_TYPES


@pytest.mark.slow
def test_the_stored_table_is_what_the_installed_library_supports():
    probed = probe()
    assert probed["adapters"] == metadata.version("adapters")
    assert render(probed) == render(adapter_support.table()), (
        "trainables/adapter_support.json is stale: "
        "python -m trainables.adapter_support_probe --write"
    )


def test_the_table_tells_text_encoders_from_other_models():
    for model_type in ("bert", "roberta", "xlm-roberta", "deberta-v2", "electra"):
        assert adapter_support.supported_methods(model_type) == list(METHODS), model_type
        assert adapter_support.supported_problem_types(model_type) == list(PROBLEM_TYPES)
    for model_type in ("vit", "whisper", "clip"):
        assert adapter_support.supported_methods(model_type) == [], model_type
    assert adapter_support.supported_methods("no-such-model") is None
    assert "bert" in adapter_support.runnable_model_types()
    assert "vit" in adapter_support.model_types()
