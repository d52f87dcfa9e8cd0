"""`pip install .[grading]` gives a working `course-grade` in a fresh environment (issue 12, bug 7).

A wheel of course_lib is installed into a fresh virtual environment that sees *only* the
distributions that course_lib and its `grading` extra declare, with their own dependencies
(resolved from the installed metadata of this test's environment and linked into one folder, since
downloading torch afresh would take minutes and gigabytes). Nothing else of the test environment is
visible, so an import the declarations miss fails here as it would for an instructor.
"""
import importlib.metadata as metadata
import os
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from fresh_env import REPO, build_wheel, fresh_environment, install_wheel

def _closure(requirements):
    """Every installed distribution the requirements need, transitively, with markers evaluated."""
    seen, done, todo = {}, set(), [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in done:
            continue
        done.add(key)
        dist = metadata.distribution(req.name)  # PackageNotFoundError: a declared package is missing
        seen[key[0]] = dist
        for spec in dist.requires or ():
            sub = Requirement(spec)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                todo.append(sub)
    return seen


def _link_tree(source: Path, target: Path) -> None:
    """Symlink ``source`` at ``target``; where a folder is already there (a namespace package), merge."""
    if not target.exists():
        target.symlink_to(source)
    elif source.is_dir() and target.is_dir():
        if target.is_symlink():  # turn the earlier link into a real folder of links
            earlier = Path(os.readlink(target))
            target.unlink()
            target.mkdir()
            for child in earlier.iterdir():
                (target / child.name).symlink_to(child)
        for child in source.iterdir():
            _link_tree(child, target / child.name)


def _top_level_entries(dist) -> set:
    entries = set()
    for file in dist.files or ():
        first = Path(file).parts[0]
        if first not in ("..", "__pycache__"):
            entries.add(first)
    return entries


@pytest.mark.slow
def test_grading_extra_installs_a_working_course_grade(tmp_path):
    import tomllib
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = _closure(project["dependencies"] + project["optional-dependencies"]["grading"])

    deps = tmp_path / "deps"
    deps.mkdir()
    for dist in needed.values():
        root = Path(dist.locate_file(""))
        for entry in _top_level_entries(dist):
            if (root / entry).exists():
                _link_tree(root / entry, deps / entry)

    fresh = fresh_environment(tmp_path)
    fresh.see(deps, "_declared_deps")
    install_wheel(fresh, build_wheel(tmp_path))
    venv, python, purelib = fresh.venv, fresh.python, fresh.purelib

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}:{os.environ['PATH']}"
    script = venv / "bin" / "course-grade"
    assert script.exists(), "installing the wheel did not create the course-grade command"
    help_run = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=300)
    assert help_run.returncode == 0, help_run.stdout[-2000:] + help_run.stderr[-2000:]
    assert "autograde" in help_run.stdout

    # --help imports only the command line; every grader module must import too.
    package = REPO / "course_lib" / "grading"
    modules = sorted({"course_lib." + ".".join(p.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
                      for p in package.rglob("*.py")} | {"nbgrader.apps", "ipykernel.kernelapp"})
    assert {"course_lib.grading.kernel.guard", "course_lib.grading.probes.vae", "course_lib.grading.cli"} <= set(modules)
    probe = ("import importlib, sys\n"
             f"for name in {modules!r}:\n"
             "    importlib.import_module(name)\n"
             "import course_lib\n"
             "print('FROM', course_lib.__file__)\n")
    import_run = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path,
                                timeout=300)
    assert import_run.returncode == 0, import_run.stderr[-3000:]
    where = Path(import_run.stdout.split("FROM")[1].split()[0])
    assert purelib in where.parents, f"course_lib was imported from {where}, not from the fresh environment"
