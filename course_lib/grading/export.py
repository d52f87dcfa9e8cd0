"""``course-grade export``: ``grades.csv``, one row per student and assignment, from nbgrader's gradebook
and the flags ``course-grade autograde`` recorded."""
from __future__ import annotations

import contextlib
import csv
import json
import sys
from pathlib import Path
from typing import List

from course_lib.grading.course import course_directory
from course_lib.grading.runner import RECORD


def recorded_flags(folder: Path) -> List[str]:
    """The flags ``course-grade autograde`` recorded for one submission (its ``.course-grade-*.json``)."""
    flags = set()
    for record in folder.glob(RECORD.format(notebook="*")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            flags.update(json.loads(record.read_text())["result"]["flags"])
    return sorted(flags)


def export(root: Path, output: Path) -> int:
    """Write one row per student and assignment: status, points per grade cell (by grade id), score.

    ``status`` is ``graded``, ``not submitted``, ``needs grading`` (autograding failed, or a cell
    awaits manual grading) or ``flagged`` (``course-grade`` raised the flags in the ``flags`` column,
    e.g. ``missing notebook`` or ``tampering detected``: look before uploading); per-cell points are the manual score if given, else the autograder's.
    """
    from nbgrader.api import Gradebook, MissingEntry

    coursedir, _ = course_directory(root)
    rows, columns = [], ["student_id", "assignment", "status"]
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        for assignment in gb.assignments:
            grade_ids = [cell.name for nb in assignment.notebooks for cell in nb.grade_cells]
            if len(set(grade_ids)) != len(grade_ids):
                sys.exit(f"error: grade ids repeat across the notebooks of {assignment.name}: {grade_ids}")
            columns += [g for g in grade_ids if g not in columns]
            for student in gb.students:
                row = {"student_id": student.id, "assignment": assignment.name, "status": "not submitted",
                       "score": 0.0, "max_score": assignment.max_score, **dict.fromkeys(grade_ids, 0.0)}
                with contextlib.suppress(MissingEntry):
                    submission = gb.find_submission(assignment.name, student.id)
                    grades = [g for nb in submission.notebooks for g in nb.grades]
                    row.update({g.name: g.score for g in grades}, score=submission.score)
                    row["status"] = "needs grading" if any(g.needs_manual_grade for g in grades) else "graded"
                    row["flags"] = "; ".join(recorded_flags(root / coursedir.autograded_directory
                                                                 / student.id / assignment.name))
                    if row["flags"]:
                        row["status"] = "flagged"
                rows.append(row)
    with open(output, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns + ["score", "max_score", "flags"], restval="")
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: (r["assignment"], r["student_id"])))
    print(f"wrote {len(rows)} rows to {output}")
    return len(rows)

