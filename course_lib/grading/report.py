"""The per-run report: a table on the terminal and a CSV, one row per student and notebook."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import List, Sequence

from course_lib.grading.runner import StudentResult

COLUMNS = ["student_id", "assignment", "score", "max_score", "flags"]


def _functions(results: Sequence[StudentResult]) -> List[str]:
    names: List[str] = []
    for r in results:
        names += [f for f in r.max_scores if f not in names]
    return names


def rows(results: Sequence[StudentResult]) -> List[dict]:
    functions = _functions(results)
    return [{"student_id": r.student_id, "assignment": r.assignment, "score": f"{r.score:g}",
             "max_score": f"{r.max_score:g}", "flags": "; ".join(r.flags),
             **{f: f"{r.scores.get(f, 0):g}" for f in functions},
             "seconds": f"{r.wall_s:.1f}", "graded": "unchanged" if r.skipped else "now",
             "notes": "; ".join(f"{f}: {why}" for f, why in r.notes.items())}
            for r in sorted(results, key=lambda r: (r.assignment, r.student_id))]


def write_csv(results: Sequence[StudentResult], path: Path) -> None:
    table = rows(results)
    columns = COLUMNS + _functions(results) + ["seconds", "graded", "notes"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(table)


def table(results: Sequence[StudentResult]) -> str:
    """A plain-text table: student, score, the points of each function, flags."""
    functions = _functions(results)
    header = ["student_id", "score", *functions, "flags"]
    body = [[r["student_id"], f"{r['score']}/{r['max_score']}", *(r[f] for f in functions), r["flags"]]
            for r in rows(results)]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [header, *body]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
