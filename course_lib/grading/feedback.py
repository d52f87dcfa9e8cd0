"""``course-grade feedback``: HTML feedback ``feedback/<student>/<assignment>/`` for every autograded
submission, with nbgrader's own ``generate_feedback`` (hidden tests removed, see ``nbgrader_config.py``).
The records ``course-grade autograde`` left next to each notebook (``.course-grade-*.json``) are
copied along, so the flags travel with the feedback."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from course_lib.grading.course import course_directory, print_outcome, run_converter


def feedback(root: Path, assignments: Iterable[str], students: Sequence[str] = ()) -> bool:
    """Write the feedback of every autograded submission of ``assignments`` (only ``students``, if given)."""
    from nbgrader.converters import GenerateFeedback

    ok = True
    for assignment in assignments:
        graded = root / course_directory(root)[0].autograded_directory
        for student in sorted(p.parent.name for p in graded.glob(f"*/{assignment}") if p.is_dir()):
            if not students or student in students:
                ok &= print_outcome(f"feedback {assignment} {student}",
                                    run_converter(GenerateFeedback, root, assignment, student))
    return ok
