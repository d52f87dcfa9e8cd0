"""Time `course-grade autograde` on a synthetic class: serial (--jobs 1) against parallel (--jobs N).

    python benchmarks/grading_benchmark.py [--students 100] [--assignment gan] [--jobs 2]

Builds a temporary course (this repo's nbgrader_config.py and solutions/<assignment>), submits
``--students`` notebooks (every fourth one with a mistake from tests/mistakes/<assignment>.py, the
others the solution or a correct variant), grades them all once with one job and once (``--force``)
with ``--jobs`` jobs, and prints wall time, time per submission, the speed-up and the peak resident
memory of the grader and its sandboxes together (sampled every 0.2 s).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

REPO = Path(__file__).resolve().parents[1]


def _bank(assignment):
    spec = importlib.util.spec_from_file_location("bank", REPO / "tests" / "mistakes" / f"{assignment}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_course(root: Path, assignment: str, students: int) -> None:
    from course_lib.grading.release import release as release_assignments

    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
    with contextlib.redirect_stdout(io.StringIO()):
        assert release_assignments(root, [assignment])
    release = nbformat.read(root / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    source = {c.id: c.source for c in nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb",
                                                    as_version=4).cells}
    bank = _bank(assignment)
    mistakes = [(f, s) for f, ms in bank.MISTAKES.items() for s, _ in ms.values()]
    for i in range(students):
        replacements = {}
        if i % 4 == 3:
            function, code = mistakes[i % len(mistakes)]
            replacements[function] = code
        elif i % 4 == 1:
            replacements = dict(bank.CORRECT_VARIANTS)
        nb = nbformat.reads(nbformat.writes(release), as_version=4)
        for cell in nb.cells:
            if cell.get("id", "").endswith("_code"):
                f = cell.id.removesuffix("_code")
                cell.source = replacements.get(f, "\n".join(ln for ln in source[cell.id].splitlines() if "### " not in ln))
        folder = root / "submitted" / f"student{i:03d}" / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")


class PeakMemory(threading.Thread):
    """Peak resident memory of this process and all its descendants."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = 0, True

    def run(self):
        me = psutil.Process()
        while self.running:
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.2)


def timed(root: Path, assignment: str, jobs: int, force: bool) -> tuple[float, int, list]:
    from course_lib.grading import runner

    meter = PeakMemory()
    meter.start()
    start = time.perf_counter()
    results = runner.autograde(root, assignment, jobs=jobs, force=force, log=lambda *_: None)
    seconds = time.perf_counter() - start
    meter.running = False
    meter.join()
    return seconds, meter.peak, results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--assignment", default="gan")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        root = Path(tmp)
        make_course(root, args.assignment, args.students)
        rows = []
        for jobs, force in ((1, False), (args.jobs, True)):
            seconds, peak, results = timed(root, args.assignment, jobs, force)
            assert len(results) == args.students and not any(r.skipped for r in results)
            flagged = sum(bool(r.flags) for r in results)
            rows.append((jobs, seconds, peak, flagged))
            print(f"--jobs {jobs}: {seconds:.1f} s for {args.students} submissions, {seconds / args.students:.2f} s per "
                  f"submission, peak memory {peak / 2**30:.2f} GiB, {flagged} flagged", flush=True)
        print(f"speed-up of --jobs {args.jobs} over --jobs 1: {rows[0][1] / rows[1][1]:.2f}x "
              f"on {os.cpu_count()} cores (load average now {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
