"""Test-wide settings: every test (and every notebook kernel a test starts, which inherits this
process's environment) runs with the smoke compute budget and without trying the network."""
import os
from pathlib import Path

import pytest

os.environ["COURSE_BUDGET"] = "smoke"
os.environ["COURSE_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
