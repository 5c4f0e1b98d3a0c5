"""Result rows: one Parquet file per node under ``<results>/<sweep>/trials/``, and their repair.

- ``row_files``: writing and reading the row files (schema derived from ``ResultRow``), reading
  that skips unreadable files, the training audit trail.
- ``from_store``: a committed node's rows rebuilt from its store entry.
- ``verify``: every store entry and row file checked in full, damage moved aside, rows rebuilt.

Invariants: the store is the ledger and the rows are derived from it, so a lost or damaged row
file is rebuilt, never re-trained; a row file is written whole (write, then rename) or not at all.
"""

from orchestrator.results.row_files import latest, load, scan, write_node_rows

__all__ = ["latest", "load", "scan", "write_node_rows"]
