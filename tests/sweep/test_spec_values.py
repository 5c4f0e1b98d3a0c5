"""Values a sweep file may hold: the same rules wherever a value stands, bounds on seeds, resources
and retries, hub names, and one line per cause for the data of many tasks."""

from __future__ import annotations

import copy

import pytest

from orchestrator.contract import hparams as hp
from orchestrator.sweep.spec import SpecError, parse_spec

BASE = {
    "sweep": "s",
    "backbone": "tiny-roberta",
    "benchmarks": {"synthetic": {"seeds": [0]}},
    "methods": {"adapter": {"lr": 1e-3}},
}


def problems(**changes) -> list[str]:
    """The problems of BASE with ``changes`` (dotted key paths, '__' for '.')."""
    raw = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = raw
        for k in path:
            node = node.setdefault(k, {})
        node[last] = value
    with pytest.raises(SpecError) as e:
        parse_spec(raw, "x.yaml")
    return e.value.problems


@pytest.mark.parametrize(
    "where",
    [
        "training",
        "methods__adapter",
        "methods__adapter__per_benchmark__synthetic",
        "methods__adapter__per_task__syn_topic",
        "fewshot__sources",
    ],
)
@pytest.mark.parametrize("key", ["lr", "weight_decay", "max_grad_norm"])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_no_hyperparameter_takes_an_infinite_or_nan_value(where, key, value):
    changes = {f"{where}__{key}": value}
    if where.startswith("fewshot"):
        changes["fewshot__k"] = [4]
    found = problems(**changes)
    prefix = where.replace("__", ".")
    assert any(
        p.startswith(f"{prefix}.{key}: expected ") and p.endswith("(not a finite number)")
        for p in found
    ), found


def test_integer_keys_take_integers_only_within_64_bits():
    found = problems(training__epochs=3.0, training__batch_size=2**70)
    assert (
        "training.epochs: expected a positive integer, got 3.0 (float) (write it without a "
        "decimal point: 3)"
    ) in found
    assert any(
        p.startswith("training.batch_size:") and "beyond a 64-bit integer" in p for p in found
    )


@pytest.mark.parametrize(
    "key",
    [
        "benchmarks__synthetic__seeds",
        "methods__adapter__seeds",
    ],
)
def test_a_seed_must_be_one_numpy_takes(key):
    found = problems(**{key: [0, 10**29]})
    dotted = key.replace("__", ".")
    assert any(
        p.startswith(f"{dotted}: expected a list of seeds, non-negative integers up to 4294967295")
        for p in found
    ), found


def test_single_seeds_are_bounded_too():
    found = problems(sources={"method": "adapter", "seed": 10**29})
    assert any(
        p.startswith("sources.seed: expected a seed, an integer in [0, 4294967295]") for p in found
    )
    raw = copy.deepcopy(BASE)
    raw["benchmarks"]["synthetic"]["data"] = {"source": "synthetic", "seed": 2**40}
    with pytest.raises(SpecError, match=r"benchmarks.synthetic.data.seed: expected a seed"):
        parse_spec(raw)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (0, "expected a positive number of CPUs per trial (fractions allowed), got 0"),
        (-1, "expected a positive number of CPUs per trial"),
        (float("inf"), "expected a positive number of CPUs per trial"),
        ("2", "expected a positive number of CPUs per trial"),
    ],
)
def test_a_trial_needs_some_cpu(value, fragment):
    assert any(fragment in p for p in problems(resources={"cpu": value})), value
    found = problems(methods__adapter__resources={"cpu": value})
    assert any(p.startswith("methods.adapter.resources.cpu: ") and fragment in p for p in found)


def test_gpu_requests_are_finite_and_fractions_at_most_one():
    assert any(
        "resources.gpu: expected a non-negative number" in p
        for p in problems(resources={"gpu": float("inf")})
    )
    assert any(
        "a fraction of a GPU must be at most 1" in p for p in problems(resources={"gpu": 1.5})
    )
    spec = parse_spec({**BASE, "resources": {"cpu": 0.5, "gpu": 2}})
    assert spec.resources == {"cpu": 0.5, "gpu": 2}


def test_retries_are_bounded():
    assert problems(retries=10**6) == [
        "retries: expected an integer in [0, 100], got 1000000 (int)"
    ]
    assert problems(retries=-1) == ["retries: expected an integer in [0, 100], got -1 (int)"]


def test_hub_repositories_are_ids_or_folders_and_revisions_strings(tmp_path):
    raw = copy.deepcopy(BASE)
    raw["benchmarks"] = {
        "glue": {
            "seeds": [0],
            "tasks": ["rte", "mrpc"],
            "data": {"source": "hub", "repo": "not a repo!!", "revision": 3, "config": ""},
        }
    }
    with pytest.raises(SpecError) as e:
        parse_spec(raw, "x.yaml")
    found = e.value.problems
    assert len(found) == 3, found  # one line per cause, both tasks on it
    assert found[0].startswith(
        "benchmarks.glue.data.repo: expected a hub data set id such as 'nyu-mll/glue'"
    )
    assert found[0].endswith("got 'not a repo!!' (str) (tasks: mrpc, rte)")
    assert found[1].startswith("benchmarks.glue.data.config: expected a string")
    assert found[2].startswith("benchmarks.glue.data.revision: expected a string (a branch, tag")
    raw["benchmarks"]["glue"]["data"] = {"source": "hub", "repo": str(tmp_path), "revision": "v1"}
    assert parse_spec(raw).benchmarks["glue"].data["rte"]["repo"] == str(tmp_path)
    raw["benchmarks"]["glue"]["data"] = {"source": "hub", "repo": "my-org/glue.mirror"}
    parse_spec(raw)


def test_a_data_problem_of_eight_tasks_is_one_line_listing_them():
    raw = copy.deepcopy(BASE)
    raw["benchmarks"] = {
        "glue": {"seeds": [0], "data": {"source": "local", "dir": "/no/such/glue", "n_train": 0}}
    }
    with pytest.raises(SpecError) as e:
        parse_spec(raw, "x.yaml")
    tasks = "(tasks: mnli, qqp, qnli, sst2, stsb, mrpc, rte, cola)"
    assert e.value.problems == [
        "benchmarks.glue.data.dir: no such directory: /no/such/glue (relative paths start at the "
        f"sweep file's folder) {tasks}",
        f"benchmarks.glue.data.n_train: expected a positive integer, got 0 (int) {tasks}",
    ]


@pytest.mark.parametrize(
    ("where", "value"),
    [("training__lr", "1e-3"), ("resources", {"gpu": "5e-1"})],
)
def test_numbers_yaml_reads_as_strings_get_a_hint(where, value):
    found = problems(**{where: value})
    assert any("YAML reads" in p and "as a string: write it with a dot" in p for p in found), found


def test_few_shot_k_follows_the_rule_of_the_hyperparameter_k():
    legal = hp.FIELDS["k"].legal
    assert legal.check(2**70)  # beyond 64 bits
    found = problems(fewshot={"k": [4, 2**70]})
    assert any(
        p.startswith("fewshot.k: expected a non-empty list of positive integers") for p in found
    )
