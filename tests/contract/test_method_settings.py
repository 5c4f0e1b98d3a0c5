"""A method's own settings: read only by the methods whose catalogue entry names them, refused
(exit status 2, one line naming the readers) where set for a method that does not read them, in
a node's hparams and id only for its own method, and documented once each."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from orchestrator.contract import hparams as hp
from orchestrator.contract.hparams import HParams
from orchestrator.contract.methods import (
    METHODS,
    Kind,
    ProbeSettings,
    ProPETLSettings,
    ScaLearnSettings,
)
from orchestrator.contract.node import NodeSpec
from orchestrator.planning.plan import plan_sweep
from orchestrator.sweep.spec import SpecError, parse_spec
from tests.conftest import run_cli

FAMILY_KEYS = [k for k in hp.SWEEP_KEYS if k not in hp.SHARED]
BASE = {
    "sweep": "own",
    "backbone": "tiny-roberta",
    "benchmarks": {"synthetic": {"seeds": [0], "tasks": ["syn_sentiment", "syn_topic"]}},
    "training": {"epochs": 2},
}
SWEEP = """\
sweep: own
backbone: tiny-roberta
benchmarks:
  synthetic: {seeds: [0], tasks: [syn_sentiment, syn_topic]}
methods:
  adapter: {lr: 1.0e-3}
  scalearn: {lr: 1.0e-2, sparsity: 0.3}
"""
SCALEARN_SPARSITY = "scalearn does not read 'sparsity'; it is read by propetl, propetl_m"


def _sweep(methods: dict, **top) -> dict:
    return {**copy.deepcopy(BASE), "methods": methods, **top}


def _problems(raw: dict) -> dict[str, str]:
    """Key path -> message of every problem of a sweep document ({} when it has none)."""
    try:
        parse_spec(raw)
    except SpecError as e:
        return {p.key: p.message for p in e.found}
    return {}


def _ids(raw: dict) -> dict[tuple, str]:
    """(method, task, seed) -> node id of a full sweep."""
    return {(n.method, n.task, n.seed): n.id for n in plan_sweep(parse_spec(raw)).nodes}


def test_the_readers_of_each_family_key_are_the_methods_whose_trainer_reads_it():
    # what trainables/methods/*.py read, per key (a new reader is a catalogue entry's settings)
    scalearn = ["scalearn", "scalearn_uniform", "scalearn_pp", "scalearn_uniform_pp"]
    expected = {
        "omega_dropout": scalearn,
        "phm_dim": ["compacter_pp"],
        "fusion_config": ["adapter_fusion"],
        "fusion_reg_weight": ["adapter_fusion"],
        **{
            k: ["propetl", "propetl_m"]
            for k in ("sparsity", "mask_lr", "mask_lr_ratio", "mask_training")
        },
        **{
            k: ["hyperformer", "hyperformer_pp"]
            for k in ("task_embedding_dim", "task_hidden_dim", "projected_task_embedding_dim")
        },
    }
    assert {k: hp.readers(k) for k in FAMILY_KEYS} == expected
    assert hp.readers("probe_omegas") == ["probe"]
    assert all(hp.readers(k) == list(METHODS) for k in hp.SHARED)


@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_a_family_key_on_a_method_that_does_not_read_it_is_a_problem(key):
    others = [m for m in METHODS if not hp.reads(m, key)]
    found = _problems(_sweep({m: {key: hp.FIELDS[key].default} for m in others}))
    readers = ", ".join(hp.readers(key))
    for m in others:
        assert found[f"methods.{m}.{key}"] == f"{m} does not read {key!r}; it is read by {readers}"


def test_the_cli_refuses_a_key_the_method_does_not_read_with_one_line(tmp_path):
    path = tmp_path / "own.yaml"
    path.write_text(SWEEP)
    done = run_cli("plan", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "sparsity" in line]
    assert lines == [f"error: {path}: methods.scalearn.sparsity: {SCALEARN_SPARSITY}"]
    assert "Traceback" not in done.stderr


def test_keys_in_a_methods_overrides_and_searches_follow_the_same_rule():
    block = {
        "per_task": {"syn_topic": {"mask_training": "frozen"}},
        "per_benchmark": {"synthetic": {"task_hidden_dim": 7}},
        "search": {
            "space": {"sparsity": {"type": "uniform", "low": 0.1, "high": 0.9}},
            "samples": 2,
        },
    }
    found = _problems(_sweep({"adapter": {}, "scalearn": block}))
    assert found == {
        "methods.scalearn.per_task.syn_topic.mask_training": (
            "scalearn does not read 'mask_training'; it is read by propetl, propetl_m"
        ),
        "methods.scalearn.per_benchmark.synthetic.task_hidden_dim": (
            "scalearn does not read 'task_hidden_dim'; it is read by hyperformer, hyperformer_pp"
        ),
        "methods.scalearn.search.space.sparsity": SCALEARN_SPARSITY,
    }


def test_a_shared_block_key_that_no_method_of_the_sweep_reads_is_a_problem():
    raw = _sweep({"adapter": {}, "scalearn": {}}, training={"epochs": 2, "sparsity": 0.3})
    assert _problems(raw) == {
        "training.sparsity": (
            "none of this sweep's methods (adapter, scalearn) reads 'sparsity'; "
            "it is read by propetl, propetl_m"
        )
    }
    # the source adapters' blocks are for the source method alone
    few = _sweep({"adapter": {}}, fewshot={"k": [4], "sources": {"omega_dropout": 0.1}})
    assert _problems(few) == {
        "fewshot.sources.omega_dropout": (
            "adapter does not read 'omega_dropout'; it is read by scalearn, scalearn_uniform, "
            "scalearn_pp, scalearn_uniform_pp"
        )
    }


def test_the_planner_sets_a_probes_omegas():
    found = _problems(_sweep({"adapter": {"probe_omegas": [0.5]}}))
    assert found == {
        "methods.adapter.probe_omegas": "'probe_omegas' is set by the sweep's probing block, "
        "not here"
    }


def test_a_shared_block_key_applies_to_the_methods_that_read_it_only():
    plain = _ids(_sweep({"adapter": {}, "propetl": {}, "scalearn": {}}))
    shared = _sweep({"adapter": {}, "propetl": {}, "scalearn": {}})
    shared["training"]["sparsity"] = 0.3
    moved = _ids(shared)
    assert plain.keys() == moved.keys()
    changed = {key[0] for key in plain if plain[key] != moved[key]}
    # propetl's nodes move; adapter's do not, nor scalearn's (which stand on adapter's)
    assert changed == {"propetl"}


@pytest.mark.parametrize(
    "method, key, value",
    [("scalearn", "omega_dropout", 0.1), ("propetl", "sparsity", 0.3)],
)
def test_a_key_on_its_reader_moves_that_nodes_id_only_when_not_its_default(method, key, value):
    methods = {"adapter": {}, method: {}}
    plain = _ids(_sweep(methods))
    default = _ids(_sweep({**methods, method: {key: hp.FIELDS[key].default}}))
    assert default == plain
    other = _ids(_sweep({**methods, method: {key: value}}))
    assert {k for k in plain if plain[k] != other[k]} == {k for k in plain if k[0] == method}


def test_a_node_carries_the_shared_keys_and_its_own_methods_settings_only():
    raw = _sweep({m: {} for m in METHODS if METHODS[m].kind != Kind.PROBE})
    for node in plan_sweep(parse_spec(raw)).nodes:
        own = METHODS[node.method].settings
        expected = set(hp.defaults(node.method))
        stored = node.hparams.to_dict()  # what node.json and result rows hold
        assert set(stored) - {"k", "dev_limit"} == expected, node.method  # planner keys, unset
        assert stored["k"] is None and stored["dev_limit"] is None
        assert (type(node.hparams.method) if node.hparams.method else None) is own


def test_old_rows_with_every_key_are_still_read():
    """A node.json of the first version held all 32 keys: each method keeps its own."""
    old = {**hp.defaults(), "k": None, "dev_limit": None, "probe_omegas": None}
    old["sparsity"] = 0.3  # set sweep-wide once; only ProPETL ever read it
    scalearn = HParams.from_dict(old, "scalearn")
    assert scalearn.method == ScaLearnSettings()
    assert set(scalearn.to_dict()) == set(hp.SHARED) | {"omega_dropout"}
    assert HParams.from_dict(old, "propetl").settings(ProPETLSettings).sparsity == 0.3
    assert HParams.from_dict(old, "adapter").method is None
    spec = NodeSpec.from_dict(_node_json(old, "probe", probe_omegas=[0.5]))
    assert spec.hparams.settings(ProbeSettings).probe_omegas == [0.5]
    assert spec.label == "probe/syn_topic/syn_sentiment@0.5/s0"
    again = NodeSpec.from_dict(spec.to_dict())
    assert again == spec


def _node_json(hparams: dict, method: str, **extra) -> dict:
    return {
        "id": f"{method}-x",
        "kind": METHODS[method].kind.value,
        "method": method,
        "benchmark": "synthetic",
        "task": "syn_topic",
        "tasks": ["syn_sentiment"],
        "seed": 0,
        "backbone": "tiny-roberta",
        "hparams": {**hparams, **extra},
        "data": {"syn_topic": {"source": "synthetic"}},
        "sources": [{"node_id": "a", "task": "syn_sentiment", "path": None}],
    }


def test_settings_are_typed_per_method():
    hparams = HParams.from_dict({"lr": 1e-3, "omega_dropout": 0.2}, "scalearn_pp")
    assert hparams.settings(ScaLearnSettings).omega_dropout == 0.2
    with pytest.raises(TypeError, match="ScaLearnSettings, not ProPETLSettings"):
        hparams.settings(ProPETLSettings)
    with pytest.raises(ValueError, match="name the node's method"):
        HParams.from_dict({"omega_dropout": 0.2})
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        HParams.from_dict({"omega": 0.2}, "scalearn")
    assert dataclasses.is_dataclass(hparams.method) and hparams.method.__dataclass_params__.frozen


def test_the_reference_tables_document_every_sweep_key_once():
    tables = hp.reference_tables()
    assert next(iter(tables)) == "Training (every method)"
    assert tables["Training (every method)"] == hp.reference_table()
    keys = [line.split("`")[1] for lines in tables.values() for line in lines[2:]]
    assert sorted(keys) == sorted(hp.SWEEP_KEYS) and len(keys) == len(set(keys))
    for title, lines in tables.items():
        assert lines[:2] == ["| key | default | legal values | meaning |", "|---|---|---|---|"]
        for line in lines[2:]:
            key = line.split("`")[1]
            readers = hp.readers(key)
            assert title.endswith(f"({', '.join(readers)})") or readers == list(METHODS)
