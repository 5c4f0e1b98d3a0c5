"""One node as one Ray Tune trial: fetch sources, train (or simulate), commit, write the row.

This runs inside a Ray worker. A node already committed (by an earlier run or by another sweep
sharing the store) is not trained again; its rows are written from the store entry.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time

from orchestrator.results import has_rows, write_node_rows
from orchestrator.store import ArtifactStore

ROWS_FILE = "rows.json"
NODE_FILE = "node.json"


def rows_for(
    node: dict,
    rows: list[dict],
    *,
    run_id: str,
    sweep: str,
    started_at: float,
    finished_at: float,
    artifact_uri: str | None,
    status: str = "done",
    error: str | None = None,
) -> list[dict]:
    """Full result rows for a node from the per-task rows a trainable returned."""
    out = []
    for r in rows:
        row = dict(r)
        row.update(
            {
                "sweep": sweep,
                "run_id": run_id,
                "node_id": node["id"],
                "kind": node["kind"],
                "method": node["method"],
                "benchmark": node["benchmark"],
                "task": r.get("task", node["task"]),
                "seed": node["seed"],
                "backbone": node["backbone"],
                "status": status,
                "started_at": started_at,
                "finished_at": finished_at,
                "wall_s": finished_at - started_at,
                "artifact_uri": artifact_uri,
                "simulated": node["simulated"],
                "hparams": node["hparams"],
                "sources": node["deps"] if node["kind"] == "transfer" else [],
                "error": error,
            }
        )
        out.append(row)
    return out


def rows_from_store(store: ArtifactStore, node: dict, *, run_id: str, sweep: str) -> list[dict]:
    """Result rows rebuilt from a committed entry (a node finished elsewhere or earlier)."""
    rec = store.record(node["id"])
    saved = store.read_json(node["id"], ROWS_FILE)
    return rows_for(
        node,
        saved["rows"],
        run_id=saved.get("run_id", run_id),
        sweep=sweep,
        started_at=saved["started_at"],
        finished_at=rec["committed_at"],
        artifact_uri=store.payload_uri(node["id"]),
    )


def run_node_trial(config: dict, nodes: dict, settings: dict) -> None:
    """The Ray Tune function trainable: config names the node; ``nodes`` is the plan."""
    from ray import tune

    node = nodes[config["node_id"]]
    store = ArtifactStore(settings["store"])
    results, sweep, run_id = settings["results"], settings["sweep"], settings["run_id"]
    if store.is_committed(node["id"]):
        if not has_rows(results, sweep, node["id"]):
            write_node_rows(
                results, sweep, node["id"], rows_from_store(store, node, run_id=run_id, sweep=sweep)
            )
        tune.report({"committed": 1, "reused": 1})
        return

    started_at = time.time()
    missing = [d for d in node["deps"] if not store.is_committed(d)]
    if missing:
        raise RuntimeError(f"{node['id']} started before its sources were committed: {missing}")
    sources = {d: store.fetch(d) for d in node["deps"]}

    resume_dir = None
    checkpoint = tune.get_checkpoint()
    work = tempfile.mkdtemp(prefix=f"node-{node['id'][:40]}-")
    try:
        if checkpoint is not None:
            resume_dir = os.path.join(work, "resume")
            shutil.copytree(checkpoint.to_directory(), resume_dir)
        out_dir = os.path.join(work, "payload")
        os.makedirs(out_dir)

        def report(metrics: dict, checkpoint_dir: str | None = None) -> None:
            ckpt = tune.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir else None
            tune.report(dict(metrics), checkpoint=ckpt)

        if settings.get("simulate"):
            from orchestrator.simulate import simulate_node

            output = simulate_node(node, out_dir, report, resume_dir, settings.get("speed", 1.0))
        else:
            from trainables.entry import train_node

            threads = max(1, int(node["resources"].get("cpu", 1)))
            output = train_node(
                dict(node, source_ids=list(node["deps"])),
                sources,
                out_dir,
                report=report,
                resume_from=resume_dir,
                num_threads=threads,
            )

        with open(os.path.join(out_dir, NODE_FILE), "w") as f:
            json.dump(node, f, indent=1, sort_keys=True, default=str)
        with open(os.path.join(out_dir, ROWS_FILE), "w") as f:
            json.dump(
                {"rows": output["rows"], "started_at": started_at, "run_id": run_id},
                f,
                indent=1,
                default=float,
            )
        store.commit(
            node["id"],
            out_dir,
            meta={
                "simulated": bool(node["simulated"]),
                "sweep": sweep,
                "run_id": run_id,
                "method": node["method"],
                "task": node["task"],
                "seed": node["seed"],
            },
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = rows_from_store(store, node, run_id=run_id, sweep=sweep)
    write_node_rows(results, sweep, node["id"], rows)
    tune.report({"committed": 1, "score": float(rows[0]["score"] or 0.0)})
