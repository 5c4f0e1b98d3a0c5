"""Sweep files: YAML in, a typed and validated ``SweepSpec`` out (``load_spec``)."""

from orchestrator.sweep.spec import SpecError, SweepSpec, load_spec, parse_spec

__all__ = ["SpecError", "SweepSpec", "load_spec", "parse_spec"]
