"""cluster.yaml passes the Ray autoscaler's own validation and keeps the cluster closed."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from tests.conftest import ROOT

CLUSTER = ROOT / "cluster.yaml"


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load(CLUSTER.read_text())


def test_passes_the_autoscalers_schema_validation(config):
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))  # what `ray up` runs first


def test_a_bad_key_is_caught_by_the_same_validation(config):
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    bad = copy.deepcopy(config)
    bad["available_node_types"]["gpu_worker"]["gpus_please"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(bad))


def test_gpu_workers_autoscale_and_the_head_runs_no_trials(config):
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"].get("GPU", 0) == 0 and head["resources"].get("CPU") == 0
    gpu = [t for n, t in types.items() if n != config["head_node_type"]]
    assert any(t["resources"].get("GPU", 0) >= 1 and t["min_workers"] == 0 for t in gpu)


def test_dashboard_is_bound_to_localhost_and_no_credentials_are_in_the_file(config):
    head_cmds = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_cmds
    assert "0.0.0.0" not in CLUSTER.read_text()
    text = CLUSTER.read_text().lower()
    for secret in ("aws_access_key_id", "aws_secret_access_key", "secret_key", "password"):
        assert secret not in text
    assert not re.search(r"akia[0-9a-z]{16}", text)


def test_setup_installs_this_project(config):
    assert "~/scalearn" in config["file_mounts"]
    assert any("pip install -e ~/scalearn" in c for c in config["setup_commands"])
