"""One report of every problem of an invocation (spec, options, data, sources, plan size), and the
plan-size guard's count, which equals the plan's."""

from __future__ import annotations

import copy
import textwrap

import pytest
import yaml

from orchestrator.__main__ import main
from orchestrator.planning.plan import plan_sweep
from orchestrator.sweep.spec import load_spec, parse_spec
from tests.conftest import SHARED_DATA, SWEEPS, TEST_SWEEPS


def cli(capsys, *args) -> tuple[int, str, str]:
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def glue_dir(tmp_path):
    """A local GLUE folder: RTE complete, MRPC without its validation file, nothing else."""
    root = tmp_path / "glue"
    (root / "rte").mkdir(parents=True)
    (root / "rte" / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n")
    (root / "rte" / "dev.tsv").write_text("index\tsentence1\tsentence2\tlabel\n")
    (root / "mrpc").mkdir()
    (root / "mrpc" / "msr_paraphrase_train.txt.tsv").write_text("x\n")
    return root


def test_spec_data_and_source_problems_come_in_one_report(tmp_path, glue_dir, capsys):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        textwrap.dedent(
            f"""\
            sweep: s
            backbone: tiny-roberta
            benchmarks:
              glue:
                tasks: [rte, mrpc, cola, stsb]
                seeds: [0]
                data: {{source: local, dir: {glue_dir}}}
            methods:
              adapter: {{lr: 1.0e-3, seeds: [1]}}
              scalearn: {{lr: -1.0}}
            """
        )
    )
    rc, _, err = cli(capsys, "plan", str(sweep), "--store", str(tmp_path / "store"))
    assert rc == 2
    lines = err.splitlines()
    assert lines[0] == f"error: {sweep} has 4 problem(s):"
    body = "\n".join(lines[1:])
    assert f"{sweep}: methods.scalearn.lr: expected a positive number, got -1.0" in body
    assert f"no validation file in {glue_dir / 'mrpc'}" in body and "(tasks: mrpc)" in body
    # STS-B and CoLA have no folder: one cause, one line (tasks in the paper's order)
    assert f"no train or validation file in {glue_dir}:" in body and "(tasks: stsb, cola)" in body
    assert (
        "methods.scalearn: the transfer methods (scalearn) need the stage-one 'adapter' adapter "
        "with seed 0 of every task as a source" in body
    )
    assert "methods.adapter.seeds lacks seed 0: add it" in body
    assert body.count("need the stage-one") == 1
    assert body.rstrip().endswith("(tasks: stsb, mrpc, rte, cola)")


def test_option_problems_join_the_sweeps(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        "sweep: s\nbackbone: tiny-roberta\nbenchmarks: {synthetic: {seeds: [0]}}\n"
        "methods: {adapter: {lr: 0}}\n"
    )
    rc, _, err = cli(capsys, "plan", str(sweep), "--store", str(afile))
    assert rc == 2
    assert err.splitlines()[0] == "error: 2 problem(s), nothing was started:"
    assert f"  --store: {afile} is a file, not a folder" in err
    assert f"  {sweep}: methods.adapter.lr: expected a positive number, got 0" in err
    rc, _, err = cli(
        capsys, "run", str(sweep), "--store", str(tmp_path / "st"), "--results", str(afile / "r")
    )
    assert rc == 2 and f"--results: {afile / 'r'} cannot be a folder: {afile} is a file" in err


def test_backbone_problems_join_the_others(tmp_path, capsys):
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        "sweep: s\nbackbone: robrta-base\nbenchmarks: {synthetic: {seeds: [0, 10000000000]}}\n"
        "methods: {adapter: {lr: -1.0}, scalearn: {}}\n"
    )
    rc, _, err = cli(capsys, "plan", str(sweep), "--store", str(tmp_path / "store"))
    assert rc == 2 and "Traceback" not in err
    keys = [line.split(": ")[1] for line in err.splitlines()[1:]]
    assert keys == ["benchmarks.synthetic.seeds", "methods.adapter.lr", "backbone"], err


def test_a_typo_that_moves_source_ids_is_not_also_reported_as_missing_sources(tmp_path):
    from orchestrator.planning.preflight import check_sweep
    from orchestrator.problems import InputError

    raw = {
        "sweep": "s",
        "backbone": "tiny-roberta",
        "benchmarks": {"synthetic": {"seeds": [0], "tasks": ["syn_sentiment", "syn_topic"]}},
        "training": {"epochs": 0},
        "methods": {"scalearn": {}},
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError) as e:
        check_sweep(str(path), str(tmp_path / "store"))
    assert [p.key for p in e.value.found] == ["training.epochs"]
    raw["training"] = {"epochs": 2}
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError) as e:
        check_sweep(str(path), str(tmp_path / "store"))
    assert [p.key for p in e.value.found] == ["methods.scalearn"]
    assert e.value.found[0].tasks == ["syn_sentiment", "syn_topic"]


def _adapters(seeds: int, extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        sweep: big
        backbone: tiny-roberta
        benchmarks:
          synthetic: {{seeds: [{", ".join(str(s) for s in range(seeds))}]}}
        methods:
          adapter: {{lr: 1.0e-3{extra}}}
        """
    )


def test_the_plan_size_guard_says_how_many_nodes_and_how_to_go_on(tmp_path, capsys):
    sweep = tmp_path / "big.yaml"
    sweep.write_text(_adapters(6000))  # 4 tasks x 6,000 seeds
    store = str(tmp_path / "store")
    rc, out, err = cli(capsys, "plan", str(sweep), "--store", store)
    assert rc == 2 and out == ""
    assert err == (
        f"error: {sweep}: the sweep would make 24,000 nodes, more than the limit of 20,000 "
        "(most: adapter 24,000); check its seeds and search samples, or raise the limit with "
        "--max-nodes 24000\n"
    )
    rc, out, _ = cli(capsys, "plan", str(sweep), "--store", store, "--max-nodes", "24000")
    assert rc == 0 and "sweep big" in out and ": 24000 nodes" in out
    rc, _, err = cli(capsys, "run", str(sweep), "--store", store, "--simulate")
    assert rc == 2 and "would make 24,000 nodes" in err


def test_a_billion_search_samples_are_counted_not_planned(tmp_path, capsys):
    search = (
        ", search: {space: {lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}}, "
        "samples: 1000000000}"
    )
    sweep = tmp_path / "s.yaml"
    sweep.write_text(_adapters(1, search))
    rc, _, err = cli(capsys, "plan", str(sweep), "--store", str(tmp_path / "store"))
    assert rc == 2
    assert "would make 4,000,000,004 nodes" in err


VARIANTS = {
    "searches everywhere": """
        benchmarks:
          synthetic: {seeds: [0, 1], tasks: [syn_sentiment, syn_topic, syn_paraphrase]}
        methods:
          adapter:
            seeds: [0, 2]
            search: {space: {lr: {type: loguniform, low: 1.0e-3, high: 1.0e-1}}, samples: 3,
                     seeds: [0, 1]}
            per_task:
              syn_topic:
                epochs: 3
                search: {space: {epochs: {type: int, low: 2, high: 4}}, samples: 2}
          full_ft: {per_benchmark: {synthetic: {lr: 1.0e-4}}}
          scalearn:
            search: {space: {lr: {type: uniform, low: 1.0e-3, high: 2.0e-2}}, samples: 2}
          adapter_m: {seeds: [0, 5], max_steps: 10}
        """,
    "two benchmarks share RTE": """
        benchmarks:
          glue: {seeds: [0, 1], tasks: [rte, mrpc]}
          superglue: {seeds: [0], tasks: [rte, cb], task_seeds: {cb: [0, 1, 2]}}
        methods:
          adapter: {}
          compacter_pp: {per_benchmark: {superglue: {lr: 1.0e-3}}}
          scalearn: {seeds: [0]}
          full_ft_m: {}
        """,
    "sources not in the method list": """
        benchmarks:
          synthetic: {seeds: [0, 1]}
        sources: {method: compacter_pp, seed: 1}
        methods:
          compacter_pp: {seeds: [1]}
          adapter_fusion: {}
        """,
    "few-shot": """
        benchmarks:
          synthetic: {seeds: [0, 1], tasks: [syn_sentiment, syn_topic, syn_paraphrase]}
        fewshot: {k: [4, 8], sources: {lr: 1.0e-3}}
        methods:
          adapter: {seeds: [0]}
          compacter_pp: {}
          scalearn: {}
          adapter_fusion: {seeds: [3]}
        """,
    "few-shot of one task": """
        benchmarks:
          synthetic: {seeds: [0], tasks: [syn_topic]}
        fewshot: {k: [4]}
        methods: {scalearn: {}}
        """,
}


@pytest.mark.parametrize("simulate", [False, True])
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_count_is_the_plans_node_count(name, simulate):
    from orchestrator.planning.size import count_nodes

    raw = {"sweep": "s", "backbone": "tiny-roberta", **yaml.safe_load(VARIANTS[name])}
    spec = parse_spec(copy.deepcopy(raw))
    plan = plan_sweep(spec, committed=lambda _id: True, simulate=simulate)
    assert count_nodes(spec, simulate).total == len(plan.nodes)
    by_method = {}
    for n in plan.nodes:
        by_method[n.method] = by_method.get(n.method, 0) + 1
    assert dict(count_nodes(spec, simulate).by_method()) == by_method


@pytest.mark.parametrize(
    "path", sorted(SWEEPS.glob("*.yaml")) + sorted(TEST_SWEEPS.glob("*.yaml")), ids=str
)
def test_the_count_of_every_shipped_sweep_is_its_plans(path):
    from orchestrator.planning.size import DEFAULT_MAX_NODES, count_nodes

    if "shared/data" in path.read_text() and not SHARED_DATA.is_dir():
        pytest.skip(f"{path.name} reads {SHARED_DATA}, absent here")
    spec = load_spec(path)
    assert count_nodes(spec).total == len(plan_sweep(spec).nodes) <= DEFAULT_MAX_NODES


def test_a_report_merges_the_tasks_of_one_cause():
    from orchestrator.problems import InputError, Report

    report = Report()
    report.add("x.yaml", "benchmarks.glue.data.dir", "no such directory", ["rte"])
    report.add("x.yaml", "benchmarks.glue.data.dir", "no such directory", ["mrpc", "rte"])
    report.add("--store", "", "a file")
    assert [p.line() for p in report.found] == [
        "x.yaml: benchmarks.glue.data.dir: no such directory (tasks: rte, mrpc)",
        "--store: a file",
    ]
    with pytest.raises(InputError) as e:
        report.raise_if_any()
    assert e.value.headline() == "error: 2 problem(s), nothing was started:"
    Report().raise_if_any()  # nothing found, nothing raised
