"""Trial requests against the cluster, before the Tuner starts.

Ray keeps a trial whose placement group no machine can hold pending for ever, and Tune waits with
it: a sweep asking 4 CPUs per trial on a 2-CPU machine hangs. So the runner compares each node's
request (``resources``) with the machines the cluster has and, on an autoscaling cluster, the node
types its autoscaler can start:

- the running nodes (``ray.nodes()``);
- the node types an autoscaler reported to Ray (``ray._private.state.state.get_cluster_config``,
  what Ray Data reads for the same purpose), else the cluster launcher's config on the head node,
  ``~/ray_bootstrap_config.yaml`` (the file Ray's head start command passes as
  ``--autoscaling-config``, and whose presence Ray Tune takes for an autoscaling cluster):
  ``available_node_types`` with their ``resources`` and ``max_workers``.

A GPU request is kept when any of these machines has GPUs, so an autoscaling cluster whose GPU
workers start from zero (the shipped ``cluster.yaml``) keeps its GPU trials on GPUs; only where
no machine has or can get a GPU are GPU requests dropped. A request no machine can hold is a
problem naming the methods and what they ask (exit 2), except in a simulated run on a local
instance, where requests are scaled down to the machine and the run says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from orchestrator.planning.nodes import Node
from orchestrator.problems import Problem

BOOTSTRAP_CONFIG = "~/ray_bootstrap_config.yaml"


@dataclass(frozen=True)
class Machine:
    """One machine shape: a running node, or a node type the autoscaler can start.

    ``cpu`` / ``gpu`` None: a node type whose config does not say (Ray detects it at start).
    """

    name: str
    cpu: float | None
    gpu: float | None
    startable: bool = False

    def holds(self, cpu: float, gpu: float) -> bool:
        """Whether one trial asking ``cpu`` CPUs and ``gpu`` GPUs fits on this machine alone."""
        if self.cpu is None or self.gpu is None:
            return True  # unknown: Ray may well start it with enough
        return cpu <= self.cpu + 1e-9 and gpu <= self.gpu + 1e-9

    def describe(self) -> str:
        cpu = "? CPU(s)" if self.cpu is None else f"{self.cpu:g} CPU(s)"
        gpu = "? GPU(s)" if self.gpu is None else f"{self.gpu:g} GPU(s)"
        kind = "node type it can start" if self.startable else "running"
        return f"{self.name}: {cpu}, {gpu} ({kind})"


def running_machines(nodes: list[dict]) -> list[Machine]:
    """The live Ray nodes (``ray.nodes()`` entries) as machines."""
    out = []
    for n in nodes:
        res = n.get("Resources", {})
        name = n.get("NodeManagerAddress") or n.get("NodeID", "node")[:8]
        out.append(Machine(f"node {name}", float(res.get("CPU", 0)), float(res.get("GPU", 0))))
    return out


def node_types_from_launcher_config(config: dict) -> list[Machine]:
    """The node types a cluster launcher config (``ray up``'s YAML) lets the autoscaler start."""
    if not isinstance(config, dict):
        return []
    types = config.get("available_node_types") or {}
    cluster_max = config.get("max_workers", 2)  # Ray's documented default
    head = config.get("head_node_type")
    out = []
    for name, node_type in types.items():
        if not isinstance(node_type, dict):
            continue
        limit = node_type.get("max_workers", cluster_max)
        if name != head and (not _positive(limit) or not _positive(cluster_max)):
            continue  # a worker type that can never start
        res = node_type.get("resources")
        cpu = gpu = None
        if isinstance(res, dict):
            cpu, gpu = _number(res.get("CPU")), _number(res.get("GPU", 0))
        out.append(Machine(f"node type {name}", cpu, gpu, startable=name != head))
    return out


def node_types_from_cluster_config(config) -> list[Machine]:
    """The node groups of Ray's ``autoscaler_pb2.ClusterConfig`` that can have nodes."""
    if config is None:
        return []
    out = []
    for group in config.node_group_configs:
        if group.max_count == 0:
            continue
        res = dict(group.resources)
        name = getattr(group, "name", "") or "group"
        out.append(
            Machine(
                f"node type {name}",
                float(res.get("CPU", 0)),
                float(res.get("GPU", 0)),
                startable=True,
            )
        )
    return out


def startable_node_types(bootstrap: str = BOOTSTRAP_CONFIG) -> list[Machine]:
    """The node types the cluster's autoscaler can start, as far as Ray or the head's launcher
    config tell (empty for a cluster without an autoscaler). Ray must be initialised."""
    from orchestrator.run.ray_internals import autoscaler_cluster_config

    try:
        types = node_types_from_cluster_config(autoscaler_cluster_config())
    except Exception:  # an internal API of Ray: when it fails there is still the file
        types = []
    if types:
        return types
    path = Path(bootstrap).expanduser()
    if not path.is_file():
        return []
    import yaml

    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return []
    return node_types_from_launcher_config(config)


@dataclass
class Fitted:
    """Nodes with requests that fit the cluster, what was changed (to print), what cannot fit."""

    nodes: dict[str, Node]
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def fit_requests(
    nodes: dict[str, Node],
    machines: list[Machine],
    *,
    scale_down: bool,
    where: str,
    resource_key: Callable[[str], str],
    todo: set[str] | None = None,
) -> Fitted:
    """Each node's request against ``machines``: GPU requests dropped where no machine has GPUs,
    requests scaled down to the largest machine when ``scale_down`` (a simulated run on a local
    instance), otherwise a problem per request no machine holds (located at ``where``,
    ``resource_key(method)``). Only nodes in ``todo`` (default all) are checked."""
    todo = set(nodes) if todo is None else todo
    out = Fitted(dict(nodes))
    if not machines:
        return out
    has_gpu = any(m.gpu is None or m.gpu > 0 for m in machines)
    if not has_gpu and any(_gpu(n) for n in nodes.values()):
        out.notes.append(
            "no machine of the cluster has a GPU or can start one: GPU requests are dropped, "
            "trials run on CPUs"
        )
        out.nodes = {i: replace(n, resources=dict(n.resources, gpu=0)) for i, n in nodes.items()}
    asks = _unheld_requests(out.nodes, machines, todo)
    if not asks:
        return out
    offered = "; ".join(m.describe() for m in _shapes(machines))
    for (cpu, gpu), methods in sorted(asks.items()):
        if scale_down:
            _scale_down(out, methods, (cpu, gpu), _largest(machines), offered)
        else:
            out.problems += _unheld_problems(methods, (cpu, gpu), offered, where, resource_key)
    return out


def _unheld_requests(
    nodes: dict[str, Node], machines: list[Machine], todo: set[str]
) -> dict[tuple[float, float], list[str]]:
    """(CPUs, GPUs) per trial that no machine holds -> the methods asking for it."""
    asks: dict[tuple[float, float], list[str]] = {}
    for i in (i for i in nodes if i in todo):  # the plan's order, so messages are stable
        n = nodes[i]
        request = (_cpu(n), _gpu(n))
        if not any(m.holds(*request) for m in machines):
            methods = asks.setdefault(request, [])
            if n.method not in methods:
                methods.append(n.method)
    return asks


def _scale_down(
    out: Fitted, methods: list[str], request: tuple[float, float], largest: Machine, offered: str
) -> None:
    """A simulated run on a local instance: the request cut to the largest machine, said."""
    cpu, gpu = request
    to = (min(cpu, largest.cpu), min(gpu, largest.gpu))
    out.notes.append(
        f"simulated run on a local instance: {', '.join(methods)} ask {_what(cpu, gpu)}, more "
        f"than this machine has ({offered}); scaled down to {to[0]:g} CPU(s) and "
        f"{to[1]:g} GPU(s) so that they run (a real run needs machines that hold them)"
    )
    for i, n in out.nodes.items():
        if n.method in methods and (_cpu(n), _gpu(n)) == (cpu, gpu):
            out.nodes[i] = replace(n, resources=dict(n.resources, cpu=to[0], gpu=to[1]))


def _unheld_problems(
    methods: list[str],
    request: tuple[float, float],
    offered: str,
    where: str,
    resource_key: Callable[[str], str],
) -> list[Problem]:
    """One problem per sweep key whose methods ask for more than any machine holds."""
    by_key: dict[str, list[str]] = {}
    for m in methods:
        by_key.setdefault(resource_key(m), []).append(m)
    return [
        Problem(
            where,
            key,
            f"{', '.join(named)} ask {_what(*request)}, which no machine of the cluster holds, "
            f"so their trials would wait for ever; the cluster offers {offered}. Ask for "
            "at most what one machine has, or run on bigger machines",
        )
        for key, named in by_key.items()
    ]


def _what(cpu: float, gpu: float) -> str:
    return f"{cpu:g} CPU(s) and {gpu:g} GPU(s) per trial"


def _largest(machines: list[Machine]) -> Machine:
    known = [m for m in machines if m.cpu is not None and m.gpu is not None]
    return max(known, key=lambda m: (m.gpu, m.cpu))


def _shapes(machines: list[Machine]) -> list[Machine]:
    """The distinct shapes, the largest first (running ones before node types of one shape)."""
    seen, out = set(), []
    for m in sorted(machines, key=lambda m: (-(m.gpu or 0), -(m.cpu or 0), m.startable)):
        if (m.cpu, m.gpu, m.startable) not in seen:
            seen.add((m.cpu, m.gpu, m.startable))
            out.append(m)
    return out


def _cpu(n: Node) -> float:
    return float(n.resources.get("cpu", 1))


def _gpu(n: Node) -> float:
    return float(n.resources.get("gpu") or 0)


def _number(v) -> float | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


def _positive(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
