"""`course-grade autograde` on a class of hostile, broken and correct submissions, one run per assignment.

For each of the five assignments: one temporary course (this repo's nbgrader_config.py and
solutions/<assignment>), every case of tests/hostile/<assignment>.py (tests/hostile/common.py)
submitted, then graded by the command line with two jobs at a time. Every
correct student gets full marks, every hostile or broken one exactly the points of its honest
functions (and the flags it earned), the run completes, nothing outside the graded students'
autograded/ folders and the gradebook changes, and a rerun grades nothing and changes nothing,
manual grades included.
"""
import contextlib
import csv
import hashlib
import io
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.grading.course import course_directory
from course_lib.grading.export import export
from course_lib.grading.feedback import feedback
from course_lib.grading.release import release
from course_lib.grading import cli

from banks import load_bank

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]
ASSIGNMENTS = ("naive_bayes", "vae", "gan", "wgan_gp", "cyclegan")
BANKS = {a: load_bank("hostile", a) for a in ASSIGNMENTS}
STUDENTS = sorted({s for bank in BANKS.values() for s in bank.CASES})
LIMITS = ["--cell-timeout", "20", "--timeout", "240", "--memory", "2.5", "--max-output", "1"]


def _tree(root: Path, skip) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not skip(p.relative_to(root))}


def _scores(root, assignment):
    from nbgrader.api import Gradebook

    coursedir, _ = course_directory(root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        return {s.student_id: {g.name: g.score for nb in s.notebooks for g in nb.grades}
                for s in gb.assignment_submissions(assignment)}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, repo_root, tmp_path_factory):
    ASSIGNMENT, BANK = request.param, BANKS[request.param]
    root = tmp_path_factory.mktemp(f"course-{ASSIGNMENT}")
    shutil.copy(repo_root / "nbgrader_config.py", root)
    shutil.copytree(repo_root / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    with contextlib.redirect_stdout(io.StringIO()):
        assert release(root, [ASSIGNMENT])
    release_nb = nbformat.read(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    source = {c.id: c.source for c in nbformat.read(root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                                    as_version=4).cells}

    def solution(function):
        return "\n".join(ln for ln in source[f"{function}_code"].splitlines() if "### " not in ln)

    for student, case in BANK.CASES.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_bytes(case.make(release_nb, solution))

    def outside_outputs(relative):  # what the run may change: the gradebook, each student's autograded folder
        return relative.as_posix() == "gradebook.db" or relative.parts[0] == "autograded"

    before = _tree(root, outside_outputs)
    report = root.parent / "report.csv"
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = cli.main(["autograde", ASSIGNMENT, "--root", str(root), "--submitted", str(root / "submitted"),
                           "--jobs", "2", "--report", str(report), *LIMITS])
    seconds = time.perf_counter() - start
    print(f"\n{out.getvalue()}\ngraded {len(BANK.CASES)} submissions in {seconds:.0f} s")
    with open(report, newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    return {"root": root, "status": status, "rows": rows, "before": before, "after": _tree(root, outside_outputs),
            "log": out.getvalue(), "outside": outside_outputs, "assignment": ASSIGNMENT, "bank": BANK}


def test_the_run_completes_and_reports_every_student(graded):
    assert graded["status"] == 1  # some submissions are flagged
    assert set(graded["rows"]) == set(graded["bank"].CASES)
    assert list(next(iter(graded["rows"].values())))[:5] == ["student_id", "assignment", "score", "max_score", "flags"]


@pytest.mark.parametrize("student", STUDENTS)
def test_each_submission_gets_exactly_its_points_and_flags(graded, student):
    bank = graded["bank"]
    if student not in bank.CASES:
        pytest.skip(f"no {student} case for {graded['assignment']}")
    case, row = bank.CASES[student], graded["rows"][student]
    flags = set(filter(None, row["flags"].split("; ")))
    got = {f: float(row[f]) for f in bank.FULL}
    assert got == case.scores, (row["flags"], row["notes"])
    assert set(case.flags) <= flags, (row["flags"], row["notes"])
    if case.any_flag:
        assert flags & set(case.any_flag), row
    if case.scores == bank.FULL and not case.flags:
        assert not flags, row  # correct students are never flagged
    assert float(row["score"]) == sum(got.values()) and float(row["max_score"]) == sum(bank.FULL.values())


def test_the_gradebook_holds_the_reported_points(graded):
    scores = _scores(graded["root"], graded["assignment"])
    for student, row in graded["rows"].items():
        assert scores[student] == {f: float(row[f]) for f in graded["bank"].FULL}, student


def test_no_file_outside_the_outputs_changed_and_no_secret_leaked(graded):
    assert graded["after"] == graded["before"]
    root, ASSIGNMENT = graded["root"], graded["assignment"]
    nb = nbformat.read(root / "autograded" / "reads_secrets" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "search done" in printed and "LEAKED" not in printed, printed
    nb = nbformat.read(root / "autograded" / "writes_elsewhere" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "writes done" in printed and "WROTE" not in printed, printed


def test_huge_output_is_cut_to_the_limit(graded):
    ASSIGNMENT = graded["assignment"]
    path = graded["root"] / "autograded" / "huge_output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 3 * 1024 ** 2


def test_a_rerun_grades_nothing_and_keeps_manual_grades(graded, tmp_path):
    from nbgrader.api import Gradebook

    root, ASSIGNMENT, bank = graded["root"], graded["assignment"], graded["bank"]
    other = list(bank.FULL)[1]  # wrong_answer earned its points
    coursedir, _ = course_directory(root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        grade = gb.find_grade(other, ASSIGNMENT, ASSIGNMENT, "wrong_answer")
        grade.manual_score = 1.5
        gb.db.commit()
        rows_before = len(gb.db.execute(__import__("sqlalchemy").text("select * from grade")).fetchall())
    before = _tree(root, lambda relative: False)
    report = tmp_path / "again.csv"
    with contextlib.redirect_stdout(io.StringIO()) as out:
        cli.main(["autograde", ASSIGNMENT, "--root", str(root), "--jobs", "2", "--report", str(report), *LIMITS])
    assert "0 to grade" in out.getvalue()
    assert _tree(root, lambda relative: False) == before
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        grade = gb.find_grade(other, ASSIGNMENT, ASSIGNMENT, "wrong_answer")
        assert (grade.manual_score, grade.auto_score, grade.score) == (1.5, float(bank.FULL[other]), 1.5)
        assert len(gb.db.execute(__import__("sqlalchemy").text("select * from grade")).fetchall()) == rows_before
    with open(report, newline="") as f:
        assert {row["student_id"]: row["graded"] for row in csv.DictReader(f)} == dict.fromkeys(bank.CASES, "unchanged")


def test_feedback_and_export_work_on_what_course_grade_wrote(graded, tmp_path):
    """The instructor's next two steps (`make feedback`, `make grades`) read course-grade's output."""
    root, ASSIGNMENT, bank = graded["root"], graded["assignment"], graded["bank"]
    students = ["solution", "wrong_answer"]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert feedback(root, [ASSIGNMENT], students), out.getvalue()
    for student in students:
        page = (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in page and "run_probes" not in page  # neither tests nor probes leak
    assert "earns 0 of" in (root / "feedback" / "wrong_answer" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    with contextlib.redirect_stdout(io.StringIO()):
        export(root, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="") as f:
        exported = {row["student_id"]: row for row in csv.DictReader(f)}
    scores = _scores(root, ASSIGNMENT)  # manual scores, where given, count
    for student in bank.CASES:
        assert {f: float(exported[student][f]) for f in bank.FULL} == scores[student], student
