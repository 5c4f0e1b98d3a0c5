"""The options of one run (``orchestrator run``), as one typed record."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunOptions:
    """How to run a sweep (``orchestrator run``'s options)."""

    results: str = "results"
    store: str = "artifacts"
    address: str | None = None  # a Ray cluster; "local" starts a fresh instance
    simulate: bool = False
    speed: float = 1.0  # simulated seconds per second
    verbose: bool = False
    num_cpus: int | None = None  # CPUs of a local instance
    simulate_failures: str | None = None
    # None: reuse trial processes where ``tuner.may_reuse_processes`` allows; False: one per trial
    reuse_actors: bool | None = None
    min_nodes: int = 0  # wait until the cluster has this many Ray nodes
    min_nodes_timeout: float = 600.0
    log_to: tuple[str, ...] = ()  # experiment trackers
