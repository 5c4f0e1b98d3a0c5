"""One module per CLI verb: ``add_parser(subparsers)`` and ``main(args) -> exit status``.

Invariant: a verb checks its arguments and input before any work, and reports bad input as
``problems.InputError`` or ``problems.UsageError`` (exit status 2, one line per cause);
``orchestrator/__main__.py`` dispatches. ``args`` holds the checked argparse types they share.
"""

__all__ = ["args", "data", "params", "plan", "plot", "report", "run", "status", "table", "verify"]
