"""Bad input, reported once: every problem of one invocation, one line per distinct cause.

A command collects what is wrong with its input (the sweep file, the data it names, the store,
its own options) in one ``Report`` before any work starts, then raises it as an ``InputError``;
``orchestrator/__main__.py`` prints one line per problem and exits with status 2. A traceback is
left for bugs.

To add a kind of problem, call ``report.add(where, key, message, tasks=...)`` from a check:
``where`` is the file (or the command-line option, such as ``--store``), ``key`` the key path in
it (``methods.adapter.lr``; empty for the whole file or option), ``message`` what is wrong and what
would be right. Problems that differ only in the task they affect become one line listing the
tasks. The sweep's checks run in ``orchestrator.planning.preflight``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    """One cause of bad input, and the tasks it affects (when it concerns some tasks)."""

    where: str
    key: str
    message: str
    tasks: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The problem without its file: 'key: message (tasks: a, b)'."""
        text = f"{self.key}: {self.message}" if self.key else self.message
        if self.tasks:
            text += f" (tasks: {', '.join(self.tasks)})"
        return text

    def line(self) -> str:
        """The line the command prints: 'where: key: message (tasks: ...)'."""
        return f"{self.where}: {self.text}" if self.where else self.text


class Report:
    """The problems of one invocation, in the order found, the same cause once."""

    def __init__(self):
        self._problems: dict[tuple[str, str, str], Problem] = {}

    def add(self, where: str, key: str, message: str, tasks: list[str] | tuple = ()) -> None:
        """Record a problem; the same (where, key, message) again only adds its tasks."""
        p = self._problems.setdefault((where, key, message), Problem(where, key, message))
        p.tasks.extend(t for t in tasks if t not in p.tasks)

    def extend(self, error: InputError) -> None:
        """Take over the problems of an ``InputError`` raised by a part of the check."""
        for p in error.found:
            self.add(p.where, p.key, p.message, p.tasks)

    @property
    def found(self) -> list[Problem]:
        """Every problem, in the order found."""
        return list(self._problems.values())

    def __bool__(self) -> bool:
        return bool(self._problems)

    def __len__(self) -> int:
        return len(self._problems)

    def raise_if_any(self) -> None:
        """Raise every problem found as one ``InputError``; nothing when there is none."""
        if self:
            raise InputError(self.found)


class InputError(Exception):
    """Bad input found before any work started: the CLI prints ``lines()`` and exits 2."""

    def __init__(self, found: list[Problem]):
        self.found = list(found)
        super().__init__("\n".join(p.line() for p in self.found))

    @property
    def problems(self) -> list[str]:
        """Each problem as 'key: message', without where it is."""
        return [p.text for p in self.found]

    def lines(self) -> list[str]:
        """One line per problem, each naming where it is."""
        return [p.line() for p in self.found]

    def headline(self) -> str:
        """The line above the problems."""
        wheres = {p.where for p in self.found}
        count = len(self.found)
        if len(wheres) == 1 and "" not in wheres and not next(iter(wheres)).startswith("--"):
            return f"error: {next(iter(wheres))} has {count} problem(s):"
        return f"error: {count} problem(s), nothing was started:"


class UsageError(InputError):
    """One bad command-line argument or path: ``UsageError('--out', 'no such folder: x')``."""

    def __init__(self, option: str, message: str):
        super().__init__([Problem(option, "", message)])
