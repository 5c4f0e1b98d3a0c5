"""MkDocs hook: the hyperparameter reference of sweep-files.md, generated from the code.

The page holds a marker line, ``<!-- hparams-table -->``; the hook replaces it with the tables of
``orchestrator.contract.hparams``, the one definition that the sweep checker and the trainers
read too, so the reference cannot go stale. Where the module has ``reference_tables()`` (a dict
of title to Markdown lines) each table is rendered under a ``### title`` heading; otherwise the
single ``reference_table()`` is.
"""

from __future__ import annotations

import logging

MARKER = "<!-- hparams-table -->"
PAGE = "sweep-files.md"

log = logging.getLogger("mkdocs.hooks.hparams_table")


def tables_markdown() -> str:
    """The reference as Markdown, from the installed package."""
    from orchestrator.contract import hparams  # imported here: the package is installed in CI

    if hasattr(hparams, "reference_tables"):
        blocks = []
        for title, lines in hparams.reference_tables().items():
            blocks.append(f"### {title}\n\n" + "\n".join(lines))
        return "\n\n".join(blocks)
    return "\n".join(hparams.reference_table())


def render(markdown: str) -> str:
    """The page's text with every marker line replaced by the reference."""
    if MARKER not in markdown:
        return markdown
    table = tables_markdown()
    lines = [table if line.strip() == MARKER else line for line in markdown.split("\n")]
    return "\n".join(lines)


def on_page_markdown(markdown, page=None, config=None, files=None, **kwargs):
    """MkDocs event: fill the marker; a warning (a failed --strict build) if the page lost it."""
    src = getattr(getattr(page, "file", None), "src_uri", None)
    if src == PAGE and MARKER not in markdown:
        log.warning("%s has no %s line: the hyperparameter reference is missing", PAGE, MARKER)
    return render(markdown)
