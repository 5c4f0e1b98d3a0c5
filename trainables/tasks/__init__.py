"""Task registry, loaders, the synthetic benchmark and metrics.

``score(task, predictions, references)`` is the public metric entry point. It is a thin wrapper
so that importing ``trainables.tasks.registry`` (the head node's planner does) loads no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence


def score(task: str, predictions: Sequence, references: Sequence) -> dict[str, float]:
    """Every metric of ``task`` on the paper's 0-100 scale, and "score", the task's number.

    See ``trainables.tasks.metrics.score`` for the shapes predictions and references take.
    """
    from trainables.tasks.metrics import score as _score

    return _score(task, predictions, references)


__all__ = ["score"]
