"""One node as one Ray Tune trial: fetch sources, train (or simulate), commit, write the row.

This runs inside a Ray worker. A node already committed (by an earlier run or by another sweep
sharing the store) is not trained again; its rows are written from the store entry.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager

from orchestrator.cluster import where
from orchestrator.results import has_rows, record_training, write_node_rows
from orchestrator.store import ArtifactStore

ROWS_FILE = "rows.json"
NODE_FILE = "node.json"
# A claim lives this long unless refreshed; the trainer refreshes it every quarter of that.
CLAIM_TTL_S = float(os.environ.get("SCALEARN_CLAIM_TTL", "40"))
CLAIM_POLL_S = 1.0


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
                "sources": node["sources"],
                "error": error,
                "search_group": (node.get("search") or {}).get("group"),
                "search_role": (node.get("search") or {}).get("role"),
            }
        )
        out.append(row)
    return out


def rows_from_store(store: ArtifactStore, node: dict, *, run_id: str, sweep: str) -> list[dict]:
    """Result rows rebuilt from a committed entry (a node finished elsewhere or earlier)."""
    rec = store.record(node["id"])
    saved = store.read_json(node["id"], ROWS_FILE)
    # the hyperparameters it really trained with (a search node's are chosen at run time)
    node = dict(node, hparams=store.read_json(node["id"], NODE_FILE)["hparams"])
    return rows_for(
        node,
        saved["rows"],
        run_id=saved.get("run_id", run_id),
        sweep=sweep,
        started_at=saved["started_at"],
        finished_at=rec["committed_at"],
        artifact_uri=store.payload_uri(node["id"]),
    )


def search_outcome(store: ArtifactStore, node_id: str, metric: str) -> tuple[dict, float]:
    """A committed search sample's hyperparameters and its selection value (mean over tasks)."""
    hparams = store.read_json(node_id, NODE_FILE)["hparams"]
    rows = store.read_json(node_id, ROWS_FILE)["rows"]
    if metric == "dev_loss":
        values = [(r.get("extra") or {}).get("dev_loss", r.get("dev_loss")) for r in rows]
    else:
        values = [r.get("dev_score") for r in rows]
    values = [float(v) for v in values if v is not None]
    return hparams, (sum(values) / len(values) if values else float("nan"))


@contextmanager
def holding_claim(store: ArtifactStore, node_id: str, owner: str):
    """Keep the node's claim fresh while the body runs; release it after."""
    stop = threading.Event()

    def refresh():
        while not stop.wait(CLAIM_TTL_S / 4):
            store.claim(node_id, owner, CLAIM_TTL_S)

    t = threading.Thread(target=refresh, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        store.release_claim(node_id, owner)


def wait_for_claim(store: ArtifactStore, node_id: str, owner: str) -> bool:
    """Claim the node, waiting while another live process trains it; False once it is committed."""
    while not store.is_committed(node_id):
        if store.claim(node_id, owner, CLAIM_TTL_S):
            return True
        time.sleep(CLAIM_POLL_S)
    return False


def run_node_trial(config: dict, nodes: dict, settings: dict) -> None:
    """The Ray Tune function trainable: config names the node; ``nodes`` is the plan."""
    from ray import tune

    node = nodes[config["node_id"]]
    if config.get("hparams"):  # search nodes learn theirs when they are handed out
        node = dict(node, hparams=config["hparams"])
    store = ArtifactStore(settings["store"])
    results, sweep, run_id = settings["results"], settings["sweep"], settings["run_id"]
    # The same run retrying this node (a lost worker) owns the claim its first try left behind.
    owner = f"{run_id}/{node['id']}"
    if not wait_for_claim(store, node["id"], owner):
        if not has_rows(results, sweep, node["id"]):
            rows = rows_from_store(store, node, run_id=run_id, sweep=sweep)
            write_node_rows(results, sweep, node["id"], rows)
        tune.report({"committed": 1, "reused": 1})
        return
    with holding_claim(store, node["id"], owner):
        _train_and_commit(node, store, settings, tune)
    rows = rows_from_store(store, node, run_id=run_id, sweep=sweep)
    write_node_rows(results, sweep, node["id"], rows)
    tune.report({"committed": 1, "score": float(rows[0]["score"] or 0.0)})


def _train_and_commit(node: dict, store: ArtifactStore, settings: dict, tune) -> None:
    """Fetch sources, train (or simulate) from the last checkpoint if any, and commit."""
    results, sweep, run_id = settings["results"], settings["sweep"], settings["run_id"]
    started_at = time.time()
    missing = [d for d in node["sources"] if not store.is_committed(d)]
    if missing:
        raise RuntimeError(f"{node['id']} started before its sources were committed: {missing}")
    sources = {d: store.fetch(d) for d in node["sources"]}

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

            output = simulate_node(
                node,
                out_dir,
                report,
                resume_dir,
                settings.get("speed", 1.0),
                fail=settings.get("fail"),
            )
        else:
            from trainables.entry import train_node

            threads = max(1, int(node["resources"].get("cpu", 1)))
            output = train_node(
                dict(node, source_ids=list(node["sources"])),
                sources,
                out_dir,
                report=report,
                resume_from=resume_dir,
                num_threads=threads,
            )

        record_training(
            results,
            sweep,
            node["id"],
            {
                "run_id": run_id,
                "started_at": started_at,
                "finished_at": time.time(),
                "resumed": resume_dir is not None,
                "pid": os.getpid(),
                **where(),
            },
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
