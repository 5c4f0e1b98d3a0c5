"""Every Ray internal the project uses is named in one module, and still exists in this Ray."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import pytest

from orchestrator.run import ray_internals
from tests.conftest import ROOT

ORCHESTRATOR = ROOT / "orchestrator"


@pytest.mark.parametrize(("module", "path"), ray_internals.INTERNALS)
def test_each_internal_name_resolves_in_the_installed_ray(module, path):
    assert ray_internals.resolve(module, path) is not None


def test_the_instance_attributes_the_trackers_extend_exist(tmp_path, monkeypatch):
    from ray.tune.logger import TBXLoggerCallback

    callbacks = {"TBXLoggerCallback": TBXLoggerCallback()}
    try:
        from ray.air.integrations.wandb import WandbLoggerCallback

        callbacks["WandbLoggerCallback"] = WandbLoggerCallback(project="p")
    except Exception as e:  # wandb missing: its callback cannot be built
        pytest.skip(f"wandb's logger callback cannot be built here: {e}")
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow = MLflowLoggerCallback(tracking_uri=f"file://{tmp_path}/mlruns", experiment_name="x")
    mlflow.setup()  # MLflow's callback makes its per-trial state here
    callbacks["MLflowLoggerCallback"] = mlflow
    for name, attributes in ray_internals.INSTANCE_ATTRIBUTES.items():
        for attribute in attributes:
            assert hasattr(callbacks[name], attribute), (name, attribute)


def test_the_checked_version_is_the_installed_major_minor():
    installed = importlib.metadata.version("ray").split(".")[:2]
    checked = ray_internals.CHECKED_WITH.split(".")[:2]
    assert installed == checked, (
        f"Ray {'.'.join(installed)} is installed, ray_internals was checked with "
        f"{ray_internals.CHECKED_WITH}: read its functions against the new Ray, then update it"
    )


def _private_ray_uses(path: Path) -> list[str]:
    """Imports of ``ray._private`` and ``ray.*._internal``/leading-underscore Ray names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ray"):
            names = [node.module, *(a.name for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("ray")]
        else:
            continue
        for name in names:
            if any(part.startswith("_") for part in name.split(".")):
                found.append(name)
    return found


def test_no_other_module_imports_a_private_ray_name():
    offenders = {}
    for path in ORCHESTRATOR.rglob("*.py"):
        if path.name == "ray_internals.py":
            continue
        uses = _private_ray_uses(path)
        if uses:
            offenders[str(path.relative_to(ROOT))] = uses
    assert not offenders, f"Ray internals outside orchestrator/run/ray_internals.py: {offenders}"
    assert _private_ray_uses(ORCHESTRATOR / "run" / "ray_internals.py")  # the check can see them
