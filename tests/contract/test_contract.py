"""The contract between planner and trainers: one catalogue of methods, one set of
hyperparameters, node ids that do not move, and no method named outside the catalogue."""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

import pytest
import torch

from orchestrator.analysis.tables import paper_reference
from orchestrator.contract import hparams as hp
from orchestrator.contract.methods import (
    METHODS,
    NOT_YET_BUILT,
    Arch,
    Kind,
    by_display,
    methods_of_kind,
)
from orchestrator.planning.plan import plan_sweep
from orchestrator.sweep.spec import SpecError, load_spec, parse_spec
from tests.conftest import ROOT

IDS = json.loads((ROOT / "tests" / "data" / "node_ids.json").read_text())
SHARED_DATA = ROOT.parent / "shared" / "data"


def test_every_system_of_the_papers_tables_has_an_entry_or_is_listed_as_not_built():
    systems = list(dict.fromkeys(paper_reference()["system"]))
    assert len(systems) == 14
    for system in systems:
        assert (by_display(system) is not None) != (system in NOT_YET_BUILT), system
    # and the catalogue's order within each group is the paper's row order (a method of one's
    # own, not in the paper, may stand anywhere)
    ref = paper_reference()
    for kind, group in ((Kind.STL, "stl"), (Kind.JOINT, "joint"), (Kind.TRANSFER, "two_stage")):
        paper = [s for s in dict.fromkeys(ref[ref.group == group]["system"]) if by_display(s)]
        shown = [METHODS[m].display for m in methods_of_kind(kind)]
        assert [d for d in shown if d in set(ref["system"])] == paper


def test_each_entry_is_complete_and_its_defaults_are_legal_hyperparameters():
    import importlib

    for name, m in METHODS.items():
        for key, value in m.defaults.items():
            assert key in hp.SWEEP_KEYS and hp.reads(name, key), (name, key)
            assert hp.check_value(key, value) is None, (name, key, value)
        module, _, cls = m.implementation.partition(":")
        assert hasattr(importlib.import_module(module), cls), m.implementation
        assert m.counted in ("trainable", "transfer") and m.cost_factor > 0
        assert (m.counted == "transfer") == (m.kind == Kind.TRANSFER)


def _heads(node) -> int:
    return sum(p.numel() for n, p in node.model.named_parameters() if n.startswith("heads."))


@pytest.mark.parametrize("method", list(METHODS))
def test_the_catalogues_parameter_formula_matches_the_real_model(method):
    """Counted on roberta-base built on the meta device, 8 sources or tasks, heads excluded."""
    from trainables.backbones import backbone_config
    from trainables.models import CLASSIFICATION, HeadSpec, NodeModel

    entry = METHODS[method]
    tasks = [f"t{i}" for i in range(8)]
    heads = [
        HeadSpec(t, CLASSIFICATION, 2) for t in (tasks if entry.kind == Kind.JOINT else tasks[:1])
    ]
    sources = [(t, None) for t in tasks] if entry.kind.has_sources else None
    hparams = {"probe_omegas": [1.0] * 8} if entry.kind == Kind.PROBE else {}
    with torch.device("meta"):
        node = NodeModel.build("random:roberta-base", method, heads, hparams, 0, sources=sources)
    counts = node.param_counts()
    measured = (
        counts["transfer_params"]
        if entry.counted == "transfer"
        else counts["trainable_params"] - _heads(node)
    )
    c = backbone_config("roberta-base")
    arch = Arch(
        c.num_hidden_layers,
        c.hidden_size,
        c.intermediate_size,
        c.vocab_size,
        c.max_position_embeddings,
        c.type_vocab_size,
    )
    hparams = {**hp.defaults(method), **entry.defaults}  # only what the method reads
    assert entry.formula(arch, 8, hparams) == measured


def _docs_hook():
    """docs/hooks/hparams_table.py, the MkDocs hook that writes the hyperparameter reference."""
    import importlib.util

    path = ROOT / "docs" / "hooks" / "hparams_table.py"
    spec = importlib.util.spec_from_file_location("hparams_table_hook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_sweep_key_is_accepted_with_its_default_and_documented_in_the_docs():
    methods = [m for m in METHODS if METHODS[m].kind != Kind.PROBE]  # probes need probing
    raw = {
        "sweep": "all_keys",
        "backbone": "tiny-roberta",
        "benchmarks": {"synthetic": {"seeds": [0]}},
        "training": hp.defaults(),  # every key, each read by one of the methods
        "methods": {m: {k: v for k, v in hp.defaults(m).items()} for m in methods},
    }
    spec = parse_spec(raw)
    for m in methods:
        assert set(spec.hparams(m, "synthetic", "syn_topic")) == set(hp.defaults(m)), m
    # The docs page carries the marker, and the site's hook renders the tables from the code
    # there, so the reference can never go stale.
    hook = _docs_hook()
    page = (ROOT / "docs" / "sweep-files.md").read_text()
    assert hook.MARKER in page.splitlines()
    rendered = hook.on_page_markdown(page, page=None, config=None, files=None)
    assert hook.MARKER not in rendered
    for title, table in hp.reference_tables().items():
        assert f"### {title}" in rendered, title
        assert all(line in rendered for line in table), title
    documented = re.findall(r"^\| `(\w+)` \|", rendered, flags=re.M)
    assert sorted(documented) == sorted(hp.SWEEP_KEYS)  # each key once


def test_the_knobs_trainers_read_are_sweep_keys():
    for key in ("precision", "omega_dropout", "phm_dim", "padding", "group_by_length"):
        raw = {
            "sweep": "x",
            "backbone": "tiny-roberta",
            "benchmarks": {"synthetic": {"seeds": [0]}},
            "training": {key: hp.FIELDS[key].default},
            "methods": {"adapter": {}, "compacter_pp": {}, "scalearn": {}},
        }
        parse_spec(raw)
    with pytest.raises(SpecError, match="set by the sweep's fewshot block"):
        parse_spec({**raw, "training": {"k": 4}})


def test_patience_has_one_default():
    from trainables.loop import LoopSettings

    assert LoopSettings.from_hparams(hp.HParams(), 0).patience == hp.HParams().patience == 5


def test_a_key_added_later_moves_no_id_until_a_node_sets_it():
    base = {"lr": 1e-3, "max_length": 128, **{k: None for k in ("train_limit", "max_steps")}}
    assert hp.identity_hparams({**base, "precision": "bf16"}) == base
    assert hp.identity_hparams({**base, "precision": "fp16"}) == {**base, "precision": "fp16"}


def _sweeps():
    folders = (ROOT / "sweeps", ROOT / "tests" / "sweeps", ROOT / "docs" / "figures")
    return sorted(str(p.relative_to(ROOT)) for folder in folders for p in folder.glob("*.yaml"))


@pytest.mark.parametrize("sweep", _sweeps())
@pytest.mark.parametrize("simulate", [False, True])
def test_node_ids_of_the_shipped_sweeps_did_not_move(sweep, simulate):
    key = f"{sweep}{'#simulate' if simulate else ''}"
    if key not in IDS:
        pytest.skip(f"{sweep} is newer than the recorded ids")
    if "local" in sweep and not SHARED_DATA.is_dir():
        pytest.skip(f"{sweep} reads {SHARED_DATA}, which is not here")
    ids = sorted(n.id for n in plan_sweep(load_spec(ROOT / sweep), simulate=simulate).nodes)
    recorded = IDS[key]
    if "ids" in recorded:
        assert ids == recorded["ids"]
    assert len(ids) == recorded["nodes"]
    assert hashlib.sha256("\n".join(ids).encode()).hexdigest() == recorded["sha256"]


def _string_constants(path: Path):
    """(line, value) of every string constant of a module that is not a docstring."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                yield node.lineno, node.value


def test_no_module_names_a_method_but_the_catalogue_and_the_methods_own():
    names = set(METHODS)
    allowed = {ROOT / "orchestrator" / "contract" / "methods.py"}
    allowed |= set((ROOT / "trainables" / "methods").glob("*.py"))
    found = []
    for package in ("orchestrator", "trainables"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path in allowed:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{line} {value!r}"
                for line, value in _string_constants(path)
                if value in names
            ]
    assert not found, "methods named by hand outside the catalogue: " + ", ".join(found)


def test_the_heads_exceptions_to_the_torch_rule_are_imports_inside_functions():
    """import-linter sees every import; the ones the head may make lazily must be lazy."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (rule,) = [c for c in config["contracts"] if c.get("source_modules") == ["orchestrator"]]
    for edge in rule["ignore_imports"]:
        importer, imported = (part.strip() for part in edge.split("->"))
        tree = ast.parse((ROOT / (importer.replace(".", "/") + ".py")).read_text())
        top = [
            n
            for n in tree.body
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith(imported)
        ]
        nested = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith(imported)
        ]
        assert nested and not top, f"{edge}: must be imported inside a function only"
