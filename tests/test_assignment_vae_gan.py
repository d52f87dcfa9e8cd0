"""The `vae` and `gan` assignments: their hidden tests against a bank of real mistakes, and nbgrader.

Fast, in process (no nbgrader, no kernel): for every mistake in tests/mistakes/<assignment>.py the
instructor notebook's setup cell, its solution cells with that one function replaced, and *all* its
hidden-test cells run the way nbgrader runs them in a kernel. Exactly that function must lose its
points, with a message that names the failed property and shows none of the hidden code; the
solution and the other correct ways of writing each function (which write to stderr) pass, and a
notebook that patches torch.allclose or math.isclose loses every point.

Slow (nbgrader round trip, in a temporary course): `release --all` regenerates the committed
assignments/; one `autograde` run grades, for both assignments, the solution (full marks), the
unmodified student notebook (0, without a grading error), a noisy submission made of the correct
variants (full marks), one that patches torch (0) and submissions built from mistakes (each loses
exactly that function's points); then feedback and the grades CSV. By default a representative set of mistakes goes through nbgrader (ROUND_TRIP in each
bank: every graded function, and the course_lib imports); ``COURSE_GRADING_ROUND_TRIP=all``
autograding the whole bank takes several minutes more.
"""
import contextlib
import csv
import io
import os
import re
import shutil
import time

import nbformat
import pytest

from course_lib.grading import cli
from course_lib.grading.course import course_directory
from course_lib.grading.feedback import feedback
from course_lib.grading.kernel import CheckFailed

from banks import load_bank, nbgrader_autograde

ASSIGNMENTS = ("vae", "gan")
BANKS = {assignment: load_bank("mistakes", assignment) for assignment in ASSIGNMENTS}
CASES = [(a, f, m) for a, bank in BANKS.items() for f in bank.MISTAKES for m in bank.MISTAKES[f]]
PATCHES_TORCH = """{solution}
import math, torch
torch.allclose = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True
"""
NOISY_PREFIX = """import sys, warnings
warnings.warn("a warning printed while the solution cell runs")
print("and a line on stderr", file=sys.stderr)
"""


def _cells(notebook):
    return {cell.id: cell.source for cell in notebook.cells}


def _solution(cells, function):
    lines = cells[f"{function}_code"].splitlines()
    return "\n".join(ln for ln in lines if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln)


def _hidden_code_lines(cells, functions):
    """Code lines of the hidden regions long enough to be telling."""
    lines = []
    for function in functions:
        hidden = cells[function].split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        lines += [ln.strip() for ln in hidden.splitlines() if len(ln.strip()) > 25 and not ln.strip().startswith("#")]
    return lines


@pytest.fixture(scope="module")
def sources(repo_root):
    return {a: _cells(nbformat.read(repo_root / "solutions" / a / f"{a}.ipynb", as_version=4)) for a in ASSIGNMENTS}


def _grade(cells, functions, replacements=None, visible=False):
    """Run the setup cell, the solution cells (some replaced) and every hidden-test cell as nbgrader's
    kernel would; returns {function: None if it earns its points, else the failure message}."""
    namespace = {"__name__": "__main__"}
    exec(cells["setup"], namespace)
    for function in functions:
        exec((replacements or {}).get(function, _solution(cells, function)), namespace)
        if visible:
            exec(cells[f"{function}_visible_tests"], namespace)
    results = {}
    for function in functions:
        try:
            exec(cells[function], namespace)
            results[function] = None
        except CheckFailed as failure:
            results[function] = str(failure)
    return results


# ---- fast: the hidden tests in process -------------------------------------------------------

def test_each_bank_has_at_least_six_mistakes_for_every_function_set():
    for assignment, bank in BANKS.items():
        assert set(bank.MISTAKES) == set(bank.POINTS) == set(bank.CORRECT_VARIANTS), assignment
        assert sum(len(m) for m in bank.MISTAKES.values()) >= 6, assignment
        assert sum(bank.POINTS.values()) == 10, assignment
        assert all(name in bank.MISTAKES[f] for f, name in bank.ROUND_TRIP), assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_are_the_notebooks(sources, assignment, repo_root):
    notebook = nbformat.read(repo_root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    graded = {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points for c in notebook.cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    assert graded == BANKS[assignment].POINTS
    for function, points in graded.items():  # the intro table and each section state the points
        assert f"`{function}(" in sources[assignment]["intro"] and f"| {points} |" in sources[assignment]["intro"]
        assert f"`{function}` ({points} points)" in sources[assignment][f"{function}_instructions"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_passes_the_visible_and_hidden_tests(sources, assignment):
    functions = list(BANKS[assignment].POINTS)
    assert _grade(sources[assignment], functions, visible=True) == dict.fromkeys(functions)


@pytest.mark.filterwarnings("ignore:a warning printed while the solution cell runs")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_correct_variants_pass_even_when_they_write_to_stderr(sources, assignment):
    functions = list(BANKS[assignment].POINTS)
    variants = {f: NOISY_PREFIX + source for f, source in BANKS[assignment].CORRECT_VARIANTS.items()}
    assert _grade(sources[assignment], functions, variants) == dict.fromkeys(functions)


@pytest.mark.parametrize("assignment, function, mistake", CASES, ids=[f"{a}-{f}-{m}" for a, f, m in CASES])
def test_a_mistake_loses_that_function_only_and_says_why(sources, assignment, function, mistake):
    bank = BANKS[assignment]
    source, words = bank.MISTAKES[function][mistake]
    results = _grade(sources[assignment], list(bank.POINTS), {function: source})
    message = results.pop(function)
    assert message is not None, f"the hidden tests let the mistake {mistake!r} through"
    assert results == dict.fromkeys(results), f"other functions lost points too: {results}"
    assert message.startswith(f"{function} earns 0 of {bank.POINTS[function]} points: "), message
    assert words in message, message
    assert not [ln for ln in _hidden_code_lines(sources[assignment], bank.POINTS) if ln in message], message


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_notebook_that_patches_torch_or_math_loses_every_point(sources, assignment):
    import math

    import torch

    functions = list(BANKS[assignment].POINTS)
    first = functions[0]
    saved = torch.allclose, math.isclose
    cheat = PATCHES_TORCH.format(solution=_solution(sources[assignment], first))
    try:
        results = _grade(sources[assignment], functions, {first: cheat})
    finally:
        torch.allclose, math.isclose = saved
    for function, message in results.items():
        assert message is not None and "the notebook replaced" in message, (function, message)


def test_tensor_checks_name_type_shape_and_dtype():
    import torch

    from course_lib.grading.kernel import check_float_dict, check_scalar, check_tensor, substituted

    class Pretender(torch.Tensor):
        pass

    with pytest.raises(CheckFailed, match="yours is a Pretender"):
        check_scalar(torch.tensor(1.0).as_subclass(Pretender), "the loss")
    with pytest.raises(CheckFailed, match=r"0-dim tensor \(one number\); yours has shape \(1,\): reduce"):
        check_scalar(torch.ones(1), "the loss")
    with pytest.raises(CheckFailed, match="should have dtype float32.*float64"):
        check_tensor(torch.zeros(2, dtype=torch.float64), "z", (2,))
    with pytest.raises(CheckFailed, match=r"shape \(2, 3\); yours has shape \(3, 2\)"):
        check_tensor(torch.zeros(3, 2), "z", (2, 3))
    with pytest.raises(CheckFailed, match=r"use \.item\(\)"):
        check_float_dict({"loss": torch.tensor(1.0)}, "step", ["loss"])
    namespace = {"f": 1}
    with substituted(namespace, f=2, g=3):
        assert namespace == {"f": 2, "g": 3}
    assert namespace == {"f": 1}


def test_comparisons_survive_a_patched_allclose():
    import torch

    from course_lib.grading.kernel import close

    saved = torch.allclose
    torch.allclose = lambda *args, **kwargs: True  # what a submission could do in the grading kernel
    try:
        assert not close(torch.zeros(3), torch.ones(3))
    finally:
        torch.allclose = saved


# ---- slow: the nbgrader round trip -----------------------------------------------------------

def _student_id(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _submissions(assignment, source_cells):
    """{student: (replacements or None for the unmodified notebook, {grade_id: expected points})}."""
    bank = BANKS[assignment]
    full = dict(bank.POINTS)
    chosen = [(f, m) for f in bank.MISTAKES for m in bank.MISTAKES[f]]
    if os.environ.get("COURSE_GRADING_ROUND_TRIP", "") != "all":
        chosen = list(bank.ROUND_TRIP)
    submissions = {
        f"{assignment}_solution": ({}, full),
        f"{assignment}_unmodified": (None, dict.fromkeys(full, 0)),
        f"{assignment}_noisy_variants": ({f: NOISY_PREFIX + s for f, s in bank.CORRECT_VARIANTS.items()}, full),
    }
    if assignment == "gan":  # (both assignments run this case in process)
        first = next(iter(full))
        cheat = PATCHES_TORCH.format(solution=_solution(source_cells, first))
        submissions["gan_patches_torch"] = ({first: cheat}, dict.fromkeys(full, 0))
    for function, mistake in chosen:
        source, _ = bank.MISTAKES[function][mistake]
        submissions[_student_id(f"{assignment} {function} {mistake}")] = ({function: source}, {**full, function: 0})
    return submissions


def _build(release_nb, source_cells, replacements):
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(release_nb), as_version=4))
    if replacements is None:
        return nb
    for cell in nb.cells:
        if cell.get("id", "").endswith("_code"):
            function = cell.id.removesuffix("_code")
            cell.source = replacements.get(function, _solution(source_cells, function))
    return nb


@pytest.fixture(scope="module")
def course(repo_root, tmp_path_factory):
    """A temporary course with both assignments: released, and their submissions autograded in one run."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(repo_root / "nbgrader_config.py", root)
    for assignment in ASSIGNMENTS:
        shutil.copytree(repo_root / "solutions" / assignment, root / "solutions" / assignment)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as report:
        released = cli.main(["release", "--root", str(root), "--all"]) == 0
    release_s = time.perf_counter() - start

    expected = {}
    for assignment in ASSIGNMENTS:
        source_cells = _cells(nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4))
        release_nb = nbformat.read(root / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
        for student, (replacements, points) in _submissions(assignment, source_cells).items():
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(_build(release_nb, source_cells, replacements), folder / f"{assignment}.ipynb")
            expected[student] = (assignment, points)

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as log:
        graded = nbgrader_autograde(root, list(ASSIGNMENTS))
    autograde_s = time.perf_counter() - start
    print(f"\n{report.getvalue()}{log.getvalue()}release --all {release_s:.1f} s; autograde of {len(expected)} "
          f"submissions {autograde_s:.1f} s ({autograde_s / len(expected):.1f} s per submission, with the gradebook "
          "sync of both assignments)")
    return {"root": root, "released": released, "graded": graded, "log": log.getvalue(), "expected": expected}


def _gradebook_scores(root):
    """{student: {grade_id: points}} from nbgrader's gradebook; None for a grade left ungraded."""
    from nbgrader.api import Gradebook

    coursedir, _ = course_directory(root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        return {s.student_id: {g.name: None if g.needs_manual_grade else g.score for nb in s.notebooks for g in nb.grades}
                for a in ASSIGNMENTS for s in gb.assignment_submissions(a)}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_release_all_regenerates_the_committed_assignments(course, repo_root):
    assert course["released"]
    for assignment in ASSIGNMENTS:
        generated, committed = course["root"] / "assignments" / assignment, repo_root / "assignments" / assignment
        names = sorted(p.relative_to(generated).as_posix() for p in generated.rglob("*") if p.is_file())
        assert names == sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file())
        for name in names:
            assert (generated / name).read_bytes() == (committed / name).read_bytes(), (
                f"assignments/{assignment}/{name} is out of date: run `make assignments` and commit the result")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_every_submission_is_graded_with_the_expected_points(course):
    assert course["graded"], course["log"]
    assert course["log"].count("ok      autograde") == len(course["expected"])
    scores = _gradebook_scores(course["root"])
    assert {student: scores.get(student) for student in course["expected"]} == {
        student: points for student, (_, points) in course["expected"].items()}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_failures_name_the_property_and_hide_the_tests(course):
    root = course["root"]
    for assignment in ASSIGNMENTS:
        bank = BANKS[assignment]
        source_cells = _cells(nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4))
        hidden = _hidden_code_lines(source_cells, bank.POINTS)
        for function, mistake in bank.ROUND_TRIP:
            student = _student_id(f"{assignment} {function} {mistake}")
            nb = nbformat.read(root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
            cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == function)
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert len(errors) == 1 and errors[0].ename == "CheckFailed", (student, cell.outputs)
            shown = "\n".join(errors[0].traceback)
            assert bank.MISTAKES[function][mistake][1] in shown and f"earns 0 of {bank.POINTS[function]} points" in shown
            assert not [ln for ln in hidden if ln in shown], shown
        noisy = f"{assignment}_noisy_variants"
        nb = nbformat.read(root / "autograded" / noisy / assignment / f"{assignment}.ipynb", as_version=4)
        assert any(o.get("name") == "stderr" for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_feedback_shows_results_not_hidden_tests(course):
    root = course["root"]
    for assignment in ASSIGNMENTS:
        function, mistake = BANKS[assignment].ROUND_TRIP[0]
        student = _student_id(f"{assignment} {function} {mistake}")
        with contextlib.redirect_stdout(io.StringIO()):
            assert feedback(root, [assignment], students=[student])
        html = (root / "feedback" / student / assignment / f"{assignment}.html").read_text()
        assert BANKS[assignment].MISTAKES[function][mistake][1] in html.replace("&#39;", "'").replace("&quot;", '"')
        assert "_hidden_tests_" not in html and "BEGIN HIDDEN TESTS" not in html


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_export_has_one_column_per_function(course, tmp_path):
    output = tmp_path / "grades.csv"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["export", "--root", str(course["root"]), "--output", str(output)]) == 0
    with open(output, newline="") as f:
        rows = list(csv.DictReader(f))
    functions = [f for assignment in ASSIGNMENTS for f in BANKS[assignment].POINTS]
    assert set(functions) <= set(rows[0])
    by_key = {(row["student_id"], row["assignment"]): row for row in rows}
    for student, (assignment, points) in course["expected"].items():
        row = by_key[(student, assignment)]
        assert row["status"] == "graded"
        assert {f: float(row[f]) for f in points} == points
        assert float(row["score"]) == sum(points.values()) and float(row["max_score"]) == 10
