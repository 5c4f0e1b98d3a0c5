"""Trial requests against the cluster's machines and the node types it can start, before the Tuner
starts: GPU requests kept where GPUs can come, impossible requests an exit-2 problem, a simulated
run on a small local instance scaled down to fit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import yaml

from orchestrator.planning.plan import plan_sweep
from orchestrator.run import capacity
from orchestrator.run.capacity import Machine, fit_requests
from orchestrator.sweep.spec import load_spec
from orchestrator.testing.local_cluster import LocalCluster, cluster_env
from tests.conftest import ROOT, SWEEPS, TEST_SWEEPS, run_cli, simulated_run_args

CLUSTER_YAML = ROOT / "cluster.yaml"


def _nodes(sweep):
    return {n.id: n for n in plan_sweep(load_spec(sweep), simulate=True).nodes}


def _key(spec):
    return lambda m: (
        f"methods.{m}.resources"
        if spec.methods.get(m) and spec.methods[m].resources
        else "resources"
    )


def test_the_shipped_cluster_can_start_gpu_workers():
    types = capacity.node_types_from_launcher_config(yaml.safe_load(CLUSTER_YAML.read_text()))
    assert Machine("node type gpu_worker", 4.0, 1.0, startable=True) in types
    assert Machine("node type head", 0.0, 0.0, startable=False) in types


def test_gpu_requests_stay_when_gpu_workers_autoscale_from_zero():
    """The shipped cluster.yaml: a CPU head, GPU workers from zero. At start Ray sees no GPU, but
    the node types can bring them, so no request is dropped and every one fits."""
    spec = load_spec(SWEEPS / "glue_full.yaml")
    nodes = {n.id: n for n in plan_sweep(spec).nodes}
    head = [Machine("node head", 0.0, 0.0)]
    types = capacity.node_types_from_launcher_config(yaml.safe_load(CLUSTER_YAML.read_text()))
    fitted = fit_requests(
        nodes, head + types, scale_down=False, where=spec.path, resource_key=_key(spec)
    )
    assert fitted.problems == [] and fitted.notes == []
    assert fitted.nodes == nodes  # nothing changed: full_ft keeps its GPU, adapters their half
    assert {n.resources["gpu"] for n in fitted.nodes.values()} == {0.5, 1}


def test_without_any_gpu_node_type_gpu_requests_are_dropped_and_said_so():
    spec = load_spec(SWEEPS / "glue_full.yaml")
    nodes = {n.id: n for n in plan_sweep(spec).nodes}
    fitted = fit_requests(
        nodes,
        [Machine("node a", 8.0, 0.0)],
        scale_down=False,
        where=spec.path,
        resource_key=_key(spec),
    )
    assert fitted.problems == []
    assert fitted.notes == [
        "no machine of the cluster has a GPU or can start one: GPU requests are dropped, trials "
        "run on CPUs"
    ]
    assert {n.resources["gpu"] for n in fitted.nodes.values()} == {0}


def test_a_request_no_machine_holds_names_the_methods_and_what_they_ask():
    spec = load_spec(SWEEPS / "glue_fewshot.yaml")
    nodes = {n.id: n for n in plan_sweep(spec, simulate=True).nodes}
    fitted = fit_requests(
        nodes,
        [Machine("node 10.0.0.1", 2.0, 0.0)],
        scale_down=False,
        where=spec.path,
        resource_key=_key(spec),
    )
    assert [(p.key, p.message.split(",")[0]) for p in fitted.problems] == [
        ("methods.full_ft.resources", "full_ft ask 4 CPU(s) and 0 GPU(s) per trial"),
        ("methods.adapter_fusion.resources", "adapter_fusion ask 4 CPU(s) and 0 GPU(s) per trial"),
    ]
    assert "the cluster offers node 10.0.0.1: 2 CPU(s), 0 GPU(s) (running)" in (
        fitted.problems[0].message
    )


def test_a_simulated_run_on_a_local_instance_scales_requests_down_and_says_so():
    spec = load_spec(SWEEPS / "glue_fewshot.yaml")
    nodes = {n.id: n for n in plan_sweep(spec, simulate=True).nodes}
    fitted = fit_requests(
        nodes,
        [Machine("node local", 2.0, 0.0)],
        scale_down=True,
        where=spec.path,
        resource_key=_key(spec),
    )
    assert fitted.problems == []
    assert any(
        "simulated run on a local instance: full_ft, adapter_fusion ask 4 CPU(s)" in note
        and "scaled down to 2 CPU(s) and 0 GPU(s)" in note
        for note in fitted.notes
    ), fitted.notes
    assert max(n.resources["cpu"] for n in fitted.nodes.values()) == 2
    untouched = [n for n in fitted.nodes.values() if n.method == "adapter"]
    assert untouched and all(n.resources["cpu"] == 2 for n in untouched)


def test_node_types_with_unknown_resources_are_not_held_against_a_request():
    types = capacity.node_types_from_launcher_config(
        {
            "available_node_types": {"head": {"resources": {"CPU": 0}}, "w": {"max_workers": 2}},
            "head_node_type": "head",
        }
    )
    assert types[1] == Machine("node type w", None, None, startable=True)
    nodes = _nodes(TEST_SWEEPS / "tiny_sim.yaml")
    fitted = fit_requests(nodes, types, scale_down=False, where="x", resource_key=str)
    assert fitted.problems == [] and fitted.nodes == nodes


def test_worker_types_that_cannot_start_do_not_count():
    config = {
        "max_workers": 0,
        "head_node_type": "head",
        "available_node_types": {
            "head": {"resources": {"CPU": 2}},
            "gpu": {"resources": {"CPU": 8, "GPU": 4}, "max_workers": 4},
        },
    }
    assert [m.name for m in capacity.node_types_from_launcher_config(config)] == ["node type head"]
    config["max_workers"] = 4
    config["available_node_types"]["gpu"]["max_workers"] = 0
    assert [m.name for m in capacity.node_types_from_launcher_config(config)] == ["node type head"]


def test_node_groups_reported_to_ray_count_as_node_types():
    from ray.core.generated import autoscaler_pb2

    config = autoscaler_pb2.ClusterConfig()
    group = config.node_group_configs.add()
    group.name, group.max_count = "a10g", 8
    group.resources["CPU"], group.resources["GPU"] = 4, 1
    off = config.node_group_configs.add()
    off.name, off.max_count = "off", 0
    off.resources["CPU"] = 64
    assert capacity.node_types_from_cluster_config(config) == [
        Machine("node type a10g", 4.0, 1.0, startable=True)
    ]


# --- on real Ray -------------------------------------------------------------------------------


def _sweep(tmp_path, resources: str, methods: str) -> str:
    p = tmp_path / "sweep.yaml"
    head = textwrap.dedent(
        f"""\
        sweep: fits
        backbone: tiny-roberta
        benchmarks:
          synthetic:
            tasks: [syn_sentiment, syn_paraphrase]
            data: {{source: synthetic, seed: 0, n_train: 64, n_test: 32}}
            seeds: [0]
        training: {{epochs: 2, batch_size: 16}}
        resources: {resources}
        methods:
        """
    )
    p.write_text(head + textwrap.indent(methods, "  ") + "\n")
    return str(p)


@pytest.mark.slow
@pytest.mark.ray
def test_a_simulated_run_asking_more_cpus_than_the_machine_finishes(tmp_path):
    """Without scaling down, the 4-CPU trials on a 2-CPU instance would wait for ever."""
    sweep = _sweep(
        tmp_path, "{cpu: 1, gpu: 0}", "adapter: {lr: 1.0e-2}\nfull_ft: {resources: {cpu: 4}}"
    )
    # scaling down is what a local instance of the run's own does
    out = run_cli(*simulated_run_args(sweep, tmp_path, "50", own_ray=True), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (
        "simulated run on a local instance: full_ft ask 4 CPU(s) and 0 GPU(s) per trial, more "
        "than this machine has" in out.stderr
    )
    assert "scaled down to 2 CPU(s) and 0 GPU(s)" in out.stderr
    assert "4 done, 0 cached, 0 failed" in out.stdout


@pytest.mark.slow
@pytest.mark.ray
def test_joined_clusters_keep_gpu_requests_their_node_types_can_hold(tmp_path):
    """A head with 2 CPUs and no GPU, joined by address: with the shipped cluster.yaml as its
    autoscaler config, GPU requests stay; without, they are dropped; more GPUs per trial than a
    node type has is exit 2 naming the method."""
    home_with = tmp_path / "home_with"
    home_with.mkdir()
    (home_with / "ray_bootstrap_config.yaml").write_text(CLUSTER_YAML.read_text())
    home_without = tmp_path / "home_without"
    home_without.mkdir()
    sweep = _sweep(
        tmp_path,
        "{cpu: 1, gpu: 0.5}",
        "adapter: {lr: 1.0e-2}\nfull_ft: {resources: {cpu: 2, gpu: 1}}",
    )
    probe = textwrap.dedent(
        """\
        import json, sys
        from orchestrator.run.prepare import prepare_run
        from orchestrator.run.runner import RunOptions
        from orchestrator.run.tuner import build_tuner
        from orchestrator.sweep.spec import load_spec
        sweep, work, address = sys.argv[1:4]
        run = prepare_run(load_spec(sweep), work + "/results", work + "/store", True, 1.0, None)
        setup = build_tuner(run, RunOptions(address=address))
        print("REQUESTS", json.dumps({n.method: n.resources["gpu"] for n in setup.nodes.values()}))
        """
    )
    with LocalCluster(workers=0, head_cpus=2) as cluster:
        seen = {}
        for name, home in (("with", home_with), ("without", home_without)):
            out = subprocess.run(
                [sys.executable, "-c", probe, sweep, str(tmp_path / name), cluster.address],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=dict(cluster_env(), HOME=str(home), PYTHONPATH=str(ROOT)),
                timeout=300,
            )
            assert out.returncode == 0, out.stderr[-3000:]
            line = next(x for x in out.stdout.splitlines() if x.startswith("REQUESTS"))
            seen[name] = (json.loads(line.split(" ", 1)[1]), out.stderr)
        assert seen["with"][0] == {"adapter": 0.5, "full_ft": 1}
        assert "GPU requests are dropped" not in seen["with"][1]
        assert seen["without"][0] == {"adapter": 0, "full_ft": 0}
        assert "GPU requests are dropped, trials run on CPUs" in seen["without"][1]

        greedy = _sweep(tmp_path, "{cpu: 1, gpu: 0}", "adapter: {resources: {cpu: 2, gpu: 2}}")
        args = ["run", greedy, "--simulate", "--address", cluster.address]
        args += ["--results", str(tmp_path / "g" / "results"), "--store", str(tmp_path / "g" / "s")]
        out = run_cli(*args, env=dict(CLUSTER_ENV_FOR_CLI, HOME=str(home_with)), timeout=300)
        assert out.returncode == 2, out.stderr[-3000:]
        assert "Traceback" not in out.stderr
        assert (
            f"error: {greedy}: methods.adapter.resources: adapter ask 2 CPU(s) and 2 GPU(s) per "
            "trial, which no machine of the cluster holds" in out.stderr
        )
        assert "node type gpu_worker: 4 CPU(s), 1 GPU(s) (node type it can start)" in out.stderr


CLUSTER_ENV_FOR_CLI = {k: v for k, v in cluster_env().items() if k.startswith("RAY_")}
