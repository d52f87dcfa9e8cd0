"""``course-grade``: the instructor's one grading command (sandboxed, parallel autograding).

Run from the course root (the folder with ``nbgrader_config.py``), or pass ``--root``::

    course-grade release  [--all | ASSIGNMENT ...]                 # solutions/ -> assignments/
    course-grade autograde ASSIGNMENT [--submitted DIR] [--jobs N] [--report FILE.csv]
                           [--isolation auto|namespace|user|process] [--force] [--student ID ...]
    course-grade feedback [--all | ASSIGNMENT ...] [--student ID ...]  # autograded/ -> feedback/
    course-grade export   [--output grades.csv]
    course-grade report   ASSIGNMENT [--output DIR]                 # the class report

``DIR`` holds ``<student>/<assignment>/<notebook>.ipynb`` (default: the course's ``submitted/``).
The run prints a table of the points of every student per function, with flags, and writes the
same to ``--report``; then it writes the class report (``report``: per graded function, how many
students earned full marks, lost the points or were flagged, the most frequent failed properties
and the score distribution) to ``autograded/class-report-ASSIGNMENT.{csv,html}`` and prints its
path. ``autograde`` exits with status 0 when every student was graded without a flag, 1 when
some were flagged, 2 when it could not grade; ``release`` and ``feedback`` print ``ok`` or
``FAILED`` per assignment or student and exit with 1 when anything failed.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from course_lib.grading import classreport, course, export, feedback, release, report, runner, sandbox


def _quiet_gradebook_warnings() -> None:
    """nbgrader 0.9's gradebook models make SQLAlchemy 2 print a dozen ``SAWarning`` lines per run."""
    import warnings
    try:
        from sqlalchemy.exc import SAWarning
    except ImportError:
        return
    warnings.filterwarnings("ignore", category=SAWarning)


def main(argv: Optional[Sequence[str]] = None) -> int:
    _quiet_gradebook_warnings()
    parser = argparse.ArgumentParser(prog="course-grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: here)")
        return sub

    sub = command("release", "regenerate the student versions (assignments/) from solutions/")
    sub.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    sub.add_argument("--all", action="store_true", help="every assignment in the source folder")
    sub = command("autograde", "grade every submission of an assignment, each student in a sandbox")
    sub.add_argument("assignment", metavar="ASSIGNMENT")
    sub.add_argument("--submitted", type=Path, help="folder of <student>/<assignment>/ (default: submitted/)")
    sub.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="students graded at once (default: cores)")
    sub.add_argument("--report", type=Path, help="write the report to this CSV file")
    sub.add_argument("--isolation", default="auto", choices=("auto", *sandbox.MODES))
    sub.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    sub.add_argument("--all-cells", action="store_true",
                     help="also run the cells after the last graded cell (demos; no grade depends on them)")
    sub.add_argument("--student", nargs="+", default=(), help="only these students")
    sub.add_argument("--cell-timeout", type=float, help="seconds per cell (default: the course's Execute.timeout)")
    sub.add_argument("--timeout", type=float, default=600, help="seconds per notebook (default: 600)")
    sub.add_argument("--memory", type=float, default=3, help="GiB of memory per student (default: 3)")
    sub.add_argument("--max-output", type=float, default=2, help="MiB of cell outputs kept per notebook (default: 2)")
    sub = command("feedback", "write HTML feedback (feedback/) for the autograded submissions")
    sub.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    sub.add_argument("--all", action="store_true", help="every assignment in the source folder")
    sub.add_argument("--student", nargs="+", default=(), help="only these students")
    sub = command("export", "write the grades CSV (status, points per function, score, flags)")
    sub.add_argument("--output", type=Path, default=Path("grades.csv"), help="default: grades.csv")
    sub = command("report", "write the class report of an assignment (what the class got wrong)")
    sub.add_argument("assignment", metavar="ASSIGNMENT")
    sub.add_argument("--output", type=Path, help="folder for class-report-ASSIGNMENT.{csv,html} (default: autograded/)")
    args = parser.parse_args(argv)
    if args.command in ("release", "feedback"):
        root = args.root.resolve()
        names = course.assignments(root, args.assignments, args.all)
        if args.command == "release":
            return 0 if release.release(root, names) else 1
        return 0 if feedback.feedback(root, names, args.student) else 1
    if args.command == "export":
        export.export(args.root.resolve(), args.output)
        return 0
    if args.command == "report":
        return 0 if _class_report(args.root, args.assignment, args.output) else 2
    limits = None
    if args.cell_timeout or args.timeout != 600 or args.memory != 3 or args.max_output != 2:
        _, config = course.course_directory(args.root.resolve())
        limits = sandbox.Limits(cell_timeout=args.cell_timeout or float(config.get("Execute", {}).get("timeout", 60)),
                                notebook_timeout=args.timeout, memory=int(args.memory * sandbox.GIB),
                                output=int(args.max_output * 1024 ** 2))
    try:
        results = runner.autograde(args.root, args.assignment, args.submitted, args.jobs, args.isolation, limits,
                                   args.force, args.student, all_cells=args.all_cells)
    except (runner.GradingError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.table(results))
    if args.report:
        report.write_csv(results, args.report)
        print(f"wrote {args.report}")
    _class_report(args.root, args.assignment)
    return 1 if any(r.flags for r in results) else 0


def _class_report(root: Path, assignment: str, output: Optional[Path] = None) -> bool:
    written = classreport.report(root, assignment, output)
    if written is None:
        print(f"{assignment}: nobody graded yet, no class report", file=sys.stderr)
        return False
    summary, csv_path, html_path = written
    print(f"\nclass report of {assignment} ({summary.students} students):")
    print("\n".join("  " + line for line in classreport.lines(summary)))
    print(f"class report: {html_path.resolve().as_uri()} (and {csv_path})")
    return True


if __name__ == "__main__":
    sys.exit(main())
