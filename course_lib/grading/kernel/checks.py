"""The words every hidden test shares, inside the student's kernel: a property that fails, and the
correct versions of other graded functions that stand in for the student's while one is graded.

* :class:`CheckFailed` - a graded property does not hold; the message names it, never the test's code.
* :class:`TamperingDetected` - the same, raised when the notebook changed what the tests rely on
  (:func:`course_lib.grading.kernel.guard.check_untampered`). The grader recognises it by its
  class name in the cell's error (``ename``), never by the text of its message.
* :func:`check` - raise :class:`CheckFailed` unless a condition holds.
* :func:`substituted` - while one function is graded, the *other* graded functions it may call
  are correct ones, so a mistake costs the points of one function only.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, List, Tuple

__all__ = ["CheckFailed", "TamperingDetected", "check", "substituted"]


class CheckFailed(AssertionError):
    """A graded property does not hold; the message names it (never the test's code)."""

    def _render_traceback_(self) -> List[str]:  # IPython shows this instead of the traceback
        return [f"{type(self).__name__}: {self}"]


class TamperingDetected(CheckFailed):
    """The notebook replaced a function the graded tests rely on: evidence of tampering, not a mistake."""


def check(condition: object, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds."""
    if not bool(condition):
        raise CheckFailed(message)


@contextlib.contextmanager
def substituted(namespace: dict, **functions) -> Iterator[None]:
    """Inside the block, ``namespace[name]`` is ``functions[name]``; restored (or removed) on exit.

    The hidden test of a function that calls other graded functions (``vae_loss`` calls
    ``kl_divergence``, a training step calls the losses) puts correct versions of those in the
    notebook's namespace while it runs, so a mistake costs the points of the function that holds
    it, and only those. The grader's probes use it the same way.
    """
    missing = object()
    saved: List[Tuple[str, object]] = [(name, namespace.get(name, missing)) for name in functions]
    try:
        namespace.update(functions)
        yield
    finally:
        for name, value in saved:
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value
