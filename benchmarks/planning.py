"""How long planning takes as a sweep grows, and what the plan-size guard costs.

    python benchmarks/planning.py --json                   # 1,000, 10,000 and 100,000 nodes
    python benchmarks/planning.py --nodes 20000 --repeats 3

The sweep is ``sweeps/demo.yaml`` (every method, 34 nodes per seed) with as many seeds as the
node count asks. Each size runs in a fresh Python process, which times:

- ``read_s``: reading and checking the sweep file (``read_spec``: strict YAML, every key);
- ``count_s``: the plan-size guard's count (``count_nodes``: methods x tasks, not nodes);
- ``plan_s``: planning every node (``build_plan``: ids, data, costs, dependencies), and
  ``plan_cpu_s`` the CPU time of it (the same on an idle machine; less than ``plan_s`` on a
  busy one);
- ``peak_rss_mb``: the process's peak memory after planning.

The baseline, measured in the same run: planning time per node at the smallest size, against
which the larger sizes' per-node time shows whether planning stays linear; and the guard's count
against the plan it stands in for. Prints one JSON object (``--json``) and a summary on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "sweeps" / "demo.yaml"
NODES_PER_SEED = 34  # demo.yaml: 3 x 4 stage-one, 5 x 4 transfer, 2 joint per seed

CHILD = """
import json, resource, sys, time
from orchestrator.planning.plan import build_plan
from orchestrator.planning.size import count_nodes
from orchestrator.sweep.spec import read_spec
start = time.perf_counter()
spec, problems = read_spec(sys.argv[1])
assert not problems, problems
read = time.perf_counter()
counted = count_nodes(spec).total
count = time.perf_counter()
cpu = time.process_time()
plan, missing = build_plan(spec)
done = time.perf_counter()
assert not missing and len(plan.nodes) == counted
print(json.dumps({
    "nodes": len(plan.nodes), "read_s": read - start, "count_s": count - read,
    "plan_s": done - count, "plan_cpu_s": time.process_time() - cpu,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def sweep_file(nodes: int, folder: Path) -> Path:
    """demo.yaml with the seeds for about ``nodes`` nodes."""
    raw = yaml.safe_load(DEMO.read_text())
    raw["sweep"] = f"planning_{nodes}"
    raw["benchmarks"]["synthetic"]["seeds"] = list(range(math.ceil(nodes / NODES_PER_SEED)))
    path = folder / f"planning_{nodes}.yaml"
    path.write_text(yaml.safe_dump(raw, default_flow_style=None, width=100))
    return path


def measure(sizes: list[int], repeats: int) -> dict:
    """Median figures per size, and each size's plan time per node against the smallest's."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = sweep_file(size, Path(tmp))
            runs = []
            for _ in range(repeats):
                proc = subprocess.run(
                    [sys.executable, "-c", CHILD, str(path)],
                    cwd=ROOT,
                    env={"PYTHONPATH": str(ROOT), "PATH": ""},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            med["plan_us_per_node"] = 1e6 * med["plan_s"] / med["nodes"]
            med["count_over_plan"] = med["count_s"] / med["plan_s"]
            out.append({k: round(v, 4) if isinstance(v, float) else v for k, v in med.items()})
    base = out[0]["plan_us_per_node"]
    for row in out:
        row["per_node_over_smallest"] = round(row["plan_us_per_node"] / base, 2)
    return {"sweep": "sweeps/demo.yaml with more seeds", "repeats": repeats, "sizes": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nodes", default="1000,10000,100000", help="comma-separated node counts (smallest first)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    figures = measure(sorted(int(n) for n in args.nodes.split(",")), args.repeats)
    if args.json:
        print(json.dumps(figures, indent=2))
    for r in figures["sizes"]:
        print(
            f"{r['nodes']:>7,} nodes: read {r['read_s']:.2f} s, guard's count {r['count_s']:.3f} s "
            f"({100 * r['count_over_plan']:.1f} % of planning), plan {r['plan_s']:.2f} s "
            f"(CPU {r['plan_cpu_s']:.2f} s) "
            f"({r['plan_us_per_node']:.0f} us per node, {r['per_node_over_smallest']}x the "
            f"smallest's), peak memory {r['peak_rss_mb']:.0f} MB",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
