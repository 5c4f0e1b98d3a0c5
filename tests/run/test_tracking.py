"""run --log-to: each trained node one run of W&B (offline), MLflow (a file store) and TensorBoard,
read back through each library's own reader; cached nodes are not logged again; a tracker that
is misconfigured or down costs a warning, not a trial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TEST_SWEEPS, simulated_run_args
from tests.wandb_records import read_records

pytestmark = pytest.mark.ray

SWEEP = """\
sweep: tiny_track
backbone: tiny-roberta
benchmarks:
  synthetic:
    tasks: [syn_sentiment, syn_paraphrase]
    data: {{source: synthetic, seed: 0, n_train: 64, n_test: 32}}
    seeds: {seeds}
training: {{epochs: 2, batch_size: 16}}
methods:
  adapter: {{lr: 1.0e-2}}
  scalearn: {{lr: 3.0e-2, seeds: [0]}}
"""
LABELS = {
    "adapter/syn_sentiment/s0",
    "adapter/syn_paraphrase/s0",
    "scalearn/syn_sentiment/s0",
    "scalearn/syn_paraphrase/s0",
}
EPOCHS = 3  # the simulated trainer's reports


def _sweep(tmp_path: Path, seeds: str) -> Path:
    path = tmp_path / "tiny_track.yaml"
    path.write_text(SWEEP.format(seeds=seeds))
    return path


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def _wandb_runs(folder: Path) -> dict[str, dict]:
    """label -> group, job type, tags, config and the dev_score curve of each offline run."""
    runs = {}
    for log in folder.glob("offline-run-*/run-*.wandb"):
        run, curve = None, []
        for r in read_records(log):
            kind = r.WhichOneof("record_type")
            if kind == "run":
                run = r.run
            elif kind == "history":
                items = {_key(i): json.loads(i.value_json) for i in r.history.item}
                if "dev_score" in items:
                    curve.append((items["epoch"], items["dev_score"]))
        config = {i.key: json.loads(i.value_json) for i in run.config.update}
        runs[run.display_name] = {
            "group": run.run_group,
            "job_type": run.job_type,
            "tags": set(run.tags),
            "config": config,
            "curve": curve,
        }
    return runs


@pytest.mark.slow
def test_each_trained_node_is_one_tracked_run(tmp_path, cli, monkeypatch):
    pytest.importorskip("wandb")
    mlflow = pytest.importorskip("mlflow")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from orchestrator.results import row_files as results

    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "MLFLOW_TRACKING_URI": ""}
    # the trackers' environment must reach the trial processes: a Ray instance of the run's own
    args = simulated_run_args(_sweep(tmp_path, "[0]"), tmp_path, "40", own_ray=True)
    trackers = ["--log-to", "wandb", "--log-to", "mlflow", "--log-to", "tensorboard"]
    out = cli(*args, *trackers, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "warning: --log-to" not in out.stderr
    df = results.load(str(tmp_path / "results" / "tiny_track"))
    node_of = {f"{r.method}/{r.task}/s{r.seed}": r.node_id for r in df.itertuples()}
    sweep_dir = tmp_path / "results" / "tiny_track"

    runs = _wandb_runs(sweep_dir / "wandb")
    assert set(runs) == LABELS
    s = runs["scalearn/syn_paraphrase/s0"]
    assert s["group"] == "tiny_track" and s["job_type"] == "transfer"
    assert {"kind:transfer", "method:scalearn", "task:syn_paraphrase", "seed:0"} <= s["tags"]
    assert node_of["scalearn/syn_paraphrase/s0"] in s["tags"]
    assert s["config"]["lr"] == 0.03 and s["config"]["epochs"] == 2  # resolved hyperparameters
    assert s["config"]["node_id"] == node_of["scalearn/syn_paraphrase/s0"]
    assert [e for e, _ in s["curve"]] == list(range(1, EPOCHS + 1))

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks to opt in
    client = mlflow.MlflowClient(tracking_uri=f"file://{sweep_dir / 'mlruns'}")
    exp = client.get_experiment_by_name("tiny_track")
    found = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert set(found) == LABELS
    a = found["adapter/syn_sentiment/s0"]
    assert a.data.tags["method"] == "adapter" and a.data.tags["kind"] == "stl"
    assert a.data.tags["node_id"] == node_of["adapter/syn_sentiment/s0"]
    assert a.data.params["lr"] == "0.01" and a.data.params["task"] == "syn_sentiment"
    history = client.get_metric_history(a.info.run_id, "dev_score")
    assert [m.step for m in history] == list(range(1, EPOCHS + 1))
    assert a.info.status == "FINISHED"

    for label in LABELS:
        acc = EventAccumulator(str(sweep_dir / "tensorboard" / label))
        acc.Reload()
        points = acc.Scalars("ray/tune/dev_score")
        assert [p.step for p in points] == list(range(1, EPOCHS + 1))
    assert len(list((sweep_dir / "tensorboard" / "adapter/syn_sentiment/s0").iterdir())) == 1

    # a second seed: only its nodes train and are logged
    args = simulated_run_args(_sweep(tmp_path, "[0, 1]"), tmp_path, "40", own_ray=True)
    out = cli(*args, "--log-to", "tensorboard", timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "4 cached, 2 to run" in out.stderr
    logged = {
        str(p.parent.relative_to(sweep_dir / "tensorboard"))
        for p in (sweep_dir / "tensorboard").rglob("events.out.tfevents.*")
    }
    assert logged == LABELS | {"adapter/syn_sentiment/s1", "adapter/syn_paraphrase/s1"}
    assert len(list((sweep_dir / "tensorboard" / "adapter/syn_sentiment/s0").iterdir())) == 1


class _Trial:
    """What the callbacks read of a Tune trial before they log anything."""

    config = {"node_id": None}
    trial_id = "t0"


def test_a_misconfigured_or_unreachable_tracker_is_a_warning(tmp_path, monkeypatch, capsys):
    pytest.importorskip("wandb")
    pytest.importorskip("mlflow")
    from orchestrator.planning.plan import plan_sweep
    from orchestrator.run.tracking import tracker_callbacks
    from orchestrator.sweep.spec import load_spec

    plan = plan_sweep(load_spec(_sweep(tmp_path, "[0]")), simulate=True)
    nodes = {n.id: n for n in plan.nodes}
    _Trial.config = {"node_id": plan.nodes[0].id}
    # W&B online without a key; an MLflow server nobody listens on
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    callbacks = tracker_callbacks(["wandb", "mlflow"], nodes, "tiny_track", "r", str(tmp_path))
    for cb in callbacks:
        cb.setup()
        cb.log_trial_start(_Trial)
        cb.log_trial_result(1, _Trial, {"epoch": 1, "dev_score": 50.0, "training_iteration": 1})
        cb.log_trial_end(_Trial)
        cb.on_experiment_end([])
    err = capsys.readouterr().err
    assert "warning: --log-to wandb: setup failed (ValueError: No WandB API key" in err
    assert "warning: --log-to mlflow: setup failed" in err
    assert err.count("warning: --log-to") == 2  # once per tracker, then silent


def test_a_missing_tracker_package_is_exit_2_naming_the_extra(monkeypatch, capsys, tmp_path):
    import importlib.util

    from orchestrator.__main__ import main
    from orchestrator.run.tracking import missing_packages

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a)
    )
    assert missing_packages(["wandb", "tensorboard"]) == []
    sweep = str(TEST_SWEEPS / "tiny_sim.yaml")
    # reported with the invocation's other problems, before anything runs
    args = ["run", sweep, "--simulate", "--log-to", "mlflow", "--log-to", "mlflow"]
    assert main([*args, "--results", str(tmp_path / "r"), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: --log-to mlflow needs the mlflow package: pip install 'scalearn-sweeps[mlflow]'"
    ]
    assert not (tmp_path / "r").exists(), "nothing ran"
