"""Backbones kept in the artifact store, so every trial on a store trains on the same bytes.

The tiny backbone is pretrained on a CPU, and CPUs differ in floating point: two machines can
pretrain two different tiny models. So it is not pretrained per machine for a run: the driver
puts one checkpoint into the store (entry ``backbone-tiny-roberta``) before any trial starts,
unless the store holds one already, and every trial fetches that entry and checks its digest. A
store therefore holds one tiny backbone for good, and every node in it, of whichever run or
machine, trained on it. Node ids keep naming the backbone ``tiny-roberta``; the entry's record
names its digest. Hub and folder backbones are read where they lie (the hub cache, a shared disk)
and identified by id and revision or by content (``trainables.backbone_ref``).
"""

from __future__ import annotations

import sys

from orchestrator.store import ArtifactStore
from trainables import backbone_ref
from trainables.backbone_ref import TINY, Form

ENTRY_PREFIX = "backbone-"


def stored_entry(backbone: str) -> str | None:
    """The store entry that holds ``backbone``'s checkpoint, or None for one read in place."""
    ref = backbone_ref.parse(backbone)
    if ref.form == Form.TINY and not ref.random:
        return ENTRY_PREFIX + TINY
    return None


def store_backbone(store: ArtifactStore, backbone: str) -> str | None:
    """Put ``backbone``'s checkpoint into the store unless it is there (the driver, before any
    trial); returns its entry. Builds the tiny backbone on this machine at most once."""
    entry = stored_entry(backbone)
    if entry is None:
        return None
    from trainables.tiny_backbone import RECIPE, checkpoint

    found = store.record(entry)
    if found is not None:
        if found.get("recipe") != RECIPE:
            print(
                f"backbone {TINY}: the store keeps its copy (recipe {found.get('recipe')}, this "
                f"code's is {RECIPE}), which its nodes trained on; a new store gets a new one",
                file=sys.stderr,
            )
        return entry
    folder = checkpoint()
    digest = backbone_ref.checkpoint_digest(folder)
    record = store.commit(
        entry,
        folder,
        meta={"kind": "backbone", "backbone": TINY, "recipe": RECIPE, "digest": digest},
    )
    print(f"backbone {TINY}: stored as {entry} (digest {record['digest']})", file=sys.stderr)
    return entry


def fetch_backbone(store: ArtifactStore, backbone: str) -> str | None:
    """A local folder with the stored copy of ``backbone`` (a trial), or None for one read in
    place; RuntimeError when it is missing or its files do not match its recorded digest."""
    entry = stored_entry(backbone)
    if entry is None:
        return None
    record = store.record(entry)
    if record is None:
        raise RuntimeError(
            f"{store.uri} holds no {entry}: the run stores it before its first trial; "
            "start the sweep with `run`, not trials by hand"
        )
    folder = store.fetch(entry)
    digest = backbone_ref.checkpoint_digest(folder)
    if digest != record["digest"]:
        raise RuntimeError(
            f"{entry} fetched to {folder} has digest {digest}, not the stored {record['digest']}"
        )
    return folder
