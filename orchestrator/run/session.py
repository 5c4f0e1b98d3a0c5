"""Joining or starting Ray by its own conventions: ``--address``, ``RAY_ADDRESS``, ``ray start``."""

from __future__ import annotations

import os


def init_ray(address: str | None, verbose: bool = False, num_cpus: int | None = None) -> bool:
    """Join or start Ray by Ray's own convention; returns whether this call started a local
    instance (one machine, no autoscaling) rather than joining a cluster.

    ``address`` joins that cluster, and ``"local"`` always starts a fresh instance. Without it, a
    cluster named by ``RAY_ADDRESS`` or started on this machine with ``ray start`` is joined; a
    private instance that another process started with ``ray.init()`` is not (it goes away when
    that process ends), so a second ``orchestrator run`` starts its own.
    """
    import ray

    if ray.is_initialized():
        return False
    kwargs = {
        "log_to_driver": verbose,
        "logging_level": "INFO" if verbose else "WARNING",
        "configure_logging": True,
    }
    if address and address != "local":
        _raise_unreachable(address, "--address")
        ray.init(address=address, **kwargs)
        return False
    if address is None and _cluster_to_join() is not None:
        if os.environ.get("RAY_ADDRESS"):
            _raise_unreachable(os.environ["RAY_ADDRESS"], "RAY_ADDRESS")
        ray.init(**kwargs)
        return False
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **kwargs)
    return True


def address_problem(address: str | None, timeout: float = 10.0) -> str | None:
    """What is wrong with a Ray cluster address (``--address``, ``RAY_ADDRESS``), or None:
    ``ray.init`` waits for ever for a cluster that is not there, so a ``host:port`` must answer.
    """
    import socket

    if not address or address in ("local", "auto") or "://" in address:
        return None  # a local instance, Ray's own lookup or Ray Client: Ray reports those
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return f"expected a Ray cluster address host:port, 'local' or 'auto', got {address!r}"
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        return (
            f"nothing answers at {address} ({e.strerror or e}): start the cluster or give its "
            "head node's address, host:6379"
        )
    return None


def _raise_unreachable(address: str, option: str) -> None:
    from orchestrator.problems import UsageError

    problem = address_problem(address)
    if problem:
        raise UsageError(option, problem)


def _cluster_to_join() -> str | None:
    """The cluster ``ray.init()`` would join without an address, or None when it would start a
    local instance: RAY_ADDRESS, else the last ``ray start`` of this machine while its GCS still
    runs (a cluster killed without ``ray stop``, e.g. a cancelled batch job, leaves its address
    file behind; joining it would fail, so a local instance starts instead)."""
    from orchestrator.run.ray_internals import cluster_address_on_this_machine

    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    return cluster_address_on_this_machine()
