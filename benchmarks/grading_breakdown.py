"""Where a graded submission's time goes, per assignment (issue 13: measure before cutting).

    python benchmarks/grading_breakdown.py [--assignments gan vae] [--repeats 1]

For each assignment this runs the instructor's solution notebook the way the sandboxed grader
runs a submission (smoke budget, offline, one fresh kernel), outside the sandbox, timing:

- ``kernel start``: starting the kernel until it answers;
- ``imports``: ``import torch, matplotlib.pyplot, course_lib.training`` as a cell of its own before the notebook;
- ``answer cells``: the cells students write (nbgrader ``solution`` cells);
- ``test cells``: visible and hidden tests (nbgrader ``grade`` cells);
- ``other cells``: the given cells that are neither (data loading, demos, training at the smoke budget);
- ``probes``: the outside check, ``course_lib.grading.probe.run_probes`` for every probed function.

and then grades copies of the same notebook with ``course-grade autograde --jobs 1`` in a
temporary course, once for 1 student and once for ``--students`` students: the difference gives
the grader's cost per additional submission (sandbox set-up, kernel, notebook, probes, scoring,
gradebook) and the rest its fixed cost per run (release checks, the reference run of the
solution for the outside check). Quote these numbers only from a quiet machine.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("naive_bayes", "vae", "gan", "wgan_gp", "cyclegan")


def _kind(cell) -> str:
    meta = cell.metadata.get("nbgrader", {})
    if meta.get("solution") and not meta.get("grade"):
        return "answer cells"
    if meta.get("grade") and not meta.get("solution"):
        return "test cells"
    return "other cells"


def breakdown(assignment: str) -> dict:
    """Seconds per part for one run of ``solutions/<assignment>`` in a fresh kernel."""
    from course_lib.grading.runner import _probe_sources  # the same probe cells the grader appends

    folder = REPO / "solutions" / assignment
    nb = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    env = {**os.environ, "COURSE_BUDGET": "smoke", "COURSE_OFFLINE": "1", "MPLBACKEND": "Agg"}
    work = Path(tempfile.mkdtemp(prefix=f"breakdown-{assignment}-"))
    shutil.copytree(folder, work, dirs_exist_ok=True)
    env["COURSE_RESULTS_DIR"] = str(work)
    times = {"kernel start": 0.0, "imports": 0.0, "answer cells": 0.0, "test cells": 0.0,
             "other cells": 0.0, "probes": 0.0}
    start = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(work))
    times["kernel start"] = time.perf_counter() - start
    try:
        client = NotebookClient(nb, km=km, kc=kc, timeout=600, allow_errors=False)
        client.kc = kc
        nb.cells.insert(0, nbformat.v4.new_code_cell("import torch, matplotlib.pyplot, course_lib.training"))
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t = time.perf_counter()
            client.execute_cell(cell, index)
            times["imports" if index == 0 else _kind(cell)] += time.perf_counter() - t
        for _, source in _probe_sources(assignment):
            cell = nbformat.v4.new_code_cell(source)
            nb.cells.append(cell)
            t = time.perf_counter()
            client.execute_cell(cell, len(nb.cells) - 1)
            times["probes"] += time.perf_counter() - t
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        shutil.rmtree(work, ignore_errors=True)
    times["total (no sandbox)"] = sum(times.values())
    return times


def course_grade(assignment: str, students: int) -> float:
    """Wall seconds of ``course-grade autograde --jobs 1`` for ``students`` copies of the solution (a fresh course)."""
    from course_lib.grading.release import release

    root = Path(tempfile.mkdtemp(prefix=f"breakdown-course-{assignment}-"))
    try:
        shutil.copy(REPO / "nbgrader_config.py", root)
        shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
        assert release(root, [assignment])
        for i in range(students):
            target = root / "submitted" / f"student{i:03d}" / assignment
            target.mkdir(parents=True)
            shutil.copy(REPO / "solutions" / assignment / f"{assignment}.ipynb", target)
        command = [str(Path(sys.executable).with_name("course-grade")), "autograde", assignment, "--root", str(root),
                   "--submitted", str(root / "submitted"), "--jobs", "1", "--report", str(root / "report.csv")]
        t = time.perf_counter()
        subprocess.run(command, check=False, capture_output=True, text=True)
        return time.perf_counter() - t
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", nargs="+", default=list(ASSIGNMENTS), choices=ASSIGNMENTS)
    parser.add_argument("--students", type=int, default=4, help="class size of the second course-grade run")
    args = parser.parse_args()
    rows = {}
    for assignment in args.assignments:
        rows[assignment] = breakdown(assignment)
        one, many = course_grade(assignment, 1), course_grade(assignment, args.students)
        rows[assignment]["course-grade per submission"] = (many - one) / (args.students - 1)
        rows[assignment]["course-grade fixed per run"] = one - rows[assignment]["course-grade per submission"]
        print(assignment, {k: round(v, 2) for k, v in rows[assignment].items()}, flush=True)
    columns = list(next(iter(rows.values())))
    print("\n| assignment | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for assignment, times in rows.items():
        print(f"| {assignment} | " + " | ".join(f"{times[c]:.1f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
