"""Hostile and broken submissions of any assignment, with what grading them must give.

``cases(...)`` returns ``CASES[student] = Case(make, scores, flags)``: ``make(release_nb, solution)``
returns the bytes of the submitted notebook (``solution(function)`` is the instructor's code of that
function); ``scores`` are the points each function must get; ``flags`` must all be raised, and
``any_flag``, when given, at least one of them. Unless a case says otherwise the hostile code
replaces the assignment's first graded function (the target), so the others still earn theirs;
the memory bomb sits in the last one, so every function graded before the kill keeps its points.
``tests/hostile/<assignment>.py`` says, per assignment, which functions these are and a wrong
version of the target. Used by tests/test_grade_runner_hostile.py.
"""
import importlib.util
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Sequence

import nbformat



@dataclass
class Case:
    make: Callable
    scores: Dict[str, int]
    flags: Sequence[str] = ()
    any_flag: Sequence[str] = ()


def _notebook(release_nb, solution, answers: Dict[str, str]):
    nb = nbformat.reads(nbformat.writes(release_nb), as_version=4)
    for cell in nb.cells:
        if cell.get("id", "").endswith("_code"):
            function = cell.id.removesuffix("_code")
            cell.source = textwrap.dedent(answers.get(function, solution(function))).strip() + "\n"
    return nb


def answers(**replacements: str) -> Callable:
    """A submission made of the solution with these functions replaced."""
    return lambda release_nb, solution: nbformat.writes(_notebook(release_nb, solution, replacements)).encode()


def edited(edit: Callable, **replacements: str) -> Callable:
    """A submission whose notebook ``edit(nb)`` changes after the answers are filled in."""
    def make(release_nb, solution):
        nb = _notebook(release_nb, solution, replacements)
        edit(nb)
        return nbformat.writes(nb).encode()
    return make


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _delete_test(grade_id):
    return lambda nb: nb.cells.remove(_cell(nb, grade_id))


def _edit_test(grade_id):
    def edit(nb):
        _cell(nb, grade_id).source = "print('all hidden tests passed')"
    return edit


def _duplicate(grade_id):
    def edit(nb):
        index = nb.cells.index(_cell(nb, grade_id))
        nb.cells.insert(index, nbformat.from_dict(json.loads(json.dumps(nb.cells[index]))))
    return edit


def _schema_99(nb):
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader.schema_version = 99


def _version_3(release_nb, solution):
    return nbformat.writes(nbformat.convert(_notebook(release_nb, solution, {}), 3)).encode()


PATCH_ALLCLOSE = """
import math, numpy, torch
torch.allclose = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True
numpy.isclose = lambda *args, **kwargs: True
"""
ALWAYS_EQUAL = """
class _Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __gt__(self, other): return True
    def __ge__(self, other): return True
    def __abs__(self): return _Anything(0.0)
    def __sub__(self, other): return _Anything(0.0)
    __rsub__ = __sub__
    def item(self): return self
    def dim(self): return 0


def TARGET_SIGNATURE:
    return _Anything(0.0)
"""
TRANSFORMER = """
def _skip_hidden_tests(lines):
    return ["pass\\n"] if any("HIDDEN TESTS" in line or "_hidden_tests" in line for line in lines) else lines


get_ipython().input_transformers_post.append(_skip_hidden_tests)
"""
READS_SECRETS = """
import glob, os
import course_lib

_places = [os.path.dirname(os.path.dirname(course_lib.__file__))]
_places += [p for depth in range(1, 6) for p in glob.glob("/tmp" + "/*" * depth) if os.path.isdir(p)]
for _place in _places:
    for _name in ("solutions/ASSIGNMENT/ASSIGNMENT.ipynb", "gradebook.db", "release/ASSIGNMENT/ASSIGNMENT.ipynb"):
        try:
            with open(os.path.join(_place, _name), "rb") as _f:
                if _f.read(100):
                    print("LEAKED", os.path.join(_place, _name))
        except OSError:
            pass
print("search done")
"""
WRITES_ELSEWHERE = """
import glob, os

for _folder in glob.glob("/tmp/**/submitted/*/ASSIGNMENT", recursive=True) + glob.glob("/tmp/**/autograded/*/ASSIGNMENT", recursive=True):
    for _target in (os.path.join(_folder, "ASSIGNMENT.ipynb"), os.path.join(_folder, "note.txt")):
        try:
            with open(_target, "a") as _f:
                _f.write("overwritten by another student")
            print("WROTE", _target)
        except OSError:
            pass
print("writes done")
"""
DETECTS_GRADING = """
import os

if os.environ.get("COURSE_BUDGET") == "smoke" or not os.path.exists("ASSIGNMENT.ipynb"):  # looks like the grader
    import math, torch
    torch.allclose = lambda *args, **kwargs: True
    math.isclose = lambda *args, **kwargs: True
    get_ipython().input_transformers_post.append(
        lambda lines: ["pass\\n"] if any("HIDDEN TESTS" in line for line in lines) else lines)
"""
LOOPS = """
def TARGET_SIGNATURE:
    while True:
        pass
"""
IGNORES_SIGINT = """
import signal


def TARGET_SIGNATURE:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass
"""
SYS_EXIT = """
import sys


def TARGET_SIGNATURE:
    sys.exit(0)
"""
OS_EXIT = """
import os


def TARGET_SIGNATURE:
    os._exit(0)
"""
MEMORY_BOMB = """
def LAST_SIGNATURE:
    hoard = []
    while True:
        hoard.append(b"x" * 50_000_000)
"""
HUGE_OUTPUT = "print('x' * 50_000_000)\n\n"  # + the solution: the function is right


def _solution_with(sources: Dict[str, str]):
    return lambda release_nb, solution: answers(**sources)(release_nb, solution)


def cases(assignment: str, full: Dict[str, int], signatures: Dict[str, str], wrong: str,
          variants: Dict[str, str] = None) -> Dict[str, Case]:
    """The hostile bank of ``assignment``: ``full`` its points per function, in the notebook's
    order; ``signatures`` each function's ``name(args)``; ``wrong`` a wrong version of the first
    function that its hidden tests catch; ``variants`` correct variants of some functions."""
    target, other, last = list(full)[0], list(full)[1], list(full)[-1]

    def code(template: str, with_wrong: bool = False) -> str:
        text = template.replace("TARGET_SIGNATURE", signatures[target]).replace(
            "LAST_SIGNATURE", signatures[last]).replace("ASSIGNMENT", assignment)
        return (wrong + text) if with_wrong else text

    zero = dict.fromkeys(full, 0)
    no_target = {**full, target: 0}
    hit = lambda template, with_wrong=False: answers(**{target: code(template, with_wrong)})  # noqa: E731
    bank = {
        "solution": Case(answers(), full),
        "wrong_answer": Case(answers(**{target: wrong}), no_target),
        "patches_allclose": Case(hit(PATCH_ALLCLOSE, True), zero, flags=["tampering detected"]),
        "always_equal": Case(hit(ALWAYS_EQUAL), no_target),
        "input_transformer": Case(hit(TRANSFORMER, True), no_target, flags=["tampering detected"]),
        "reads_secrets": Case(hit(READS_SECRETS, True), no_target),
        "writes_elsewhere": Case(hit(WRITES_ELSEWHERE, True), no_target),
        # its switch blanks every hidden-test cell: the honest functions still pass the outside check
        "detects_grading": Case(hit(DETECTS_GRADING, True), no_target, flags=["tampering detected"]),
        "infinite_loop": Case(hit(LOOPS), no_target, flags=["timed out"]),
        "ignores_sigint": Case(hit(IGNORES_SIGINT), zero, flags=["timed out"]),
        "sys_exit": Case(hit(SYS_EXIT), no_target),
        "os_exit": Case(hit(OS_EXIT), zero, flags=["kernel died"]),
        # in the last function: killed for memory, or refused its allocations (MemoryError); either
        # way that function earns 0 and every function graded before keeps its points
        "memory_bomb": Case(answers(**{last: code(MEMORY_BOMB)}), {**full, last: 0},
                            any_flag=["killed for memory", "memory limit"]),
        "huge_output": Case(lambda nb, s: answers(**{target: HUGE_OUTPUT + s(target)})(nb, s),
                            full, flags=["output truncated"]),
        "deleted_test_cell": Case(edited(_delete_test(target), **{target: wrong}), no_target,
                                  flags=["test cells restored"]),
        "edited_test_cell": Case(edited(_edit_test(target), **{target: wrong}), no_target,
                                 flags=["test cells restored"]),
        "duplicated_cell": Case(edited(_duplicate(other)), full, flags=["test cells restored"]),
        "unknown_schema": Case(edited(_schema_99), full),
        "invalid_json": Case(lambda nb, s: b'{"cells": [', zero, flags=["malformed notebook"]),
        "nbformat_3": Case(_version_3, full, flags=["notebook converted"]),
    }
    if variants:  # with chatter on stderr and a warning, which must cost nothing
        noisy = ('import sys, warnings\nwarnings.warn("a warning while the answer cell runs")\n'
                 'print("and a line on stderr", file=sys.stderr)\n')
        bank["correct_variants"] = Case(_solution_with({f: noisy + code for f, code in variants.items()}), full)
    return bank


def mistakes_bank(assignment: str):
    """``tests/mistakes/<assignment>.py`` as a module (its ``MISTAKES`` and ``CORRECT_VARIANTS``)."""
    path = Path(__file__).parent.parent / "mistakes" / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"mistakes_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
