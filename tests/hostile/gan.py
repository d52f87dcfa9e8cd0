"""Hostile and broken submissions of the `gan` assignment, with what grading them must give.

``CASES[student] = Case(make, scores, flags)``: ``make(release_nb, solution)`` returns the bytes of
the submitted notebook (``solution(function)`` is the instructor's code of that function);
``scores`` are the points each function must get; ``flags`` must all be raised, and ``any_flag``,
when given, at least one of them. Unless a case says otherwise the hostile code replaces
``discriminator_loss`` (3 points), so the two other functions still earn theirs.
Used by tests/test_grade_runner_hostile.py.
"""
import json
import textwrap
from dataclasses import dataclass
from typing import Callable, Dict, Sequence

import nbformat

FULL = {"discriminator_loss": 3, "generator_loss": 2, "gan_train_step": 5}
ZERO = dict.fromkeys(FULL, 0)
NO_DISCRIMINATOR = {**FULL, "discriminator_loss": 0}
WRONG = """
def discriminator_loss(real_logits, fake_logits):  # labels swapped
    return (F.binary_cross_entropy_with_logits(real_logits, torch.zeros_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)))
"""


@dataclass
class Case:
    make: Callable
    scores: Dict[str, int]
    flags: Sequence[str] = ()
    any_flag: Sequence[str] = ()
    at_most: bool = False  # scores are an upper bound (which limit stops it first depends on timing)


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


def _delete_test(nb):
    nb.cells.remove(_cell(nb, "discriminator_loss"))


def _edit_test(nb):
    _cell(nb, "discriminator_loss").source = "print('all hidden tests passed')"


def _duplicate(nb):
    index = nb.cells.index(_cell(nb, "generator_loss"))
    nb.cells.insert(index, nbformat.from_dict(json.loads(json.dumps(nb.cells[index]))))


def _schema_99(nb):
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader.schema_version = 99


def _version_3(release_nb, solution):
    return nbformat.writes(nbformat.convert(_notebook(release_nb, solution, {}), 3)).encode()


PATCH_ALLCLOSE = WRONG + """
import math, torch
torch.allclose = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True
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


def discriminator_loss(real_logits, fake_logits):
    return _Anything(0.0)
"""
TRANSFORMER = WRONG + """
def _skip_hidden_tests(lines):
    return ["pass\\n"] if any("HIDDEN TESTS" in line or "_hidden_tests" in line for line in lines) else lines


get_ipython().input_transformers_post.append(_skip_hidden_tests)
"""
READS_SECRETS = WRONG + """
import glob, os
import course_lib

_places = [os.path.dirname(os.path.dirname(course_lib.__file__))]
_places += [p for depth in range(1, 6) for p in glob.glob("/tmp" + "/*" * depth) if os.path.isdir(p)]
for _place in _places:
    for _name in ("solutions/gan/gan.ipynb", "gradebook.db", "release/gan/gan.ipynb"):
        try:
            with open(os.path.join(_place, _name), "rb") as _f:
                if _f.read(100):
                    print("LEAKED", os.path.join(_place, _name))
        except OSError:
            pass
print("search done")
"""
WRITES_ELSEWHERE = WRONG + """
import glob, os

for _folder in glob.glob("/tmp/**/submitted/*/gan", recursive=True) + glob.glob("/tmp/**/autograded/*/gan", recursive=True):
    for _target in (os.path.join(_folder, "gan.ipynb"), os.path.join(_folder, "note.txt")):
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

if os.environ.get("COURSE_BUDGET") == "smoke" or not os.path.exists("gan.ipynb"):  # looks like the grader
    import math, torch
    torch.allclose = lambda *args, **kwargs: True
    math.isclose = lambda *args, **kwargs: True
    get_ipython().input_transformers_post.append(
        lambda lines: ["pass\\n"] if any("HIDDEN TESTS" in line for line in lines) else lines)
""" + WRONG
LOOPS = """
def discriminator_loss(real_logits, fake_logits):
    while True:
        pass
"""
IGNORES_SIGINT = """
import signal


def discriminator_loss(real_logits, fake_logits):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass
"""
SYS_EXIT = """
import sys


def discriminator_loss(real_logits, fake_logits):
    sys.exit(0)
"""
OS_EXIT = """
import os


def discriminator_loss(real_logits, fake_logits):
    os._exit(0)
"""
MEMORY_BOMB = """
def discriminator_loss(real_logits, fake_logits):
    hoard = []
    while True:
        hoard.append(b"x" * 50_000_000)
"""
HUGE_OUTPUT = "print('x' * 50_000_000)\n\n"  # + the solution: the function is right


def _noisy_variants(release_nb, solution):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("mistakes_gan", Path(__file__).parent.parent / "mistakes" / "gan.py")
    bank = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bank)
    return answers(**bank.CORRECT_VARIANTS)(release_nb, solution)


CASES = {
    "solution": Case(answers(), FULL),
    "correct_variants": Case(_noisy_variants, FULL),
    "wrong_answer": Case(answers(discriminator_loss=WRONG), NO_DISCRIMINATOR),
    "patches_allclose": Case(answers(discriminator_loss=PATCH_ALLCLOSE), ZERO, flags=["tampering detected"]),
    "always_equal": Case(answers(discriminator_loss=ALWAYS_EQUAL), NO_DISCRIMINATOR),
    "input_transformer": Case(answers(discriminator_loss=TRANSFORMER), NO_DISCRIMINATOR, flags=["tampering detected"]),
    "reads_secrets": Case(answers(discriminator_loss=READS_SECRETS), NO_DISCRIMINATOR),
    "writes_elsewhere": Case(answers(discriminator_loss=WRITES_ELSEWHERE), NO_DISCRIMINATOR),
    # its switch blanks every hidden-test cell: the honest functions still pass the outside check
    "detects_grading": Case(answers(discriminator_loss=DETECTS_GRADING), NO_DISCRIMINATOR, flags=["tampering detected"]),
    "infinite_loop": Case(answers(discriminator_loss=LOOPS), NO_DISCRIMINATOR, flags=["timed out"]),
    "ignores_sigint": Case(answers(discriminator_loss=IGNORES_SIGINT), ZERO, flags=["timed out"]),
    "sys_exit": Case(answers(discriminator_loss=SYS_EXIT), NO_DISCRIMINATOR),
    "os_exit": Case(answers(discriminator_loss=OS_EXIT), ZERO, flags=["kernel died"]),
    # killed for memory (all 0) or refused its allocations (MemoryError: that function 0)
    "memory_bomb": Case(answers(discriminator_loss=MEMORY_BOMB), NO_DISCRIMINATOR, any_flag=["killed for memory", "memory limit"],
                        at_most=True),
    "huge_output": Case(lambda nb, s: answers(discriminator_loss=HUGE_OUTPUT + s("discriminator_loss"))(nb, s),
                        FULL, flags=["output truncated"]),
    "deleted_test_cell": Case(edited(_delete_test, discriminator_loss=WRONG), NO_DISCRIMINATOR,
                              flags=["test cells restored"]),
    "edited_test_cell": Case(edited(_edit_test, discriminator_loss=WRONG), NO_DISCRIMINATOR,
                             flags=["test cells restored"]),
    "duplicated_cell": Case(edited(_duplicate), FULL, flags=["test cells restored"]),
    "unknown_schema": Case(edited(_schema_99), FULL),
    "invalid_json": Case(lambda nb, s: b'{"cells": [', ZERO, flags=["malformed notebook"]),
    "nbformat_3": Case(_version_3, FULL, flags=["notebook converted"]),
}
