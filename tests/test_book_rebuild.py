"""A rebuild reflects the current code (issue 10, item 4), executed notebooks are offered for
download (item 5) and MathJax is served from the book itself (item 1).

The build tests use a temporary copy of the course root (its _config.yml, _ext/, course_lib/,
requirements.txt and pyproject.toml) with a table of contents of two tiny pages, so each build
takes seconds: one notebook imports ``course_lib.config``, the other imports nothing of the course.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "_ext"))
import course_book  # noqa: E402


def _notebook(code: str) -> dict:
    return {
        "cells": [
            {"cell_type": "markdown", "id": "title", "metadata": {},
             "source": "# A tiny page\n\nInline maths $\\boldsymbol\\mu = \\operatorname{E}[\\mathbf{x}]$ and\n\n"
                       "$$\n\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}\n$$\n"},
            {"cell_type": "code", "id": "run", "metadata": {}, "execution_count": None, "outputs": [],
             "source": code},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


USES_LIBRARY = "import uuid\nfrom course_lib.config import get_budget\nprint('RUN', uuid.uuid4().hex)\n"
PLAIN = "import uuid\nprint('RUN', uuid.uuid4().hex)\n"


@pytest.fixture
def tiny_course(tmp_path):
    root = tmp_path / "course"
    root.mkdir()
    for name in ("_config.yml", "requirements.txt", "pyproject.toml"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "_ext", root / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "course_lib", root / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "book").mkdir()
    (root / "book" / "intro.md").write_text("# Intro\n\nThe maths $a^2 + b^2 = c^2$.\n")
    (root / "book" / "uses_library.ipynb").write_text(json.dumps(_notebook(USES_LIBRARY)))
    (root / "book" / "plain.ipynb").write_text(json.dumps(_notebook(PLAIN)))
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/uses_library\n  - file: book/plain\n")
    return root


def build(root: Path, budget: str = "smoke") -> Path:
    env = dict(os.environ, COURSE_BUDGET=budget, PYTHONDONTWRITEBYTECODE="1")
    cmd = [str(BIN / "jupyter-book"), "build", str(root), "--builder", "html", "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, "build failed:\n" + (proc.stdout + proc.stderr)[-4000:]
    return root / "_build" / "html"


def run_ids(html: Path) -> dict:
    """The id each notebook printed when it was last executed."""
    ids = {}
    for page in ("uses_library", "plain"):
        found = re.findall(r"RUN ([0-9a-f]{32})", (html / "book" / f"{page}.html").read_text())
        assert len(found) == 1, f"{page}: expected one printed run id, found {found}"
        ids[page] = found[0]
    return ids


def append_comment(path: Path) -> None:
    path.write_text(path.read_text() + "\n# edited by the rebuild test\n")


@pytest.mark.slow
def test_a_library_edit_re_executes_the_notebooks_that_import_it(tiny_course):
    html = build(tiny_course)
    first = run_ids(html)

    # Nothing changed: both notebooks come from the cache.
    assert run_ids(build(tiny_course)) == first

    # A module the library notebook does not import (nor anything it imports): still cached.
    unrelated = next(p for p in (tiny_course / "course_lib").rglob("*.py")
                     if p not in course_book.notebook_dependencies(tiny_course / "book" / "uses_library.ipynb",
                                                                    tiny_course))
    append_comment(unrelated)
    assert run_ids(build(tiny_course)) == first, f"editing {unrelated.name} re-executed a notebook that does not import it"

    # The module it imports: re-executed; the notebook without course_lib imports stays cached.
    append_comment(tiny_course / "course_lib" / "config.py")
    second = run_ids(build(tiny_course))
    assert second["uses_library"] != first["uses_library"], "a library edit was served from the cache"
    assert second["plain"] == first["plain"]

    # requirements.txt (the installed packages) and the budget concern every notebook.
    append_comment(tiny_course / "requirements.txt")
    third = run_ids(build(tiny_course))
    assert third["uses_library"] != second["uses_library"] and third["plain"] != second["plain"]
    fourth = run_ids(build(tiny_course, budget="cpu"))
    assert fourth["uses_library"] != third["uses_library"] and fourth["plain"] != third["plain"]


@pytest.mark.slow
def test_executed_notebooks_download_and_offline_mathjax(tiny_course):
    html = build(tiny_course)
    page = (html / "book" / "uses_library.html").read_text()
    # Item 5: the executed notebook (with outputs) is in the HTML output and in the download menu.
    executed = html / course_book.EXECUTED_DIR / "book" / "uses_library.ipynb"
    assert executed.exists()
    outputs = [o for c in json.loads(executed.read_text())["cells"] for o in c.get("outputs", [])]
    assert any("RUN" in "".join(o.get("text", "")) for o in outputs), "the downloadable notebook has no outputs"
    assert "btn-download-executed-notebook-button" in page
    assert f"../{course_book.EXECUTED_DIR}/book/uses_library.ipynb" in page
    # Item 1: MathJax comes from the book, never from a CDN.
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
    for name in ("intro", "book/uses_library"):
        text = (html / f"{name}.html").read_text() if name != "intro" else (html / "book" / "intro.html").read_text()
        scripts = re.findall(r'<script[^>]+src="([^"]+)"', text)
        assert any(s.endswith("_static/mathjax/tex-chtml.js") for s in scripts), scripts
        assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], f"{name} loads scripts from the network: {scripts}"


def test_chapter_dependencies_follow_imports():
    """The fingerprint of a chapter covers the course_lib modules it imports, transitively."""
    chapter = REPO / "book" / "01_generative_modeling.ipynb"
    deps = {p.relative_to(REPO).as_posix() for p in course_book.notebook_dependencies(chapter, REPO)}
    assert {"course_lib/__init__.py", "course_lib/config.py", "requirements.txt"} <= deps
    assert any(d.startswith("course_lib/results") for d in deps) and any(d.startswith("course_lib/data") for d in deps)
    assert not any(d.startswith("course_lib/grading") for d in deps), "chapter 1 does not import the autograder"


def test_relative_imports_are_resolved():
    names = course_book.imported_names("from .config import x\nfrom . import data\nfrom ..b import c",
                                       "course_lib.training.loop")
    assert {"course_lib.training.config", "course_lib.training.data", "course_lib.b.c"} <= names
    names = course_book.imported_names("from .loop import fit", "course_lib.training", is_package=True)
    assert "course_lib.training.loop.fit" in names and "course_lib.training.loop" in names
