"""Points per graded function from an executed notebook and its probe file, and the flags to raise.

A function earns its points only when both hold:

(a) its hidden-test cell ran to the end without an error or stderr output (nbgrader's own rule,
    :func:`nbgrader.utils.determine_grade`; the student sees this cell's message in the feedback);
(b) the outside check passes: the probe values the student's kernel wrote equal, in the grader's
    own process, the solution's (:mod:`course_lib.grading.compare`).

When (a) holds and (b) does not, the function earns 0 and the submission is flagged
``outside check failed`` (the note names the probe and the difference): an honest mistake the
hidden tests miss, or a rounding difference past the tolerance, looks exactly like this.
``tampering detected`` is kept for evidence of tampering: the in-kernel guard reporting a replaced
function or environment (a test cell's error is a
:class:`~course_lib.grading.kernel.checks.TamperingDetected`, recognised by its class name), a notebook whose tests passed but that left no readable probe values, or
probe values that miss the solution's by more than ``ROUNDING_FACTOR`` times the tolerance although
the hidden tests passed (what an input transformer or a grading-detecting switch produces).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

import numpy as np
from nbformat import NotebookNode

from course_lib.grading.compare import DEFAULT_TOLERANCE, function_arrays, mismatch
from course_lib.grading.kernel.checks import TamperingDetected

TAMPERING = "tampering detected"
OUTSIDE_CHECK = "outside check failed"
ROUNDING_FACTOR = 1000  # a probe within 1000x the tolerance is a rounding difference, not tampering
MEMORY_LIMIT = "memory limit"
_MEMORY_SIGNS = ("MemoryError", "can't allocate memory", "Cannot allocate memory")


@dataclass
class Scored:
    scores: Dict[str, float]
    max_scores: Dict[str, float]
    flags: List[str]
    notes: Dict[str, str] = field(default_factory=dict)  # grade id -> why it earned nothing
    failures: Dict[str, str] = field(default_factory=dict)  # grade id -> its hidden test's whole message


def grade_cells(nb: NotebookNode) -> Dict[str, float]:
    """{grade_id: points} of the notebook's autograded test cells, in order."""
    return {c.metadata.nbgrader.grade_id: float(c.metadata.nbgrader.get("points", 0)) for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def _texts(nb: NotebookNode):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            yield str(out.get("text", "")) + str(out.get("ename", "")) + str(out.get("evalue", ""))


def _diagnosis(cell: NotebookNode, limit: int = 1000) -> str:
    """The hidden test's message (the ``evalue`` of the cell's error), first line, at most ``limit`` characters."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error" and out.get("evalue"):
            return str(out["evalue"]).strip().splitlines()[0][:limit]
    return ""


def score(nb: Optional[NotebookNode], status: Mapping[int, str], max_scores: Dict[str, float],
          probe: Optional[Dict[str, np.ndarray]], reference: Dict[str, np.ndarray], probed: Mapping,
          tolerances: Mapping = {}) -> Scored:
    """Points of each grade id: ``nb`` is the executed notebook (None: nothing ran), ``probe`` the
    student's strictly loaded probe values (None: missing or unreadable), ``probed`` the functions the
    assignment's probes cover."""
    from nbgrader.utils import determine_grade

    result = Scored(dict.fromkeys(max_scores, 0.0), dict(max_scores), [])
    if nb is None:
        result.notes = dict.fromkeys(max_scores, "not graded")
        return result
    texts = list(_texts(nb))
    if any(out.get("ename") == TamperingDetected.__name__ for cell in nb.cells for out in cell.get("outputs", [])):
        result.flags.append(TAMPERING)  # the in-kernel guard's own exception class, raised by a test cell
    if any(sign in t for t in texts for sign in _MEMORY_SIGNS):
        result.flags.append(MEMORY_LIMIT)
    for index, cell in enumerate(nb.cells):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid not in max_scores or not cell.metadata.nbgrader.get("grade"):
            continue
        if status.get(index) != "ok":
            result.notes[gid] = {None: "did not run"}.get(status.get(index), f"test cell: {status.get(index)}")
            diagnosis = _diagnosis(cell)
            if diagnosis:
                result.notes[gid] += f": {diagnosis[:200]}"
                result.failures[gid] = diagnosis  # for the class report (course_lib.grading.classreport)
            continue
        in_kernel, _ = determine_grade(cell)
        if in_kernel != max_scores[gid]:
            result.notes[gid] = "hidden tests failed"
            continue
        if gid in probed:
            expected = function_arrays(reference, gid)
            problem = "no probe values" if probe is None else mismatch(
                expected, function_arrays(probe, gid), tolerances.get(gid, DEFAULT_TOLERANCE))
            if problem:
                result.notes[gid] = f"outside check: {problem}"
                tolerance = tolerances.get(gid, DEFAULT_TOLERANCE)
                rounding = probe is not None and mismatch(
                    expected, function_arrays(probe, gid), tuple(t * ROUNDING_FACTOR for t in tolerance)) is None
                result.flags.append(OUTSIDE_CHECK if rounding else TAMPERING)
                continue
        result.scores[gid] = max_scores[gid]
    result.flags = sorted(set(result.flags))
    return result
