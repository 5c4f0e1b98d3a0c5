"""``data check`` and ``data split``: what a sweep trains on, before any GPU time is spent.

``data check --benchmark B [--data-dir DIR] [--tasks a,b] [--json]`` loads every task of a
benchmark the way a trial does (local files or the hub, then the paper's data protocol) and
prints the rows of train, dev and test with their label distribution. Exit status 1 when a task
cannot be loaded or its official splits do not have the published number of rows.

``data split --benchmark B --task T [--data-dir DIR] --split train|dev|test --out FILE.jsonl
[--k K] [--dev-limit N]`` writes the examples a trial trains on (train), selects on (dev) or
reports on (test), in the trial's order, one JSON object a line: the model's input as the
task's template builds it, the label, and where the example comes from ("row": its index in the
official split named by "from"), to compare with another framework or to look at errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from orchestrator.problems import UsageError
from trainables.tasks.registry import BENCHMARKS, get_task

SPLITS = ("train", "dev", "test")


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="check a benchmark's data: splits, rows, labels")
    verbs = p.add_subparsers(dest="data_verb", required=True)
    c = verbs.add_parser("check", help="rows and label distribution of train, dev and test")
    c.add_argument("--benchmark", required=True, choices=sorted(BENCHMARKS))
    c.add_argument(
        "--data-dir",
        help="local folder of the benchmark (one folder per task) or of one task; "
        "default: the hub's repositories",
    )
    c.add_argument("--tasks", help="comma-separated tasks (default: all of the benchmark)")
    c.add_argument("--json", action="store_true", help="print the summary as JSON")
    s = verbs.add_parser(
        "split", help="write the examples a trial trains, selects or reports on, in order"
    )
    s.add_argument("--benchmark", required=True, choices=sorted(BENCHMARKS))
    s.add_argument("--task", required=True, help="one task of the benchmark")
    s.add_argument(
        "--data-dir",
        help="local folder of the benchmark (one folder per task) or of the task; "
        "default: the hub's repositories (the synthetic benchmark: generated, seed 0)",
    )
    s.add_argument(
        "--split", required=True, choices=SPLITS, help="train (trained on), dev (selects), test"
    )
    s.add_argument("--out", required=True, help="the JSON-lines file to write")
    s.add_argument("--k", type=int, default=None, help="few-shot: the k train rows kept")
    s.add_argument(
        "--dev-limit", type=int, default=None, help="dev rows kept (few-shot sweeps: 5000)"
    )


def main(args) -> int:
    if args.data_verb == "split":
        return split_main(args)
    tasks = _tasks(args.benchmark, args.tasks)
    data = {"source": "local", "dir": args.data_dir} if args.data_dir else {"source": "hub"}
    if args.data_dir and not Path(args.data_dir).is_dir():
        print(f"error: --data-dir {args.data_dir} is not a directory", file=sys.stderr)
        return 2
    report = {"benchmark": args.benchmark, "data": data, "tasks": {}}
    for task in tasks:
        report["tasks"][task] = check_task(task, data)
    failed = [t for t, r in report["tasks"].items() if "error" in r or r.get("warnings")]
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(format_report(report))
    return 1 if failed else 0


# which official split the examples of each protocol split come from
_FROM = {"train": "train", "dev": "train", "test": "validation"}
_FROM_OWN = {  # tasks whose dev (and test) are official splits of their own
    "record": {"train": "train", "dev": "validation", "test": "validation"},
    "humset": {"train": "train", "dev": "validation", "test": "test"},
}


def split_main(args) -> int:
    """``data split``: write one protocol split of one task as JSON lines."""
    from orchestrator.planning.data_identity import resolve_data
    from trainables.tasks.data import load_splits

    if args.task not in BENCHMARKS[args.benchmark]:
        known = ", ".join(BENCHMARKS[args.benchmark])
        print(
            f"error: --task {args.task} is not a task of {args.benchmark}: {known}", file=sys.stderr
        )
        return 2
    for flag, value in (("--k", args.k), ("--dev-limit", args.dev_limit)):
        if value is not None and value < 1:
            print(f"error: {flag} must be a positive integer, got {value}", file=sys.stderr)
            return 2
    if args.data_dir and not Path(args.data_dir).is_dir():
        print(f"error: --data-dir {args.data_dir} is not a directory", file=sys.stderr)
        return 2
    if args.data_dir:
        data = {"source": "local", "dir": args.data_dir}
    else:
        data = {"source": "synthetic" if args.benchmark == "synthetic" else "hub"}
    data = resolve_data(args.task, data)
    for key, value in (("k", args.k), ("dev_limit", args.dev_limit)):
        if value is not None:
            data[key] = value
    try:
        examples = getattr(load_splits(args.task, data), args.split)
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {args.task}: {str(e).strip(chr(39) + chr(34))}", file=sys.stderr)
        return 1
    origin = _origin(args.task, args.split)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for example in examples:
            line = {"row": example["row"], "from": origin}
            line.update({k: v for k, v in example.items() if k != "row"})
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"{args.task} {args.split}: {len(examples)} examples ({origin} rows) -> {out}")
    return 0


def _origin(task: str, split: str) -> str:
    spec = get_task(task)
    own = _FROM_OWN.get(task) or _FROM_OWN.get(spec.benchmark)
    return (own or _FROM)[split]


def _tasks(benchmark: str, given: str | None) -> list[str]:
    known = BENCHMARKS[benchmark]
    if not given:
        return list(known)
    wanted = [t.strip() for t in given.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise UsageError(
            "--tasks",
            f"{', '.join(unknown)}: not tasks of {benchmark}; its tasks: {', '.join(known)}",
        )
    return [t for t in known if t in wanted]  # the paper's order


def check_task(task: str, data: dict) -> dict:
    """The task's summary (``describe_splits``) with where it came from, or {"error": why}."""
    from trainables.tasks.data import load_splits
    from trainables.tasks.describe import describe_splits

    try:
        summary = describe_splits(task, load_splits(task, data))
    except (OSError, ValueError, KeyError) as e:
        return {"task": task, "error": str(e).strip("'\"")}
    summary["source"] = _source(task, data)
    summary["warnings"] = _size_warnings(task, summary)
    return summary


def _source(task: str, data: dict) -> str:
    if data["source"] == "hub":
        from trainables.tasks.hub import hub_source

        repo, config, revision = hub_source(task, data)
        return f"{repo} ({config}{', ' + revision if revision else ''})"
    from trainables.tasks.local import split_files, task_dir

    folder = task_dir(task, data["dir"])
    files = split_files(folder)
    names = [p.name for split in ("train", "validation", "test") for p in files.get(split, [])]
    return f"{folder}: {', '.join(names)}"


def _size_warnings(task: str, summary: dict) -> list[str]:
    """Where the files' rows differ from the published split sizes (a quirk read wrongly?)."""
    spec = get_task(task)
    if spec.benchmark == "humset" or task in ("multirc", "record"):
        return []  # HumSet versions differ in size; MultiRC/ReCoRD count options, not rows
    splits = summary["splits"]
    train_rows = splits["train"]["rows"] + splits["dev"]["rows"]
    out = []
    if train_rows != spec.train_size:
        out.append(f"the train file has {train_rows} rows, the official split {spec.train_size}")
    if splits["test"]["rows"] != spec.test_size:
        out.append(
            f"the validation file has {splits['test']['rows']} rows, "
            f"the official split {spec.test_size}"
        )
    return out


def format_report(report: dict) -> str:
    """The human summary: a table of rows per split, then label distributions per task."""
    data = report["data"]
    where = f"local files under {data['dir']}" if data["source"] == "local" else "the hub"
    lines = [f"{report['benchmark']}: {where}", ""]
    lines.append(f"{'task':<14} {'train':>8} {'dev':>7} {'test':>7}")
    for task, r in report["tasks"].items():
        if "error" in r:
            lines.append(f"{task:<14} {'not loaded (see below)':>24}")
            continue
        rows = [r["splits"][s]["rows"] for s in SPLITS]
        lines.append(f"{task:<14} {rows[0]:>8} {rows[1]:>7} {rows[2]:>7}")
    for task, r in report["tasks"].items():
        if "error" in r:
            lines += ["", f"{task}: not loaded", f"  error     {r['error']}"]
            continue
        lines += ["", f"{task}: {' / '.join(str(r['splits'][s]['rows']) for s in SPLITS)}"]
        lines.append(f"  protocol  {r['protocol']}")
        lines.append(f"  from      {r['source']}")
        for split in SPLITS:
            lines.append(f"  {split:<9} {_distribution(r['splits'][split])}")
        lines += [f"  warning   {w}" for w in r["warnings"]]
    return "\n".join(lines)


def _distribution(split: dict) -> str:
    total = split["rows"]
    parts = [
        f"{name} {n} ({100 * n / total:.1f} %)" if total else f"{name} {n}"
        for name, n in split["labels"].items()
    ]
    groups = f"; {split['groups']} questions" if "groups" in split else ""
    return f"{total} rows{groups}: " + ", ".join(parts)
