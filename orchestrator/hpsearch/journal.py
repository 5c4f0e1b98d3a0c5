"""An Optuna journal kept with the results: a local folder or any results URI (``s3://...``).

Optuna's file journal appends to a local file under a lock. A results URI on an object store
cannot append, so this backend keeps the study's log in memory and writes the whole journal
again after every update (one object write per ask or tell, a few kilobytes), atomically. A new
head reads it back and continues every study. The format is Optuna's own: one JSON object per
line, so an existing journal file is read as it is.

Only the driver of a run writes its studies, so there is one writer per journal.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

from optuna.storages.journal import BaseJournalBackend

from orchestrator.uri import filesystem


class ResultsJournal(BaseJournalBackend):
    """An Optuna journal at ``location`` (a path or URI of one file), rewritten after each update.

    A journal that cannot be read is moved aside (``<name>.damaged-<stamp>``) with a warning and
    the study starts empty: the runner adds the samples the store holds back into it.
    """

    def __init__(self, location: str):
        self.location = location
        self.fs, self.path = filesystem(location)
        self.fs.create_dir(self.path.rsplit("/", 1)[0], recursive=True)
        self._logs: list[dict[str, Any]] = self._read()

    def _read(self) -> list[dict[str, Any]]:
        try:
            with self.fs.open_input_stream(self.path) as f:
                raw = f.read()
        except FileNotFoundError:
            return []
        logs = []
        lines = raw.split(b"\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                log = json.loads(line.decode("utf-8"))
                if not isinstance(log, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                if i == len(lines) - 1:  # a last line cut short by a crash mid-append: dropped
                    break
                self._set_aside(f"line {i + 1} is not a journal entry ({e})")
                return []
            logs.append(log)
        return logs

    def _set_aside(self, reason: str) -> None:
        dest = f"{self.path}.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.fs.move(self.path, dest)
        print(
            f"warning: search journal {self.path}: {reason}; moved aside to {dest}, the study "
            "starts again from the samples the store holds",
            file=sys.stderr,
            flush=True,
        )

    def read_logs(self, log_number_from: int) -> list[dict[str, Any]]:
        return self._logs[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self._logs.extend(logs)
        data = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in self._logs)
        tmp = f"{self.path}.{uuid.uuid4().hex[:8]}.tmp"
        with self.fs.open_output_stream(tmp) as f:
            f.write(data.encode("utf-8"))
        self.fs.move(tmp, self.path)
