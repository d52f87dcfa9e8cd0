"""The smoke-budget book build shared by the book tests (tests/test_book.py, tests/test_browser.py).

It is built once per test run, even when pytest-xdist runs those files on different workers: the
first worker to ask builds it under a file lock, the others wait and reuse it. With
``COURSE_BOOK_HTML=<folder>`` the tests check an already built book instead (``.ci/run`` points
the browser test at the ``cpu``-budget build in ``_build/html``).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BOOK_HTML_ENV_VAR = "COURSE_BOOK_HTML"


def _build_book(out: Path) -> None:
    # The inline backend, as in `make book` (conftest.py sets MPLBACKEND=Agg, which drops every figure).
    env = dict(os.environ, COURSE_BUDGET="smoke", COURSE_RESULTS_DIR=str(out / "results"),
               COURSE_CHECKPOINT_DIR=str(out / "checkpoints"),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    cmd = [str(BIN / "jupyter-book"), "build", str(REPO), "--path-output", str(out),
           "--builder", "html", "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500)
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log)
    if proc.returncode != 0:
        raise AssertionError("book build failed:\n" + log[-6000:])


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The folder of the built HTML book (``<out>/_build/html``)."""
    given = os.environ.get(BOOK_HTML_ENV_VAR)
    if given:
        html = Path(given).resolve()
        assert (html / "index.html").exists(), f"{BOOK_HTML_ENV_VAR}={given} holds no built book (no index.html)"
        return html
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp("book")
        _build_book(out)
        return out / "_build" / "html"
    from filelock import FileLock

    out = tmp_path_factory.getbasetemp().parent / "smoke-book"
    with FileLock(str(out) + ".lock"):
        ok, failed = out / "BUILD_OK", out / "BUILD_FAILED"
        if failed.exists():
            raise AssertionError(failed.read_text())
        if not ok.exists():
            out.mkdir(parents=True, exist_ok=True)
            try:
                _build_book(out)
            except AssertionError as error:
                failed.write_text(str(error))
                raise
            ok.write_text("")
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def screenshot_dir(built_book) -> Path:
    """Where the browser test saves its screenshots: ``_build/screenshots`` of the book it checks."""
    folder = built_book.parent / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
