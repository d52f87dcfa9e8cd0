"""The `grading` extra declares every third-party package the grader imports (issue 12, bug 7)."""
import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRADER_FILES = sorted((ROOT / "course_lib" / "grading").rglob("*.py"))
# import name -> distribution name, where they differ
DISTRIBUTION = {"sklearn": "scikit-learn"}
# imported by the kernel the grader launches (`python -m ipykernel_launcher`), not by an import statement
LAUNCHED = {"ipykernel"}


def _requirement_names(requirements):
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower().replace("-", "_") for r in requirements}


def _third_party_imports():
    names = set()
    for path in GRADER_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "course_lib"}


def test_grading_extra_covers_every_grader_import():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _requirement_names(project["dependencies"]) | _requirement_names(
        project["optional-dependencies"]["grading"])
    needed = {DISTRIBUTION.get(n, n).lower().replace("-", "_") for n in _third_party_imports()} | LAUNCHED
    missing = needed - declared
    assert not missing, f"course-grade imports {sorted(missing)} but pyproject.toml does not declare them"
    for name in ("nbgrader", "nbformat", "nbclient", "jupyter_client", "psutil"):
        assert name in _requirement_names(project["optional-dependencies"]["grading"])


def test_course_grade_entry_point_resolves():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module, _, func = project["scripts"]["course-grade"].partition(":")
    import importlib
    assert callable(getattr(importlib.import_module(module), func))
