"""What every file under deploy/ promises: no credentials, and every value a user must change is
marked EDIT in the file and explained in the docs (docs/deploying.md)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
# Ours, not KubeRay's schema and licence that travel with them.
FILES = sorted(
    p for p in DEPLOY.rglob("*") if p.is_file() and not {"schema", "__pycache__"} & set(p.parts)
)
SECRETS = [
    r"AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}",  # AWS access key ids
    r"aws_secret_access_key|aws_session_token|secret_key",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face tokens
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"password|passwd",
    # a literal value given to something named like a secret (not `$(...)` or a path to one)
    r"(?i)(token|secret|api[_-]?key)\w*\s*[:=]\s*['\"]?[A-Za-z0-9+/=_-]{16,}",
    r"(?m)^kind:\s*Secret\b|stringData:",
]

# The values a user must change, by file: (a pattern of the line that sets it, what it is).
MUST_EDIT = {
    "slurm/scalearn.sbatch": [
        r"^#SBATCH --partition=",
        r"^#SBATCH --nodes=",
        r"^#SBATCH --cpus-per-task=",
        r"^#SBATCH --gpus-per-node=",
        r"^#SBATCH --mem=",
        r"^#SBATCH --time=",
        r"^SHARED=",
        r"^VENV=",
        r"^# module load",
    ],
    "k8s/rayjob.yaml": [
        r"^  name: ",
        r"^  entrypoint: ",
        r"rayVersion: ",
        r"image: .*# EDIT: your image",
        r"image: .*# EDIT: the same image",
        r"claimName: .*# EDIT: a ReadWriteMany",
        r"claimName: .*# EDIT: the same claim",
        r"^        replicas: ",
        r"^        minReplicas: ",
        r"^        maxReplicas: ",
        r"nodeSelector: ",
        r"requests: .*nvidia.com/gpu",
        r"limits: .*nvidia.com/gpu",
    ],
    "k8s/shared-volume.yaml": [r"storageClassName: ", r"storage: "],
    "k8s/Dockerfile": [r"^ARG RAY_IMAGE="],
}


def credential_hits(text: str) -> list[str]:
    return [m.group(0) for p in SECRETS for m in re.finditer(p, text, re.I)]


def test_the_detector_finds_planted_credentials():
    for planted in (
        "AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = x",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz0123456789",
        "RAY_AUTH_TOKEN=0123456789abcdef0123456789abcdef",
        "apiVersion: v1\nkind: Secret\n",
    ):
        assert credential_hits(planted), planted
    # a token made at run time is not a credential in the file
    assert not credential_hits('RAY_AUTH_TOKEN=$(python -c "import secrets")')


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_no_credentials_in_deploy_files(path):
    assert credential_hits(path.read_text()) == []


def _edit_marked(lines: list[str], i: int) -> bool:
    """The line, or the comment block just above it, says EDIT."""
    if "EDIT" in lines[i]:
        return True
    j = i - 1
    # comment lines, not #SBATCH directives (which are settings of their own)
    while j >= 0 and lines[j].lstrip().startswith("#") and not lines[j].startswith("#SBATCH"):
        if "EDIT" in lines[j]:
            return True
        j -= 1
    return False


@pytest.mark.parametrize("name", sorted(MUST_EDIT))
def test_every_value_to_change_is_marked(name):
    lines = (DEPLOY / name).read_text().splitlines()
    for pattern in MUST_EDIT[name]:
        found = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        assert found, f"{name}: no line matches {pattern!r}"
        assert all(_edit_marked(lines, i) for i in found), f"{name}: {pattern!r} not marked EDIT"


def test_the_docs_explain_each_of_them():
    page = (ROOT / "docs" / "deploying.md").read_text()
    for option in ("partition", "nodes", "cpus-per-task", "gpus-per-node", "mem", "time"):
        assert f"`#SBATCH --{option}`" in page
    for name in ("SCALEARN_SHARED", "SCALEARN_VENV", "module load"):
        assert name in page
    for field in (
        "metadata.name",
        "spec.entrypoint",
        "rayClusterSpec.rayVersion",
        "image",
        "claimName",
        "replicas",
        "minReplicas",
        "maxReplicas",
        "nodeSelector",
        "requests",
        "limits",
        "storageClassName",
        "storage",
    ):
        assert f"`{field}`" in page, field
