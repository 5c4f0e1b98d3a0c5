"""What the disk cache of tokenised splits saves each trial process, on the real GLUE files.

    python benchmarks/tokenized_cache.py --json            # RTE and SST-2, 3 repeats
    python benchmarks/tokenized_cache.py --tasks sst2 --repeats 5

Every Ray trial is a fresh process, so without a disk cache each trial loads, splits and
tokenises its task again. For each task this runs ``trainables.encode.encode_task`` in fresh
Python processes, timing only that call (imports and tokenizer loading are outside the timer):

- ``off``: the disk cache turned off (``SCALEARN_TOKENIZED_CACHE=0``): load and tokenise;
- ``first``: the cache on and empty: load, tokenise and write the file (the first trial);
- ``cached``: the cache on and filled: read the file (every later trial on that machine).

The tokenizer is a byte-level BPE of RoBERTa-base's vocabulary size (50,265) trained on the two
tasks' text (no hub access). Prints one JSON object (``--json``) with the median seconds of each
arm per task and the ratio off / cached; a short summary goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GLUE = ROOT.parent / "shared" / "data" / "glue"
VOCAB_SIZE = 50265
MAX_LENGTH = 128

CHILD = """
import json, sys, time
from transformers import AutoTokenizer
from orchestrator.planning.data_identity import resolve_data
from trainables.encode import encode_task
task, glue, tok_dir = sys.argv[1:4]  # and max_length in sys.argv[4]
tokenizer = AutoTokenizer.from_pretrained(tok_dir)
data = resolve_data(task, {"source": "local", "dir": glue})
start = time.perf_counter()
splits = encode_task(task, data, tokenizer, int(sys.argv[4]))
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "train": len(splits["train"])}))
"""


def train_tokenizer(tasks: list[str], out: Path) -> None:
    """A BPE of RoBERTa-base's vocabulary size trained on the tasks' train text, saved at out."""
    from orchestrator.planning.data_identity import resolve_data
    from trainables.tasks.data import load_splits
    from trainables.tokenizer import load_tokenizer

    corpus = []
    for task in tasks:
        train = load_splits(task, resolve_data(task, {"source": "local", "dir": str(GLUE)})).train
        corpus += [t for ex in train for t in (ex["text_a"], ex.get("text_b")) if t]
    load_tokenizer("random:roberta-base", corpus=corpus, vocab_size=VOCAB_SIZE).save_pretrained(
        str(out)
    )


def timed(task: str, tok_dir: Path, env: dict) -> dict:
    """One fresh process's ``encode_task`` call: {"seconds", "train"}."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, task, str(GLUE), str(tok_dir), str(MAX_LENGTH)],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(tasks: list[str], repeats: int) -> dict:
    """Median seconds of each arm per task, and the ratio off / cached."""
    with tempfile.TemporaryDirectory() as tmp:
        tok_dir = Path(tmp) / "tokenizer"
        train_tokenizer(tasks, tok_dir)
        out = {}
        for task in tasks:
            cache = {"SCALEARN_CACHE": str(Path(tmp) / f"cache-{task}")}
            off = [timed(task, tok_dir, {"SCALEARN_TOKENIZED_CACHE": "0"}) for _ in range(repeats)]
            first = timed(task, tok_dir, {**cache, "SCALEARN_TOKENIZED_CACHE": "1"})
            cached = [
                timed(task, tok_dir, {**cache, "SCALEARN_TOKENIZED_CACHE": "1"})
                for _ in range(repeats)
            ]
            files = list((Path(cache["SCALEARN_CACHE"]) / "tokenized").glob("*.safetensors"))
            off_s = statistics.median(r["seconds"] for r in off)
            cached_s = statistics.median(r["seconds"] for r in cached)
            out[task] = {
                "train_examples": first["train"],
                "off_s": round(off_s, 3),
                "first_s": round(first["seconds"], 3),
                "cached_s": round(cached_s, 3),
                "speedup_off_over_cached": round(off_s / cached_s, 1),
                "cache_file_mb": round(sum(f.stat().st_size for f in files) / 2**20, 2),
            }
    return {"max_length": MAX_LENGTH, "vocab_size": VOCAB_SIZE, "repeats": repeats, "tasks": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="rte,sst2", help="comma-separated GLUE tasks")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    if not GLUE.is_dir():
        sys.exit(f"tokenized_cache: the GLUE files are not at {GLUE}")
    figures = measure(args.tasks.split(","), args.repeats)
    if args.json:
        print(json.dumps(figures, indent=2))
    for task, f in figures["tasks"].items():
        print(
            f"{task}: {f['train_examples']} train examples; load+tokenise {f['off_s']} s, "
            f"first trial (tokenise+write) {f['first_s']} s, later trials {f['cached_s']} s "
            f"({f['speedup_off_over_cached']}x); file {f['cache_file_mb']} MB",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
