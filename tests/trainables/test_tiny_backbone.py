"""The tiny backbone is one set of bytes: built alike in any process, stored once per store,
verified by every trial that fetches it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from orchestrator.store import open_store
from orchestrator.store.backbones import fetch_backbone, store_backbone, stored_entry
from tests.conftest import ROOT
from trainables.backbone_ref import checkpoint_digest

BUILD = (
    "import sys, torch; torch.set_num_threads(int(sys.argv[1]));"
    "from trainables.tiny_backbone import checkpoint;"
    "from trainables.backbone_ref import checkpoint_digest;"
    "print('DIGEST', checkpoint_digest(checkpoint()), torch.get_num_threads())"
)


@pytest.mark.slow
def test_two_processes_with_different_thread_counts_build_the_same_bytes(tmp_path):
    procs = []
    for threads in (1, 2):
        env = dict(
            os.environ, SCALEARN_CACHE=str(tmp_path / f"cache{threads}"), PYTHONPATH=str(ROOT)
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", BUILD, str(threads)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    digests = []
    for threads, p in zip((1, 2), procs, strict=True):
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, err[-2000:]
        line = next(x for x in out.splitlines() if x.startswith("DIGEST"))
        _, digest, used = line.split()
        assert int(used) == threads, "the caller's thread count is left as it was"
        digests.append(digest)
    assert digests[0] == digests[1]
    folders = [
        next(p for p in (tmp_path / f"cache{t}" / "backbones").iterdir() if p.is_dir())
        for t in (1, 2)
    ]
    assert sorted(p.name for p in folders[0].iterdir()) == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


def test_a_store_holds_one_tiny_backbone_and_trials_verify_it(tmp_path):
    store = open_store(str(tmp_path / "store"))
    assert stored_entry("random:tiny-roberta") is None and stored_entry("roberta-base") is None
    entry = store_backbone(store, "tiny-roberta")
    assert entry == stored_entry("tiny-roberta") == "backbone-tiny-roberta"
    record = store.record(entry)
    folder = fetch_backbone(store, "tiny-roberta")
    assert checkpoint_digest(folder) == record["digest"]
    # a second run on the store keeps the entry it found
    assert store_backbone(store, "tiny-roberta") == entry
    assert store.record(entry)["attempt"] == record["attempt"]
    # the folder a trial fetched builds the model and tokenizer it trains on
    from trainables.backbones import build_adapter_model
    from trainables.tokenizer import load_tokenizer

    tokenizer = load_tokenizer("tiny-roberta", files=folder)
    model = build_adapter_model("tiny-roberta", len(tokenizer), files=folder)
    assert model.config.vocab_size == len(tokenizer) and not list(model.heads)
    # a damaged copy is refused, not trained on
    weights = os.path.join(folder, "model.safetensors")
    os.chmod(weights, 0o644)
    with open(weights, "r+b") as f:
        f.seek(200)
        f.write(b"\x00\x01\x02")
    with pytest.raises(RuntimeError, match="not the stored"):
        fetch_backbone(store, "tiny-roberta")


def test_a_trial_without_the_stored_backbone_says_why(tmp_path):
    store = open_store(str(tmp_path / "store"))
    with pytest.raises(RuntimeError, match="holds no backbone-tiny-roberta"):
        fetch_backbone(store, "tiny-roberta")
    assert fetch_backbone(store, "random:tiny-roberta") is None
