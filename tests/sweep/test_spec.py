"""Sweep files: every shipped one loads; bad input is reported at once, by file and key."""

from __future__ import annotations

import textwrap

import pytest

from orchestrator.sweep.spec import SpecError, load_spec, parse_spec
from tests.conftest import SHARED_DATA, SWEEPS, TEST_SWEEPS

SHIPPED = sorted(SWEEPS.glob("*.yaml")) + sorted(TEST_SWEEPS.glob("*.yaml"))


def test_there_are_shipped_sweeps():
    names = {p.name for p in SHIPPED}
    assert {"glue_full.yaml", "demo.yaml"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_sweep_loads_and_opens_with_its_command(path):
    if "shared/data" in path.read_text() and not SHARED_DATA.is_dir():
        pytest.skip(f"{path.name} reads the real data files at {SHARED_DATA}, absent here")
    spec = load_spec(path)
    assert spec.methods and spec.benchmarks
    head = path.read_text().splitlines()
    assert head[0].startswith("#"), "a sweep opens with a comment saying what it runs"
    comment = "\n".join(line for line in head if line.startswith("#"))
    assert "python -m orchestrator" in comment


def write(tmp_path, text: str):
    p = tmp_path / "sweep.yaml"
    p.write_text(textwrap.dedent(text))
    return p


GOOD = """
    sweep: s
    backbone: tiny-roberta
    benchmarks:
      synthetic: {seeds: [0]}
    methods:
      adapter: {lr: 1.0e-3}
"""


def test_a_minimal_sweep_is_valid_and_fills_defaults(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    h = spec.hparams("adapter", "synthetic", "syn_sentiment")
    assert h["lr"] == 1e-3 and h["epochs"] == 30 and h["batch_size"] == 32
    assert h["max_length"] == 32  # the task's own
    assert spec.benchmarks["synthetic"].tasks[0] == "syn_sentiment"


def test_all_problems_of_a_file_are_reported_at_once(tmp_path):
    p = write(
        tmp_path,
        """
        sweep: s
        backbone: tiny-roberta
        benchmarks:
          synthetic:
            seeds: []
            tasks: [syn_sentiment, nope]
          imaginary: {seeds: [0]}
        training: {epochs: 0, batch_size: -2, lrr: 1}
        methods:
          adapterr: {}
          scalearn: {lr: fast, patience: 0}
        extra_key: 1
    """,
    )
    with pytest.raises(SpecError) as e:
        load_spec(p)
    problems = e.value.problems
    text = "\n".join(problems)
    assert str(p) in str(e.value)
    expected = [
        "benchmarks.synthetic.seeds: the seed list is empty",
        "benchmarks.synthetic.tasks: unknown task 'nope'",
        "benchmarks.imaginary: unknown benchmark",
        "training.epochs: expected a positive integer, got 0",
        "training.batch_size: expected a positive integer, got -2",
        "training.lrr: unknown key; did you mean 'lr'?",
        "methods.adapterr: unknown method; did you mean 'adapter'?",
        "methods.scalearn.lr: expected a positive number, got 'fast'",
        "methods.scalearn.patience: expected a positive integer, or null",
        "extra_key: unknown key",
    ]
    for fragment in expected:
        assert fragment in text, f"missing {fragment!r} in:\n{text}"


def test_wrong_types_and_missing_keys(tmp_path):
    with pytest.raises(SpecError) as e:
        load_spec(
            write(
                tmp_path,
                """
            sweep: s
            benchmarks: [glue]
            methods: {adapter: {lr: 1.0e-3, seeds: "0,1"}}
        """,
            )
        )
    text = "\n".join(e.value.problems)
    assert "backbone: missing" in text
    assert "benchmarks: expected a mapping, got ['glue']" in text


def test_local_data_dir_must_exist(tmp_path):
    with pytest.raises(SpecError) as e:
        load_spec(
            write(
                tmp_path,
                """
            sweep: s
            backbone: roberta-base
            benchmarks:
              glue: {seeds: [0], tasks: [rte], data: {source: local, dir: no/such/dir}}
            methods: {adapter: {}}
        """,
            )
        )
    assert "benchmarks.glue.data.dir: no such directory" in e.value.problems[0]


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(SpecError, match="cannot read the file"):
        load_spec(tmp_path / "missing.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("sweep: [unclosed\n")
    with pytest.raises(SpecError, match="invalid YAML"):
        load_spec(p)
    with pytest.raises(SpecError, match="must be a mapping"):
        parse_spec(["a", "list"], "x.yaml")


def test_cli_reports_bad_input_with_status_2_and_no_traceback(tmp_path, cli):
    p = write(tmp_path, GOOD.replace("lr: 1.0e-3", "lr: -1, epochs: 0"))
    for verb in ("plan", "run"):
        out = cli(verb, str(p), "--store", str(tmp_path / "store"))
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        assert f"{p}: methods.adapter.lr: expected a positive number" in out.stderr
        assert f"{p}: methods.adapter.epochs: expected a positive integer" in out.stderr


NUMERICS = """
    sweep: s
    backbone: tiny-roberta
    benchmarks:
      synthetic: {seeds: [0]}
    training: {numerics: reference}
    methods:
      adapter: {lr: 1.0e-3}
      full_ft: {lr: 1.0e-3, numerics: project}
      scalearn: {lr: 1.0e-3, numerics: reference, precision: bf16}
      compacter_pp: {lr: 1.0e-3, per_task: {syn_topic: {group_by_length: true}}}
"""


def test_numerics_reference_sets_the_official_runs_numerics(tmp_path):
    spec = load_spec(write(tmp_path, NUMERICS))

    def numerics(method, task="syn_sentiment"):
        h = spec.hparams(method, "synthetic", task)
        return h["precision"], h["padding"], h["group_by_length"]

    assert numerics("adapter") == ("fp16", "max_length", False)
    assert numerics("full_ft") == ("bf16", "dynamic", True), "project: the defaults again"
    assert numerics("scalearn") == ("bf16", "max_length", False), "the block's own key wins"
    assert numerics("compacter_pp", "syn_topic") == ("fp16", "max_length", True)


def test_numerics_enters_node_ids_and_bad_values_are_reported(tmp_path):
    from orchestrator.planning.plan import plan_sweep

    with_preset = {n.label: n.id for n in plan_sweep(load_spec(write(tmp_path, NUMERICS))).nodes}
    plain = NUMERICS.replace("training: {numerics: reference}", "training: {}")
    without = {n.label: n.id for n in plan_sweep(load_spec(write(tmp_path, plain))).nodes}
    assert with_preset["adapter/syn_sentiment/s0"] != without["adapter/syn_sentiment/s0"]
    assert with_preset["full_ft/syn_sentiment/s0"] == without["full_ft/syn_sentiment/s0"]
    bad = NUMERICS.replace("training: {numerics: reference}", "training: {numerics: official}")
    bad = "numerics: reference\n" + textwrap.dedent(bad)
    with pytest.raises(SpecError) as e:
        load_spec(write(tmp_path, bad))
    text = str(e.value)
    assert "training.numerics: expected one of 'reference', 'project', got 'official'" in text
    assert "numerics: a preset of hyperparameters: put it in training" in text
