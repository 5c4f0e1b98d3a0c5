"""The paper's published tables, shipped as reference data for ``table --compare-paper``."""
