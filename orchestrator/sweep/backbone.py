"""The ``backbone:`` key: what it names, and whether that can train the sweep's methods and tasks.

Checked at plan time without torch or network (``trainables.backbone_ref``): a folder for the files
a checkpoint needs, a hub id for its form and, under ``HF_HUB_OFFLINE=1``, for its presence in the
local Hugging Face cache, and the architecture against what ``adapters`` runs each method on.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.contract.methods import Kind
from orchestrator.sweep.checks import Checker
from trainables import backbone_ref
from trainables.backbone_ref import BackboneError, BackboneRef
from trainables.tasks.registry import TASKS


def check_backbone(
    c: Checker,
    text: str,
    base_dir: Path,
    methods: dict,
    tasks: list[str],
    source_method: str | None,
) -> BackboneRef | None:
    """The parsed backbone, or None after adding its problems to ``c`` (key ``backbone``).

    ``methods``: the sweep's method specs (name -> spec with ``kind``); the stage-one method of
    the sources counts too when a transfer method needs it.
    """
    try:
        ref = backbone_ref.parse(text, base_dir)
    except BackboneError as e:
        c.add("backbone", str(e))
        return None
    needed = list(methods)
    if source_method and source_method not in needed:
        if any(m.kind == Kind.TRANSFER for m in methods.values()):
            needed.append(source_method)
    problem_types = {t: TASKS[t].problem_type for t in tasks if t in TASKS}
    found = backbone_ref.problems(ref, needed, problem_types)
    for problem in found:
        c.add("backbone", problem)
    return None if found else ref
