"""Check a RayJob manifest against KubeRay's published CRD schema, offline.

    python deploy/k8s/validate.py deploy/k8s/rayjob.yaml            # the shipped CRD
    python deploy/k8s/validate.py my-rayjob.yaml --crd ray.io_rayjobs.yaml  # another KubeRay's

A CRD carries an OpenAPI v3 "structural" schema, which is JSON Schema plus Kubernetes extensions.
It is converted here to plain JSON Schema the way the API server reads it:

- ``x-kubernetes-int-or-string``: an integer or a string;
- ``nullable``: null is allowed too;
- a required field with a ``default`` may be left out: the API server fills it in first;
- an object with ``properties`` and neither ``additionalProperties`` nor
  ``x-kubernetes-preserve-unknown-fields`` takes no other fields. The API server drops unknown
  fields of such objects; ``kubectl apply`` (strict field validation, the default since
  Kubernetes 1.27) refuses them, and so does this check: a misspelled field never passes silently.

Not checked: ``x-kubernetes-validations`` (CEL rules; ``cel_rules`` lists the fields of a manifest
that carry one), unique keys of map lists (two containers of one name), string formats (int32
ranges, quantities) and ObjectMeta beyond name and labels, which the API server checks itself.
Exit status 1 when a manifest has a problem.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
CRD = HERE / "schema" / "ray.io_rayjobs.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRD is 1.4 MB of YAML

# What the API server checks of every object's metadata (a small part of ObjectMeta).
OBJECT_META = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
}


def load_yaml(path: Path) -> list[dict]:
    """The documents of a YAML file."""
    return [d for d in yaml.load_all(Path(path).read_text(), Loader=_LOADER) if d is not None]


def to_json_schema(node: dict) -> dict:
    """A CRD structural schema (or part of one) as JSON Schema, read as the API server reads it."""
    out = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key == "nullable":
            continue
        if key in ("properties", "patternProperties"):  # field name -> schema
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub) for sub in value]
        else:  # type, enum, required, default, format, description, ...: as they are
            out[key] = value
    if "required" in out:  # the API server fills in defaults before it validates
        props = node.get("properties", {})
        out["required"] = [r for r in out["required"] if "default" not in props.get(r, {})]
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-embedded-resource"):  # an embedded object has its own header
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def version_schema(crd: dict, version: str) -> dict:
    """The JSON Schema of one version of a CRD, with its group, version and kind fixed."""
    spec = crd["spec"]
    found = [v for v in spec["versions"] if v["name"] == version]
    if not found:
        raise KeyError(f"{crd['metadata']['name']} has no version {version}")
    schema = to_json_schema(found[0]["schema"]["openAPIV3Schema"])
    props = schema["properties"]
    props["apiVersion"] = {"const": f"{spec['group']}/{version}"}
    props["kind"] = {"const": spec["names"]["kind"]}
    props["metadata"] = OBJECT_META
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return schema


def problems(manifest: dict, crd: dict) -> list[str]:
    """Every way ``manifest`` breaks the CRD's schema, one line each (path: message)."""
    version = str(manifest.get("apiVersion", "")).rpartition("/")[2] or "v1"
    try:
        schema = version_schema(crd, version)
    except KeyError as e:
        return [f"apiVersion: {e.args[0]}"]
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors]


def cel_rules(manifest: dict, crd: dict, version: str = "v1") -> list[str]:
    """The paths of ``manifest`` whose schema has CEL rules (``x-kubernetes-validations``), which
    this check cannot evaluate; the API server will."""
    found = []

    def walk(value, schema: dict, path: str) -> None:
        if schema.get("x-kubernetes-validations"):
            found.append(path or "(top)")
        if isinstance(value, dict):
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for k, v in value.items():
                sub = props.get(k, extra if isinstance(extra, dict) else None)
                if sub:
                    walk(v, sub, f"{path}.{k}" if path else k)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, v in enumerate(value):
                walk(v, schema["items"], f"{path}.{i}")

    spec = [v for v in crd["spec"]["versions"] if v["name"] == version][0]
    walk(manifest, spec["schema"]["openAPIV3Schema"], "")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifests", nargs="+", type=Path)
    parser.add_argument("--crd", type=Path, default=CRD, help="the CRD file (default: shipped)")
    args = parser.parse_args()
    crd = load_yaml(args.crd)[0]
    kind = crd["spec"]["names"]["kind"]
    bad = 0
    for path in args.manifests:
        for doc in load_yaml(path):
            if doc.get("kind") != kind:
                continue
            meta = doc.get("metadata") or {}
            name = meta.get("name") or meta.get("generateName") or "?"
            found = problems(doc, crd)
            for p in found:
                print(f"{path}: {kind} {name}: {p}")
            for p in cel_rules(doc, crd):
                print(f"{path}: {kind} {name}: {p}: has CEL rules, checked by the API server only")
            bad += bool(found)
            if not found:
                print(f"{path}: {kind} {name}: valid against {args.crd.name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
