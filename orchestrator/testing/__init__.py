"""Fixtures the tests and benchmarks share; never imported by a run (import-linter checks).

- ``local_cluster``: a multi-node Ray cluster on loopback (``ray start`` processes), for fault
  rehearsals; every process it starts is stopped by pid.
- ``store_contract``: the test suite every store backend passes (``StoreContract``).
"""

__all__ = ["local_cluster", "store_contract"]
