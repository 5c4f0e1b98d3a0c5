"""Hyperparameter search in the DAG: validation, planning, Optuna studies that survive a rerun."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from orchestrator.analysis.tables import search_table
from orchestrator.hpsearch.studies import SearchStudies
from orchestrator.planning.plan import plan_sweep
from orchestrator.results import row_files as results
from orchestrator.store import open_store
from orchestrator.sweep.spec import SpecError, load_spec, parse_spec
from tests.conftest import ROOT, SWEEPS, simulated_run_args

SEARCH = {
    "space": {
        "lr": {"type": "loguniform", "low": 1e-3, "high": 1e-1},
        "reduction_factor": {"type": "categorical", "choices": [2, 4]},
    },
    "samples": 3,
}


def sweep(adapter_search=SEARCH, scalearn_search=None):
    raw = {
        "sweep": "s",
        "backbone": "tiny-roberta",
        "benchmarks": {"synthetic": {"seeds": [0, 1], "tasks": ["syn_sentiment", "syn_topic"]}},
        "methods": {
            "adapter": {"lr": 1e-2, "search": copy.deepcopy(adapter_search)},
            "scalearn": {"seeds": [0]},
        },
    }
    if scalearn_search:
        raw["methods"]["scalearn"]["search"] = scalearn_search
    return raw


def test_a_search_becomes_samples_then_seed_nodes_that_wait_for_them():
    plan = plan_sweep(parse_spec(sweep()))
    ids = plan.by_id()
    samples = [n for n in plan.nodes if n.search and n.search.role == "sample"]
    best = [n for n in plan.nodes if n.search and n.search.role == "best"]
    assert len(samples) == 2 * 3  # 2 tasks x 3 samples x seed 0
    assert len(best) == 2 * 2  # 2 tasks x seeds 0, 1
    for n in best:
        group = [s.id for s in samples if s.search.group == n.search.group]
        assert set(group) <= set(n.deps) and len(group) == 3
        assert n.hparams.get("lr") is None and n.hparams.get("reduction_factor") is None
    # transfer nodes stand on the adapters the search picks (seed 0)
    for t in (n for n in plan.nodes if n.kind == "transfer"):
        assert [ids[s.node_id].search.role for s in t.sources] == ["best", "best"]
        assert all(ids[s.node_id].seed == 0 for s in t.sources)


def test_search_ids_follow_the_search_definition():
    a = {n.id for n in plan_sweep(parse_spec(sweep())).nodes}
    assert a == {n.id for n in plan_sweep(parse_spec(sweep())).nodes}
    wider = copy.deepcopy(SEARCH)
    wider["samples"] = 4
    b = {n.id for n in plan_sweep(parse_spec(sweep(wider))).nodes}
    assert not (a & b), "a changed search changes its nodes and everything downstream"


def test_a_transfer_search_stands_on_a_stage_one_search():
    lr = {"space": {"lr": {"type": "loguniform", "low": 1e-3, "high": 1e-1}}, "samples": 2}
    plan = plan_sweep(parse_spec(sweep(scalearn_search=lr)))
    ids = plan.by_id()
    t_samples = [n for n in plan.nodes if n.kind == "transfer" and n.search.role == "sample"]
    assert len(t_samples) == 2 * 2
    for n in t_samples:
        assert all(ids[d].search.role == "best" for d in n.deps)


def test_bad_search_blocks_are_reported_by_key():
    bad = {
        "space": {
            "lr": {"type": "loguniform", "low": 0, "high": 1},
            "nope": {"type": "uniform", "low": 0, "high": 1},
            "epochs": {"type": "int", "low": 5, "high": 2},
            "select": {"type": "categorical", "choices": []},
        },
        "samples": 0,
        "sampler": "grid",
        "metric": "accuracy",
        "colour": 1,
    }
    with pytest.raises(SpecError) as e:
        parse_spec(sweep(bad), "x.yaml")
    text = "\n".join(e.value.problems)
    for fragment in (
        "methods.adapter.search.space.lr.low: a log-uniform range must be positive",
        "methods.adapter.search.space.nope: not a hyperparameter",
        "methods.adapter.search.space.epochs: expected integers low < high",
        "methods.adapter.search.space.select.choices: expected a non-empty list",
        "methods.adapter.search.samples: expected a positive integer",
        "methods.adapter.search.sampler: expected one of tpe, random",
        "methods.adapter.search.metric: expected one of dev_score, dev_loss",
        "methods.adapter.search.colour: unknown key",
    ):
        assert fragment in text, f"{fragment!r} not in\n{text}"


def test_a_search_space_follows_the_rules_of_the_keys_it_searches():
    """Bounds and choices are values of the hyperparameter: its type, range and choices."""
    bad = {
        "space": {
            "lr": {"type": "uniform", "low": -1.0, "high": 1.0},
            "warmup_ratio": {"type": "uniform", "low": 0.0, "high": 1.5},
            "weight_decay": {"type": "uniform", "low": 0.0, "high": float("inf")},
            "epochs": {"type": "uniform", "low": 1.0, "high": 3.0},
            "reduction_factor": {"type": "categorical", "choices": [0, -4, "big"]},
            "select": {"type": "categorical", "choices": ["accuracy", "loss"]},
            "padding": {"type": "uniform", "low": 0, "high": 1},
            "patience": {"type": "categorical", "choices": [None, 5, 5]},
            "batch_size": {"type": "int", "low": "8", "high": 32},
            "max_grad_norm": {"type": "loguniform", "low": "1e-1", "high": 1.0},
        },
        "samples": 2,
        "seed": 10**29,
    }
    with pytest.raises(SpecError) as e:
        parse_spec(sweep(bad), "x.yaml")
    found = e.value.problems
    at = "methods.adapter.search"
    for fragment in (
        f"{at}.space.lr.low: expected a positive number, got -1.0; a search tries only legal lr",
        f"{at}.space.warmup_ratio.high: expected a number in [0, 1), got 1.5",
        f"{at}.space.weight_decay.high: expected a non-negative number, got inf (not a finite",
        f"{at}.space.epochs.type: epochs takes a positive integer: search it with int or "
        "categorical, not uniform",
        f"{at}.space.reduction_factor.choices[0]: expected a positive integer, got 0",
        f"{at}.space.reduction_factor.choices[1]: expected a positive integer, got -4",
        f"{at}.space.reduction_factor.choices[2]: expected a positive integer, got 'big' (str)",
        f"{at}.space.select.choices[0]: expected 'loss' or 'score', got 'accuracy' (str)",
        f"{at}.space.padding.type: padding takes 'dynamic' or 'max_length': search it with "
        "categorical, not uniform",
        f"{at}.space.patience.choices: choices repeat: [None, 5, 5]",
        f"{at}.space.batch_size: expected integers low < high, got low='8' (str)",
        f"{at}.space.max_grad_norm: expected numbers low < high, got low='1e-1' (str), high=1.0 "
        "(float) (YAML reads 1e-1 as a string",
        f"{at}.seed: expected a seed, an integer in [0, 4294967295]",
    ):
        assert any(p.startswith(fragment) for p in found), f"{fragment!r} not in\n" + "\n".join(
            found
        )
    assert len(found) == 13, "\n".join(found)


def test_legal_search_spaces_stay_as_written():
    good = {
        "space": {
            "lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2},
            "warmup_ratio": {"type": "uniform", "low": 0, "high": 0.2},
            "epochs": {"type": "int", "low": 2, "high": 6},
            "patience": {"type": "categorical", "choices": [None, 3]},
            "max_grad_norm": {"type": "categorical", "choices": [None, 1.0]},
            "group_by_length": {"type": "categorical", "choices": [True, False]},
        },
        "samples": 2,
    }
    spec = parse_spec(sweep(good))
    assert spec.methods["adapter"].search.space == good["space"]


def test_studies_persist_and_a_sample_keeps_its_parameters(tmp_path):
    groups = {
        "g": {
            "spec": {
                "space": SEARCH["space"],
                "samples": 3,
                "sampler": "tpe",
                "seed": 0,
                "seeds": [0],
                "metric": "dev_score",
                "pruner": "none",
            }
        }
    }
    first = SearchStudies(groups, str(tmp_path))
    p0, p1 = first.params("g", 0), first.params("g", 1)
    first.tell("g", 0, 70.0)
    again = SearchStudies(groups, str(tmp_path))  # a rerun after a crash
    assert again.params("g", 0) == p0 and again.params("g", 1) == p1
    again.tell("g", 1, 80.0)
    again.tell("g", 0, 10.0)  # a finished sample keeps its value
    assert again.best("g") == p1
    states = Counter(s["state"] for s in again.summary("g"))
    assert states == {"COMPLETE": 2}


def _run(tmp_path, speed: str, **kw):
    # the test kills this driver: a Ray instance of its own, so no trial of it outlives the kill
    args = simulated_run_args(SWEEPS / "demo_search.yaml", tmp_path, speed, own_ray=True)
    cmd = [sys.executable, "-m", "orchestrator", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"), **kw)


@pytest.mark.slow
@pytest.mark.ray
def test_a_killed_search_continues_its_studies_without_repeating_samples(tmp_path, cli):
    plan = plan_sweep(load_spec(SWEEPS / "demo_search.yaml"), simulate=True)
    proc = _run(tmp_path, "1", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        store = tmp_path / "store"
        if store.exists() and len(open_store(str(store)).committed_ids()) >= 3:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    done = _run(tmp_path, "8", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = done.communicate(timeout=600)
    assert done.returncode == 0, out[-3000:]

    groups = {n.search.group: {"spec": n.search.spec} for n in plan.nodes if n.search}
    studies = SearchStudies(groups, str(tmp_path / "results" / "demo_search" / "search"))
    for gid in groups:
        trials = studies.summary(gid)
        indices = [t["index"] for t in trials]
        assert sorted(indices) == [0, 1, 2], "each sample asked once, none repeated"
        assert all(t["state"] == "COMPLETE" for t in trials)
    df = results.load(str(tmp_path / "results" / "demo_search"))
    assert set(df.node_id) == {n.id for n in plan.nodes}
    best = df[df.search_role == "best"]
    for _, row in best.iterrows():
        chosen = json.loads(row.hparams)
        assert all(chosen[k] is not None for k in ("lr", "reduction_factor"))
    text = search_table(df)
    assert text.count("<- best") == len(groups)
    out = cli(
        "plot",
        str(tmp_path / "results" / "demo_search"),
        "--kind",
        "search",
        "--out",
        str(tmp_path / "search.png"),
    )
    assert out.returncode == 0, out.stderr


def test_the_pruner_stops_a_sample_that_falls_behind(tmp_path):
    from ray.tune.schedulers import TrialScheduler

    from orchestrator.hpsearch.pruning import PruningScheduler
    from orchestrator.planning.dag import Dag
    from orchestrator.run.searcher import DagSearcher

    raw = sweep()
    raw["methods"]["adapter"]["search"]["pruner"] = "median"
    raw["methods"]["adapter"]["search"]["samples"] = 4
    raw["benchmarks"]["synthetic"]["tasks"] = ["syn_sentiment"]
    raw["methods"].pop("scalearn")
    plan = plan_sweep(parse_spec(raw))
    groups = {n.search.group: {"spec": n.search.spec} for n in plan.nodes if n.search}
    searcher = DagSearcher(
        Dag(plan.nodes),
        lambda _i: True,
        studies=SearchStudies(groups, str(tmp_path)),
        outcome=lambda i, m: ({"lr": 0.01, "reduction_factor": 2}, 90.0),
    )
    scheduler = PruningScheduler(searcher)

    class FakeTrial:
        def __init__(self, trial_id):
            self.trial_id = trial_id

    # two samples that score well at every epoch, then one that scores badly
    for t, values in (("t0", [80, 85, 90]), ("t1", [82, 86, 91]), ("t2", [10, 12, 15])):
        assert searcher.suggest(t)["node_id"].startswith("adapter-syn_sentiment-search")
        decisions = []
        for epoch, v in enumerate(values, start=1):
            searcher.on_trial_result(t, {"epoch": epoch, "dev_score": v})
            decisions.append(scheduler.on_trial_result(None, FakeTrial(t), {}))
        if t != "t2":
            assert set(decisions) == {TrialScheduler.CONTINUE}
            searcher.on_trial_complete(t)
    assert TrialScheduler.STOP in decisions, "the lagging sample is stopped"
    searcher.on_trial_complete("t2")
    assert Counter(searcher.status.values())["pruned"] == 1


def test_the_scheduler_picks_what_tune_s_fifo_picks_from_the_live_trials_only():
    """Tune's FIFO scans every trial ever added at every step; ours looks at the live ones."""
    import random
    from types import SimpleNamespace

    from ray.tune.experiment import Trial
    from ray.tune.schedulers import FIFOScheduler

    from orchestrator.hpsearch.pruning import PruningScheduler

    class FakeTrial(SimpleNamespace):
        __hash__ = object.__hash__  # a set member, as Tune's trials are

    class Controller:  # the two views of Tune's controller that the schedulers read
        def __init__(self):
            self.trials, self.scanned = [], 0

        def get_trials(self):
            self.scanned += len(self.trials)
            return self.trials

        def get_live_trials(self):
            return {t for t in self.trials if t.status != Trial.TERMINATED}

    rnd = random.Random(0)
    ours, fifo, tc = PruningScheduler(searcher=None), FIFOScheduler(), Controller()
    statuses = [Trial.PENDING, Trial.RUNNING, Trial.PAUSED, Trial.TERMINATED]
    for step in range(400):
        if rnd.random() < 0.3:
            trial = FakeTrial(trial_id=f"t{step}", status=Trial.PENDING)
            tc.trials.append(trial)
            ours.on_trial_add(tc, trial)
        elif tc.trials:
            trial = rnd.choice(tc.trials)
            if trial.status == Trial.TERMINATED:
                continue
            trial.status = rnd.choice(statuses)
            if trial.status == Trial.PENDING and rnd.random() < 0.5:  # a retry: to the end
                tc.trials.remove(trial)
                tc.trials.append(trial)
                ours.on_trial_add(tc, trial)
            elif trial.status == Trial.TERMINATED:
                ours.on_trial_complete(tc, trial, {})
        scanned = tc.scanned
        chosen = ours.choose_trial_to_run(tc)
        assert tc.scanned == scanned  # ours never reads the list of every trial
        assert chosen is fifo.choose_trial_to_run(tc)
    assert sum(t.status == Trial.TERMINATED for t in tc.trials) > 20
