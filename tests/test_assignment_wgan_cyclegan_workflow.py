"""The `wgan_gp` and `cyclegan` assignments through real nbgrader: release, autograde, feedback, export.

In a temporary course (this repo's nbgrader_config.py and the two solutions): `release` must write
exactly the committed assignments/; then, for each assignment, ONE `autograde` run grades several
students: the solution (full marks), the unmodified student notebook (0, without a grading error),
one submission per mistake chosen below (that function's points lost, the others kept), one that
imports course_lib's implementation of a graded function (0 on that one only), and a correct one
that chatters on stderr (full marks). The whole mistake bank is checked in-process by
test_assignment_wgan_cyclegan.py; set COURSE_AUTOGRADE_WHOLE_BANK=1 to also autograde a submission
for every mistake of the bank here (several minutes).
"""
import contextlib
import csv
import io
import json
import os
import re
import shutil
import time

import nbformat
import pytest

from course_lib.grading import cli
from course_lib.grading.course import course_directory
from course_lib.grading.feedback import feedback
from course_lib.grading.release import release

from banks import load_bank, nbgrader_autograde

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

ASSIGNMENTS = ("wgan_gp", "cyclegan")

# The mistakes autograded by default: one or two per function, the ones most often made.
CHOSEN = {
    "wgan_gp": [("critic_loss", "sign flipped"), ("wasserstein_generator_loss", "sum instead of mean"),
                ("clip_weights", "weights only, not biases"), ("gradient_penalty", "per-pixel eps"),
                ("gradient_penalty", "create_graph=False"), ("critic_train_step", "fakes not detached")],
    "cyclegan": [("cycle_consistency_loss", "L2 instead of L1"), ("identity_loss", "no absolute value"),
                 ("cyclegan_generator_loss", "cycle domains swapped"),
                 ("cyclegan_generator_loss", "adversarial target 0 instead of 1")],
}
IMPORTED = {"wgan_gp": "gradient_penalty", "cyclegan": "identity_loss"}  # taken from course_lib.losses
NOISY = {"wgan_gp": ("critic_loss", "gradient_penalty"), "cyclegan": ("cycle_consistency_loss", "identity_loss")}
NOISY_PREFIX = ('import sys, warnings\nwarnings.warn("a warning printed while the solution cell runs")\n'
                'print("and a line on stderr", file=sys.stderr)\n')


BANKS = {a: load_bank("mistakes", a) for a in ASSIGNMENTS}


def slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def submissions(assignment):
    """{student: (replacement sources per function, or None for the unmodified notebook; expected points)}."""
    bank = BANKS[assignment]
    full = dict(bank.POINTS)
    chosen = CHOSEN[assignment]
    if os.environ.get("COURSE_AUTOGRADE_WHOLE_BANK"):
        chosen = [(f, m) for f in bank.MISTAKES for m in bank.MISTAKES[f]]
    students = {"solution": ({}, full), "unmodified": (None, dict.fromkeys(full, 0))}
    for function, mistake in chosen:
        source = bank.MISTAKES[function][mistake][0]
        students[f"mistake_{slug(function)}__{slug(mistake)}"[:100]] = ({function: source}, {**full, function: 0})
    imported = IMPORTED[assignment]
    students["imports_course_lib"] = ({imported: f"from course_lib.losses import {imported}\n"}, {**full, imported: 0})
    students["noisy_solution"] = ({f: NOISY_PREFIX + bank.CORRECT_VARIANTS[f] for f in NOISY[assignment]}, full)
    return students


def solution_code(source_nb, function):
    cell = next(c for c in source_nb.cells if c.get("id") == f"{function}_code")
    return "\n".join(ln for ln in cell.source.splitlines() if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln)


def build_submission(release_nb, source_nb, replacements):
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    if replacements is None:
        return nb
    for cell in nb.cells:
        if cell.get("id", "").endswith("_code"):
            function = cell["id"].removesuffix("_code")
            cell.source = replacements.get(function, solution_code(source_nb, function)).strip()
    return nb


@pytest.fixture(scope="module")
def course(repo_root, tmp_path_factory):
    """A temporary course with both assignments released and, per assignment, one autograde run."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(repo_root / "nbgrader_config.py", root)
    for assignment in ASSIGNMENTS:
        shutil.copytree(repo_root / "solutions" / assignment, root / "solutions" / assignment)
    start = time.perf_counter()
    released = release(root, ASSIGNMENTS)
    timings = {"release": time.perf_counter() - start}
    reports, graded = {}, {}
    for assignment in ASSIGNMENTS:
        source_nb = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
        release_nb = nbformat.read(root / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
        students = submissions(assignment)
        for student, (replacements, _) in students.items():
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(build_submission(release_nb, source_nb, replacements), folder / f"{assignment}.ipynb")
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()) as report:
            graded[assignment] = nbgrader_autograde(root, [assignment])
        timings[assignment] = (time.perf_counter() - start, len(students))
        reports[assignment] = report.getvalue()
    summary = "; ".join(f"{a}: {s:.0f} s for {n} submissions ({s / n:.1f} s each)"
                        for a, (s, n) in ((a, timings[a]) for a in ASSIGNMENTS))
    print(f"\nrelease {timings['release']:.1f} s; autograde {summary}")
    return {"root": root, "released": released, "graded": graded, "reports": reports, "timings": timings}


def gradebook_scores(root, assignment):
    """{student: {grade_id: points}}; None for a grade left ungraded."""
    from nbgrader.api import Gradebook

    coursedir, _ = course_directory(root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        return {s.student_id: {g.name: None if g.needs_manual_grade else g.score for nb in s.notebooks for g in nb.grades}
                for s in gb.assignment_submissions(assignment)}


def hidden_lines(root, assignment):
    source = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return [ln.strip() for c in source.cells if "### BEGIN HIDDEN TESTS" in c.source
            for ln in c.source.split("### BEGIN HIDDEN TESTS")[1].splitlines()
            if len(ln.strip()) > 25 and not ln.strip().startswith("#")]


def test_committed_assignments_are_what_nbgrader_generates(course, repo_root):
    assert course["released"]
    for assignment in ASSIGNMENTS:
        generated, committed = course["root"] / "assignments" / assignment, repo_root / "assignments" / assignment
        names = sorted(p.relative_to(generated).as_posix() for p in generated.rglob("*") if p.is_file())
        assert names == sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file())
        for name in names:
            assert (generated / name).read_bytes() == (committed / name).read_bytes(), (
                f"assignments/{assignment}/{name} is out of date: run `make assignments` and commit the result")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_submission_is_graded_with_the_expected_points(course, assignment):
    assert course["graded"][assignment], course["reports"][assignment]
    students = submissions(assignment)
    assert course["reports"][assignment].count("ok      autograde") == len(students)
    scores = gradebook_scores(course["root"], assignment)
    for student, (_, expected) in students.items():
        assert scores[student] == expected, student


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_failures_name_the_property_and_hide_the_tests(course, assignment):
    root, bank = course["root"], BANKS[assignment]
    hidden = hidden_lines(root, assignment)
    expected = {student: (function, bank.MISTAKES[function][mistake][1])
                for (function, mistake) in CHOSEN[assignment]
                for student in [f"mistake_{slug(function)}__{slug(mistake)}"[:100]]}
    expected["imports_course_lib"] = (IMPORTED[assignment], "course_lib")
    for student, (grade_id, words) in expected.items():
        nb = nbformat.read(root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert len(errors) == 1 and errors[0].ename == "CheckFailed", cell.outputs
        shown = "\n".join(errors[0].traceback)
        assert words in shown and f"earns 0 of {bank.POINTS[grade_id]} points" in shown, shown
        assert not [ln for ln in hidden if ln in shown], shown
    noisy = nbformat.read(root / "autograded" / "noisy_solution" / assignment / f"{assignment}.ipynb", as_version=4)
    assert any(o.get("name") == "stderr" for c in noisy.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_feedback_shows_results_not_hidden_tests(course):
    root = course["root"]
    student = f"mistake_{slug('gradient_penalty')}__{slug('per-pixel eps')}"
    assert feedback(root, ["wgan_gp"], students=[student])
    html = (root / "feedback" / student / "wgan_gp" / "wgan_gp.html").read_text()
    assert "one number per example" in html
    assert "_hidden_tests_gradient_penalty" not in html and "BEGIN HIDDEN TESTS" not in html


def test_export_writes_per_function_points(course, tmp_path):
    output = tmp_path / "grades.csv"
    assert cli.main(["export", "--root", str(course["root"]), "--output", str(output)]) == 0
    with open(output, newline="") as f:
        rows = list(csv.DictReader(f))
    for assignment in ASSIGNMENTS:
        points = BANKS[assignment].POINTS
        mine = {row["student_id"]: row for row in rows if row["assignment"] == assignment}
        for student, (_, expected) in submissions(assignment).items():
            row = mine[student]
            assert row["status"] == "graded"
            assert {g: float(row[g]) for g in points} == expected
            assert float(row["score"]) == sum(expected.values()) and float(row["max_score"]) == sum(points.values())


def test_the_demos_ran_under_the_smoke_budget_without_errors(course):
    """Graded cells never wait for a long training run: the kernels inherit COURSE_BUDGET=smoke, so the
    demos take seconds (per-submission times are printed by the fixture, not asserted: they depend on
    the machine's load)."""
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(course["root"] / "autograded" / "solution" / assignment / f"{assignment}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert not [c.id for c in code if any(o.output_type == "error" for o in c.outputs)]
        setup = next(c for c in code if c.id == "training_setup")
        assert "compute budget 'smoke'" in "".join(o.get("text", "") for o in setup.outputs)
