"""Sweep files as YAML, read strictly: what a plain YAML load accepts silently or crashes on.

- A key given twice in one mapping is a problem naming both lines (a plain load keeps the last
  one, so a second ``methods:`` block drops the first without a word). Merge keys (``<<: *base``)
  may still be overridden, as YAML intends.
- Nesting deeper than ``MAX_DEPTH`` and documents that aliases expand to more than
  ``MAX_VALUES`` values (``&anchor`` / ``*alias`` "bombs") stop the read at the offending line,
  before the structure is built, instead of a RecursionError or MemoryError later.
- Bytes that are not UTF-8 are reported with their byte offset, line and column.
- A scalar Python cannot build (an integer of thousands of digits, a date such as 2024-13-45) is
  reported at its line instead of raising a ValueError.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

# A sweep file nests a handful of levels (methods.adapter.per_task.rte.search.space.lr.low is 8);
# 32 leaves room for any hand-written file and stays far below Python's recursion limit.
MAX_DEPTH = 32
# Values of the document with every alias written out; the largest shipped sweep has a few
# hundred, a sweep listing 10,000 seeds about 10,000.
MAX_VALUES = 200_000

MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlFileError(Exception):
    """The file cannot be read as a sweep document at all; ``message`` says where and why."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class LimitError(yaml.MarkedYAMLError):
    """Nesting or alias expansion beyond the bounds of this module."""


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with bounded nesting and alias expansion and wrapped scalar errors.

    Sizes and heights of composed nodes are kept by node identity, so an alias costs what it
    expands to without being expanded.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, height)

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:
                if id(node) not in self._measured:
                    raise LimitError(
                        None,
                        None,
                        f"the alias *{event.anchor} refers to a value that contains it",
                        event.start_mark,
                    )
                values, height = self._measured[id(node)]
                self._check(values, self._depth + height, event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise LimitError(
                None,
                None,
                f"values nest deeper than {MAX_DEPTH} levels; a sweep file needs far fewer",
                self.peek_event().start_mark,
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        values, height = self._measure(node)
        self._measured[id(node)] = (values, height)
        self._check(values, self._depth + height, node.start_mark)
        return node

    def _measure(self, node) -> tuple[int, int]:
        if isinstance(node, ScalarNode):
            return 1, 1
        if isinstance(node, SequenceNode):
            children = node.value
        else:
            children = [n for pair in node.value for n in pair]
        sizes = [self._measured[id(c)] for c in children]
        return 1 + sum(s for s, _ in sizes), 1 + max((h for _, h in sizes), default=0)

    def _check(self, values: int, depth: int, mark) -> None:
        if values > MAX_VALUES:
            raise LimitError(
                None,
                None,
                f"aliases (*name) expand this document to more than {MAX_VALUES:,} values; "
                "write the values out or use fewer aliases",
                mark,
            )
        if depth > MAX_DEPTH:
            raise LimitError(
                None,
                None,
                f"through aliases, values nest deeper than {MAX_DEPTH} levels",
                mark,
            )

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as e:
            text = node.value if isinstance(node.value, str) else ""
            shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
            raise ConstructorError(
                None, None, f"cannot read {shown} as a value ({e})", node.start_mark
            ) from None


def duplicate_keys(loader: StrictLoader, root) -> list[tuple[str, str]]:
    """(key path, message) for every key given twice in one mapping of the composed document."""
    found: list[tuple[str, str]] = []
    seen_nodes: set[int] = set()

    def walk(node, path: str) -> None:
        if id(node) in seen_nodes:
            return  # an alias: checked where it was defined
        seen_nodes.add(id(node))
        if isinstance(node, SequenceNode):
            for i, child in enumerate(node.value):
                walk(child, f"{path}[{i}]")
        elif isinstance(node, MappingNode):
            first: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:
                    continue
                key = _scalar_key(loader, key_node)
                key_path = f"{path}.{key}" if path else str(key)
                if key is not None:
                    if key in first:
                        here, there = _places(key_node.start_mark, first[key])
                        found.append(
                            (
                                key_path,
                                f"duplicate key at {here} (first at {there}); YAML keeps only "
                                "the last, so the first would be silently dropped: keep one",
                            )
                        )
                    else:
                        first[key] = key_node.start_mark
                walk(value_node, key_path)

    walk(root, "")
    return found


def _places(mark, first) -> tuple[str, str]:
    """Where a key and its first occurrence are: lines, and columns when on one line."""
    if mark.line != first.line:
        return f"line {mark.line + 1}", f"line {first.line + 1}"
    return (
        f"line {mark.line + 1}, column {mark.column + 1}",
        f"line {first.line + 1}, column {first.column + 1}",
    )


def _scalar_key(loader: StrictLoader, node) -> Any:
    """The key a scalar node stands for (None for unhashable or non-scalar keys)."""
    if not isinstance(node, ScalarNode):
        return None
    key = loader.construct_object(node)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def load(data: bytes) -> tuple[Any, list[tuple[str, str]]]:
    """The document in ``data`` and its duplicate keys as (key path, message).

    Raises YamlFileError when the bytes are not UTF-8, the YAML is invalid or a bound is passed.
    """
    text = decode(data)
    try:
        loader = StrictLoader(text)  # checks every character first
    except yaml.reader.ReaderError as e:
        raise YamlFileError(_reader_problem(text, e)) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, []
        duplicates = duplicate_keys(loader, root)
        return loader.construct_document(root), duplicates
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise YamlFileError(f"{where}invalid YAML: {problem}") from None
    finally:
        loader.dispose()


def decode(data: bytes) -> str:
    """``data`` as UTF-8 text; YamlFileError naming the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise YamlFileError(
            f"byte {e.start} (line {line}, column {column}): 0x{data[e.start]:02x} is not "
            "UTF-8 text; save the file as UTF-8"
        ) from None


def _reader_problem(text: str, e: yaml.reader.ReaderError) -> str:
    before = text[: e.position]
    line = before.count("\n") + 1
    column = e.position - (before.rfind("\n") + 1) + 1
    offset = len(before.encode("utf-8"))
    return (
        f"byte {offset} (line {line}, column {column}): character U+{e.character:04X} is not "
        "allowed in YAML; remove it"
    )
