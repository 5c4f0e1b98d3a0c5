"""The command line: ``python -m orchestrator VERB ...``."""

from __future__ import annotations

import argparse
import sys

from orchestrator.commands import data, params, plan, plot, report, run, status, table, verify
from orchestrator.problems import InputError

VERBS = {"plan": plan, "run": run, "status": status, "params": params, "table": table, "plot": plot}
VERBS["data"] = data  # data check: the splits a sweep trains on
VERBS["verify"] = verify  # after a disk or bucket incident: every entry and row file
VERBS["report"] = report  # one self-contained page of a results folder


def main(argv: list[str] | None = None) -> int:
    """Parse the verb and its options and run it; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator",
        description="Plan and run two-stage multi-task transfer sweeps (ScaLearn) on Ray Tune.",
    )
    sub = parser.add_subparsers(dest="verb", required=True)
    for module in VERBS.values():
        module.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return VERBS[args.verb].main(args)
    except InputError as e:  # bad input, every problem of it (orchestrator.problems)
        lines = e.lines()
        if len(lines) == 1:
            print(f"error: {lines[0]}", file=sys.stderr)
        else:
            print(e.headline(), file=sys.stderr)
            for line in lines:
                print(f"  {line}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head and the like
        return 0
    except KeyboardInterrupt:
        print(
            "interrupted; finished nodes are committed, run the same command to go on",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
