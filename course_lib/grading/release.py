"""``course-grade release``: regenerate the student versions (``assignments/``) from ``solutions/``
with nbgrader's own ``generate_assignment``, which also records the tests in the gradebook."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from course_lib.grading.course import print_outcome, run_converter


def release(root: Path, assignments: Iterable[str]) -> bool:
    """Release every assignment named; true when all succeeded (each prints ``ok`` or ``FAILED``)."""
    from nbgrader.converters import GenerateAssignment

    return all([print_outcome(f"release {a}", run_converter(GenerateAssignment, root, a)) for a in assignments])
