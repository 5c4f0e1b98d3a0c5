"""deploy/k8s/rayjob.yaml passes KubeRay's published RayJob schema (shipped, offline), the check
catches what the API server would refuse, and the manifest agrees with the image and the volume."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import re
import shlex

import pytest

from tests.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
_spec = importlib.util.spec_from_file_location("k8s_validate", K8S / "validate.py")
validate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(validate)


@pytest.fixture(scope="module")
def crd():
    return validate.load_yaml(validate.CRD)[0]


@pytest.fixture
def job():
    return validate.load_yaml(K8S / "rayjob.yaml")[0]


def test_the_shipped_schema_is_kuberays_file_unchanged():
    readme = (K8S / "schema" / "README.md").read_text()
    blob = re.search(r"git blob \| `([0-9a-f]{40})`", readme).group(1)
    data = (K8S / "schema" / "ray.io_rayjobs.yaml").read_bytes()
    assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == blob
    assert "v1.7.0" in readme and "Apache" in readme
    assert "Apache License" in (K8S / "schema" / "LICENSE").read_text()


def test_the_manifest_is_valid(job, crd):
    assert validate.problems(job, crd) == []
    # CEL rules are not evaluated offline: the manifest stays clear of the fields that have them
    assert validate.cel_rules(job, crd) == []


def _workers(job):
    return job["spec"]["rayClusterSpec"]["workerGroupSpecs"]


def _head(job):
    return job["spec"]["rayClusterSpec"]["headGroupSpec"]


def _container(group):
    return group["template"]["spec"]["containers"][0]


def _rename(d: dict, old: str, new: str) -> None:
    d[new] = d.pop(old)


@pytest.mark.parametrize(
    "edit, expected",
    [
        # misspelled fields: the API server's strict field validation refuses them
        pytest.param(
            lambda j: _rename(j["spec"], "entrypoint", "entrypont"),
            "'entrypont'",
            id="misspelled entrypoint",
        ),
        pytest.param(
            lambda j: _rename(_workers(j)[0], "replicas", "replica"),
            "'replica'",
            id="misspelled replicas",
        ),
        pytest.param(
            lambda j: _rename(_container(_head(j)), "volumeMounts", "volumeMount"),
            "'volumeMount'",
            id="misspelled volumeMounts",
        ),
        # wrong types
        pytest.param(
            lambda j: _workers(j)[0].update(replicas="four"),
            "'four' is not of type 'integer'",
            id="replicas a string",
        ),
        pytest.param(
            lambda j: _head(j)["rayStartParams"].update({"num-cpus": 0}),
            "0 is not of type 'string'",
            id="rayStartParams value not a string",
        ),
        pytest.param(
            lambda j: _container(_workers(j)[0])["resources"]["limits"].update(cpu=["8"]),
            "is not valid under any of the given schemas",  # int-or-string
            id="cpu a list",
        ),
        # missing required fields, an unknown enum value, another kind, a bad name
        pytest.param(
            lambda j: _workers(j)[0].pop("groupName"),
            "'groupName' is a required property",
            id="no groupName",
        ),
        pytest.param(
            lambda j: _container(_workers(j)[0]).pop("name"),
            "'name' is a required property",
            id="container without a name",
        ),
        pytest.param(
            lambda j: j["spec"]["rayClusterSpec"]["authOptions"].update(mode="tokens"),
            "'tokens' is not one of",
            id="unknown auth mode",
        ),
        pytest.param(lambda j: j.update(kind="RayCluster"), "'RayJob' was expected", id="kind"),
        pytest.param(
            lambda j: j["metadata"].update(name="ScaLearn_GLUE"),
            "does not match",
            id="name not DNS-1123",
        ),
    ],
)
def test_what_the_api_server_would_refuse_is_caught(job, crd, edit, expected):
    bad = copy.deepcopy(job)
    edit(bad)
    found = validate.problems(bad, crd)
    assert any(expected in p for p in found), found


def test_read_as_the_api_server_reads_it(job, crd):
    ok = copy.deepcopy(job)
    worker = _workers(ok)[0]
    worker["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = 8  # int or string
    del worker["minReplicas"]  # required, but with a default the server fills in first
    assert validate.problems(ok, crd) == []


def _entrypoint(job) -> list[str]:
    return shlex.split(job["spec"]["entrypoint"])


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_the_sweep_waits_for_the_whole_cluster(job):
    args = _entrypoint(job)
    assert args[:4] == ["python", "-m", "orchestrator", "run"]
    workers = _workers(job)
    assert all(w["replicas"] == w["minReplicas"] == w["maxReplicas"] for w in workers)
    assert int(_option(args, "--min-nodes")) == 1 + sum(w["replicas"] for w in workers)
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"  # trials on the GPU workers only
    assert all(
        c["resources"]["limits"].get("nvidia.com/gpu")
        for w in workers
        for c in w["template"]["spec"]["containers"]
    )


def _pods(job):
    spec = job["spec"]["rayClusterSpec"]
    return [spec["headGroupSpec"]["template"]["spec"]] + [
        w["template"]["spec"] for w in spec["workerGroupSpecs"]
    ]


def test_every_pod_mounts_the_shared_claim_and_results_go_there(job):
    claim = validate.load_yaml(K8S / "shared-volume.yaml")[0]
    assert claim["kind"] == "PersistentVolumeClaim"
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # pods on many machines
    args = _entrypoint(job)
    for pod in _pods(job):
        vols = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["name"]: m["mountPath"] for c in pod["containers"] for m in c["volumeMounts"]}
        shared = vols["shared"]["persistentVolumeClaim"]["claimName"]
        assert shared == claim["metadata"]["name"]
        for option in ("--results", "--store"):
            assert _option(args, option).startswith(mounts["shared"] + "/")


def test_image_dockerfile_and_sweep_agree(job):
    dockerfile = (K8S / "Dockerfile").read_text()
    base = re.search(r"ARG RAY_IMAGE=rayproject/ray:([0-9.]+)-", dockerfile).group(1)
    assert job["spec"]["rayClusterSpec"]["rayVersion"] == base
    images = {c["image"] for pod in _pods(job) for c in pod["containers"]}
    assert len(images) == 1  # one image for head and workers
    workdir = re.search(r"^WORKDIR (\S+)", dockerfile, re.M).group(1)
    for src in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile, re.M):
        for path in src.split():
            assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which is not here"
    sweep = _entrypoint(job)[4]
    assert sweep.startswith(workdir + "/") and (ROOT / sweep[len(workdir) + 1 :]).is_file()
