"""One grading package and one command (issue 13 item 1).

Everything that grades lives in course_lib/grading/ (the kernel side in course_lib/grading/kernel/);
`course-grade` has the subcommands release, autograde, feedback, export and report, and the Makefile
and the docs use nothing else; no grading module imports another's private helper; tampering is
recognised by the guard's exception class, not by the text of its message.
"""
import ast
import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.grading import cli

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_lib" / "grading"
SUBCOMMANDS = ("release", "autograde", "feedback", "export", "report")


def test_course_grade_lists_the_five_subcommands():
    script = Path(sys.executable).parent / "course-grade"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "course_lib.grading.cli"]
    run = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    listed = run.stdout.split("positional arguments:")[1]
    for name in SUBCOMMANDS:
        assert name in listed, (name, run.stdout)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        cli.main([name, "--help"])
    assert exit_.value.code == 0
    assert "--root" in out.getvalue()


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield path, ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def test_no_grading_module_imports_a_private_name_of_another():
    offences = []
    for path, module in _modules():
        tree = ast.parse(path.read_text())
        imported_modules = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _absolute(module, node, path.name == "__init__.py")
                for alias in node.names:
                    if alias.name.startswith("_") and source != "__future__":
                        offences.append(f"{module} imports {alias.name} from {source}")
                    if source.startswith("course_lib"):
                        imported_modules[alias.asname or alias.name] = f"{source}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("course_lib"):
                        imported_modules[alias.asname or alias.name.split(".")[0]] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in imported_modules):
                offences.append(f"{module} uses {node.value.id}.{node.attr}")
    assert not offences, offences


OLD_PATHS = ("course_lib.grading_torch", "grading_torch_checks", "course_lib.autograde", "course_lib/autograde",
             "python -m course_lib.grading ", "course_lib.grading import call", "course_lib.grading import check")


def test_nothing_uses_the_old_module_paths():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in tracked:
        path = ROOT / name
        if name == "tests/test_grading_layout.py" or path.suffix not in (".py", ".ipynb", ".md", ".toml", ".txt", ".cfg",
                                                                         ".yml", ".yaml", "") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        found += [f"{name}: {old}" for old in OLD_PATHS if old in text]
    assert not found, found


def test_makefile_instructor_targets_use_only_course_grade():
    lines = (ROOT / "Makefile").read_text().splitlines()
    for target in ("assignments", "autograde", "feedback", "grades"):
        start = lines.index(next(line for line in lines if line.startswith(f"{target}:")))
        recipe = []
        for line in lines[start + 1:]:
            if not line.startswith("\t"):
                break
            recipe.append(line)
        commands = [line for line in recipe if "$(BIN)/" in line]
        assert commands and all("$(BIN)/course-grade " in line for line in commands), (target, recipe)
        assert not any("course_lib.grading" in line or "nbgrader " in line for line in recipe), (target, recipe)


def test_tampering_is_flagged_by_the_guards_exception_class_not_its_text():
    import nbformat

    from course_lib.grading import scoring
    from course_lib.grading.kernel import TamperingDetected

    def notebook(output):
        cell = nbformat.v4.new_code_cell("pass")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": "f", "points": 1, "solution": False, "locked": True}
        cell.outputs = [output]
        return nbformat.v4.new_notebook(cells=[cell])

    guard = notebook(nbformat.v4.new_output("error", ename=TamperingDetected.__name__,
                                            evalue="f earns 0 of 1 points: ...", traceback=[]))
    assert scoring.TAMPERING in scoring.score(guard, {0: "error"}, {"f": 1.0}, None, {}, set()).flags
    words = notebook(nbformat.v4.new_output("stream", name="stdout", text="the notebook replaced torch.allclose\n"))
    assert scoring.score(words, {0: "ok"}, {"f": 1.0}, None, {}, set()).flags == []


def test_a_switched_off_reference_raises_the_guards_marker():
    from course_lib import losses
    from course_lib.grading.kernel import CheckFailed, ReferenceCalled, call, forbidden_calls

    import torch

    with forbidden_calls(["course_lib.losses"]):
        with pytest.raises(ReferenceCalled):
            losses.kl_divergence(torch.zeros(1, 2), torch.zeros(1, 2))
        with pytest.raises(CheckFailed, match="calls course_lib's implementation"):
            call(lambda: losses.kl_divergence(torch.zeros(1, 2), torch.zeros(1, 2)), "kl")
    assert float(losses.kl_divergence(torch.zeros(1, 2), torch.zeros(1, 2))) == 0.0


def test_tampering_keeps_its_class_through_run_hidden_tests():
    from course_lib.grading.kernel import TamperingDetected, run_hidden_tests

    namespace = {"__name__": "__main__"}
    exec("def f():\n    return 1\n", namespace)

    def tests(fn):
        raise TamperingDetected("the notebook replaced torch.allclose")

    with pytest.raises(TamperingDetected, match="f earns 0 of 1 points: the notebook replaced"):
        run_hidden_tests("f", namespace, tests, points=1, forbidden=[])
