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

from orchestrator.contract.entry_files import NODE_FILE, ROWS_FILE
from orchestrator.contract.node import NodeSpec, TrialSettings
from orchestrator.contract.rows import TaskResult
from orchestrator.contract.trainer import Trainer
from orchestrator.planning.nodes import Node
from orchestrator.results.from_store import ensure_done_rows, rows_from_store
from orchestrator.results.row_files import record_training, write_node_rows
from orchestrator.run.cluster import process_started_at, where
from orchestrator.store import ArtifactStore, DamagedEntry, open_store
from orchestrator.store.backbones import fetch_backbone

# A claim lives this long unless refreshed; the trainer refreshes it every quarter of that.
CLAIM_TTL_S = float(os.environ.get("SCALEARN_CLAIM_TTL", "40"))
CLAIM_POLL_S = 1.0


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


def run_node_trial(config: dict, settings: TrialSettings) -> None:
    """The Ray Tune function trainable: config holds the node (``DagSearcher``) and a search's
    choice of hyperparameters."""
    from ray import tune

    node: Node = config["node"]
    chosen = config.get("hparams")  # a search's choice, or the node's own values
    spec = node.with_hparams(chosen) if chosen else node
    store = open_store(settings.store)
    # The same run retrying this node (a lost worker) owns the claim its first try left behind.
    owner = f"{settings.run_id}/{node.id}"
    while not wait_for_claim(store, node.id, owner):
        try:
            ensure_done_rows(store, node, settings.results, settings.sweep, settings.run_id)
        except DamagedEntry as e:  # committed elsewhere, but unusable: move aside, train it here
            store.set_aside(node.id, e.reason)
            continue
        tune.report({"committed": 1, "reused": 1})
        return
    with holding_claim(store, node.id, owner):
        train_and_commit(spec, store, settings, tune)
    rows = rows_from_store(store, node, run_id=settings.run_id, sweep=settings.sweep)
    write_node_rows(settings.results, settings.sweep, node.id, rows)
    tune.report({"committed": 1, "score": float(rows[0].score or 0.0)})


def trainer_for(settings: TrialSettings) -> Trainer:
    """The simulated trainer for ``run --simulate``, else the real one (imports torch)."""
    if settings.simulate:
        from orchestrator.run.simulated_trainer import SimulatedTrainer

        return SimulatedTrainer(settings.speed, settings.fail)
    from trainables.entry import NodeTrainer

    return NodeTrainer()


def train_and_commit(node: NodeSpec, store: ArtifactStore, settings: TrialSettings, tune) -> None:
    """Fetch sources, train from the last checkpoint if any, and commit the payload."""
    started_at = time.time()
    node = node.with_source_paths(_fetch_sources(node, store))
    if not settings.simulate:
        node = node.with_backbone_path(fetch_backbone(store, node.backbone))
    work = tempfile.mkdtemp(prefix=f"node-{node.id[:40]}-")
    try:
        resume_dir = _resume_folder(tune.get_checkpoint(), work)
        out_dir = os.path.join(work, "payload")
        os.makedirs(out_dir)

        def report(metrics: dict, checkpoint_dir: str | None = None) -> None:
            ckpt = tune.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir else None
            tune.report(dict(metrics), checkpoint=ckpt)

        results = trainer_for(settings).train(node, out_dir, report, resume_dir)
        record_training(
            settings.results,
            settings.sweep,
            node.id,
            {
                "run_id": settings.run_id,
                "started_at": started_at,
                "finished_at": time.time(),
                "resumed": resume_dir is not None,
                "pid": os.getpid(),
                "process_started_at": process_started_at(),
                **where(),
            },
        )
        _write_node_files(out_dir, node, results, started_at, settings.run_id)
        store.commit(
            node.id,
            out_dir,
            meta={
                "simulated": node.simulated,
                "sweep": settings.sweep,
                "run_id": settings.run_id,
                "method": node.method,
                "task": node.task,
                "seed": node.seed,
            },
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


class SourceUnusable(RuntimeError):
    """A transfer node's source adapter is missing or damaged in the store."""


def _fetch_sources(node: NodeSpec, store: ArtifactStore) -> dict[str, str]:
    """Local folders of the node's source payloads, each checked against its digests."""
    paths = {}
    for s in node.sources:
        found = store.check(s.node_id)
        if found.damaged:
            where = store.quarantine(found)
            raise SourceUnusable(
                f"{node.id}: source {s.node_id} is damaged in the store ({found.reason})"
                + (f"; moved aside to {where}" if where else "")
                + "; run the sweep again to retrain the source, then this node"
            )
        if not found.committed:
            raise SourceUnusable(f"{node.id} started before its source {s.node_id} was committed")
        try:
            paths[s.node_id] = store.fetch(s.node_id)
        except DamagedEntry as e:
            raise SourceUnusable(
                f"{node.id}: source {s.node_id} differs from its digests ({e.reason})"
                + (f"; moved aside to {e.where}" if e.where else "")
                + "; run the sweep again to retrain the source, then this node"
            ) from None
    return paths


def _resume_folder(checkpoint, work: str) -> str | None:
    """A local copy of the trial's last checkpoint (a retried trial resumes from it), or None."""
    if checkpoint is None:
        return None
    resume_dir = os.path.join(work, "resume")
    shutil.copytree(checkpoint.to_directory(), resume_dir)
    return resume_dir


def _write_node_files(
    out_dir: str, node: NodeSpec, results: list[TaskResult], started_at: float, run_id: str
) -> None:
    """node.json (what trained) and rows.json (what came out) beside the payload."""
    with open(os.path.join(out_dir, NODE_FILE), "w") as f:
        json.dump(node.to_dict(), f, indent=1, sort_keys=True, default=str)
    with open(os.path.join(out_dir, ROWS_FILE), "w") as f:
        rows = [r.to_dict() for r in results]
        json.dump({"rows": rows, "started_at": started_at, "run_id": run_id}, f, default=float)
