"""Test-wide settings, at the repo root so they also apply to `pytest book/`.

Every test, and every notebook kernel a test starts (kernels inherit this process's environment),
runs with the smoke compute budget and without trying the network.
"""
import os
import tempfile
from pathlib import Path

import pytest

os.environ["COURSE_BUDGET"] = "smoke"
os.environ["COURSE_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
# Chapters record their results; keep the test runs' records out of the book's _build folder.
os.environ["COURSE_RESULTS_DIR"] = tempfile.mkdtemp(prefix="course-results-")
os.environ["COURSE_CHECKPOINT_DIR"] = tempfile.mkdtemp(prefix="course-checkpoints-")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

REPO_ROOT = Path(__file__).resolve().parent

# Notebooks under tests/ are fixtures (submissions to grade), not notebooks for nbval to run.
collect_ignore_glob = ["tests/**/*.ipynb", "tests/*.ipynb", "solutions/*", "assignments/*"]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
