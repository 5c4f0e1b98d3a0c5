"""Locations of results and stores: a local path, or a pyarrow filesystem URI such as
``s3://bucket/prefix``, optionally with pyarrow's query options
(``s3://bucket/prefix?endpoint_override=host:port&scheme=http``).

Sub-paths are joined before the query, so the options follow every file of a results folder.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.fs as pafs


def is_remote(location: str) -> bool:
    """Whether ``location`` is a URI rather than a local path."""
    return "://" in str(location)


def join(base: str, *parts: str) -> str:
    """``base`` with ``parts`` appended to its path (a URI's query stays at the end)."""
    base = str(base)
    query = ""
    if is_remote(base) and "?" in base:
        base, query = base.split("?", 1)
        query = "?" + query
    tail = "/".join(p.strip("/") for p in parts if p)
    return f"{base.rstrip('/')}/{tail}{query}" if tail else f"{base}{query}"


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and the path on it of a local path or URI."""
    if is_remote(location):
        return pafs.FileSystem.from_uri(str(location))
    return pafs.LocalFileSystem(), str(Path(location).expanduser().resolve())


def without_query(location: str) -> str:
    """The location without its query options (for messages and payload links)."""
    return str(location).split("?", 1)[0] if is_remote(location) else str(location)
