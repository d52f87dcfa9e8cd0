"""One class, both graders, side by side: plain `nbgrader autograde` against `course-grade autograde`.

    python benchmarks/grading_vs_nbgrader.py [--assignments vae gan] [--students 100] [--jobs 2] [--out FILE.json]

For each assignment this builds a temporary course (this repo's nbgrader_config.py and
solutions/<assignment>) with ``--students`` submissions made as benchmarks/grading_benchmark.py
makes them (every fourth with a mistake from tests/mistakes/<assignment>.py, every fourth a correct
variant, the rest the solution; `naive_bayes` has no mistakes bank, so its class is all solutions),
copies it, and grades one copy with plain nbgrader, as an instructor who does not use course-grade
would (`nbgrader autograde ASSIGNMENT`: one process, one student at a time, every cell run), and
the other with `course-grade autograde ASSIGNMENT --jobs N` (sandboxed, fork server, cells after
the last graded one skipped). Both kernels get the same environment (smoke budget, offline data,
one thread). It prints and saves the wall time of each, the ratio, and every student whose total
score differs between the two (there should be none). Quote it only from a quiet machine.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from grading_benchmark import make_course  # noqa: E402

ASSIGNMENTS = ("naive_bayes", "vae", "gan", "wgan_gp", "cyclegan")
BIN = Path(sys.executable).parent
KERNEL_ENV = {"COURSE_BUDGET": "smoke", "COURSE_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONDONTWRITEBYTECODE": "1"}


def _course(root: Path, assignment: str, students: int) -> None:
    if (REPO / "tests" / "mistakes" / f"{assignment}.py").is_file():
        make_course(root, assignment, students)
        return
    import contextlib
    import io

    from course_lib.grading.release import release

    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
    with contextlib.redirect_stdout(io.StringIO()):
        assert release(root, [assignment])
    for i in range(students):
        folder = root / "submitted" / f"student{i:03d}" / assignment
        folder.mkdir(parents=True)
        shutil.copy(root / "solutions" / assignment / f"{assignment}.ipynb", folder)


def _nbgrader_scores(root: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "gdl-course") as gb:
        return {s.student_id: float(s.score) for s in gb.assignment_submissions(assignment)}


def side_by_side(assignment: str, students: int, jobs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"vs-nbgrader-{assignment}-") as tmp:
        ours, theirs = Path(tmp) / "course-grade", Path(tmp) / "nbgrader"
        ours.mkdir()
        _course(ours, assignment, students)
        shutil.copytree(ours, theirs)
        env = {**os.environ, **KERNEL_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        start = time.perf_counter()
        done = subprocess.run([str(BIN / "nbgrader"), "autograde", assignment], cwd=theirs, env=env,
                              capture_output=True, text=True)
        nbgrader_s = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"nbgrader autograde failed:\n{done.stderr[-3000:]}")
        report = Path(tmp) / "report.csv"
        start = time.perf_counter()
        done = subprocess.run([str(BIN / "course-grade"), "autograde", assignment, "--root", str(ours),
                               "--jobs", str(jobs), "--report", str(report)], cwd=ours, env=env,
                              capture_output=True, text=True)
        course_grade_s = time.perf_counter() - start
        if done.returncode not in (0, 1):
            raise SystemExit(f"course-grade autograde failed:\n{done.stderr[-3000:]}")
        with open(report, newline="") as f:
            rows = {row["student_id"]: row for row in csv.DictReader(f)}
        theirs_scores = _nbgrader_scores(theirs, assignment)
        differ = {s: {"nbgrader": theirs_scores.get(s), "course-grade": float(rows[s]["score"]),
                      "flags": rows[s]["flags"], "notes": rows[s]["notes"][:300]}
                  for s in rows if theirs_scores.get(s) != float(rows[s]["score"])}
        return {"assignment": assignment, "students": students, "jobs": jobs,
                "nbgrader autograde s": round(nbgrader_s, 1), "course-grade s": round(course_grade_s, 1),
                "nbgrader s per submission": round(nbgrader_s / students, 2),
                "course-grade s per submission": round(course_grade_s / students, 2),
                "ratio": round(nbgrader_s / course_grade_s, 2), "scores differ": differ,
                "mean score": round(sum(theirs_scores.values()) / max(1, len(theirs_scores)), 3),
                "load average after": round(os.getloadavg()[0], 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", nargs="+", default=list(ASSIGNMENTS), choices=ASSIGNMENTS)
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="append each assignment's result to this JSON file")
    args = parser.parse_args(argv)
    results = json.loads(args.out.read_text()) if args.out and args.out.is_file() else []
    for assignment in args.assignments:
        result = side_by_side(assignment, args.students, args.jobs)
        print(json.dumps(result), flush=True)
        results.append(result)
        if args.out:
            args.out.write_text(json.dumps(results, indent=1))
    print("\n| assignment | students | nbgrader autograde (s) | course-grade --jobs 2 (s) | ratio | scores differ |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['assignment']} | {r['students']} | {r['nbgrader autograde s']} | {r['course-grade s']} | "
              f"{r['ratio']}x | {len(r['scores differ'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
