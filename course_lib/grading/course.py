"""The course as nbgrader sees it, for the grader's commands: its directories, its assignments, and
one nbgrader converter run for one assignment (and student).

Shared by :mod:`.release`, :mod:`.feedback`, :mod:`.export` and :mod:`.runner`; nbgrader is imported
only when a function needs it (it takes seconds).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import List, Sequence

__all__ = ["course_directory", "assignments", "run_converter", "print_outcome"]


def course_directory(root: Path, **attrs):
    """``(CourseDirectory, config)`` of the course at ``root`` (the folder holding ``nbgrader_config.py``)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    if not (root / "nbgrader_config.py").is_file():
        sys.exit(f"error: {root} has no nbgrader_config.py; run from the course root or pass --root")
    # nbgrader runs the `alembic` command when it creates a gradebook: find the one next to this Python.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return CourseDirectory(config=config, **attrs), config


def assignments(root: Path, names: Sequence[str], use_all: bool) -> List[str]:
    """The assignments named (or every one in the source folder with ``use_all``); exit on an unknown name."""
    source = root / course_directory(root)[0].source_directory
    available = sorted(p.parent.name for p in source.glob("*/*.ipynb"))
    if use_all == bool(names):
        sys.exit("error: name one or more assignments, or pass --all (not both)")
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.exit(f"error: no assignment {unknown} in {source}; available: {available}")
    return sorted(set(available if use_all else names))


def run_converter(converter, root: Path, assignment: str, student: str = ".", force: bool = True, **config) -> dict:
    """Run one nbgrader converter (``GenerateAssignment``, ``Autograde``, ``GenerateFeedback``) for one
    assignment (and student) in this process; returns nbgrader's result dict (``success``, ``log``, ``error``)."""
    from nbgrader.utils import capture_log

    coursedir, cfg = course_directory(root, assignment_id=assignment, student_id=student)
    for key, value in config.items():
        setattr(coursedir, key, value)
    app = converter(coursedir=coursedir, config=cfg)
    app.force = force
    return capture_log(app)


def print_outcome(label: str, result: dict) -> bool:
    """Print ``ok``/``FAILED`` for one converter run, with the first exception behind a failure."""
    if result["success"]:
        print(f"ok      {label}")
        return True
    text = result.get("log", "") + "\n" + result.get("error", "")
    causes = [ln.strip() for ln in text.splitlines() if re.match(r"\s*[\w.]+(Error|Exception): ", ln)]
    causes = [c for c in causes if "see the the above traceback" not in c] or text.strip().splitlines()[-1:]
    print(f"FAILED  {label}: {causes[0]}")
    return False
