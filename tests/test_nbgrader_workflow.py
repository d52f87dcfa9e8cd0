"""The instructor workflow of the `naive_bayes` assignment, end to end, with nbgrader.

In a temporary course (this repo's nbgrader_config.py and solutions/): `release` regenerates the
student version, which must equal the committed assignments/; submissions of several students are
autograded in one `autograde` run, their points read from the gradebook; then feedback and the
grades CSV. The hidden tests' mistake bank runs without nbgrader in test_nbgrader_checks.py.
"""
import contextlib
import csv
import io
import json
import shutil
import textwrap
import time

import nbformat
import pytest

from course_lib.grading import cli
from course_lib.grading.course import course_directory
from course_lib.grading.export import recorded_flags
from course_lib.grading.feedback import feedback
from course_lib.grading.release import release

from banks import nbgrader_autograde

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

ASSIGNMENT = "naive_bayes"
POINTS = {"fit_naive_bayes": 4, "sample_naive_bayes": 3, "naive_bayes_log_likelihood": 3}
FULL = dict(POINTS)

WRONG = {  # one realistic mistake per function
    "fit_naive_bayes": """
        def fit_naive_bayes(df, alpha=0.0):  # forgets alpha * L in the denominator
            return {c: (df[c].value_counts().astype(float) + alpha) / len(df) for c in df.columns}
        """,
    "sample_naive_bayes": """
        def sample_naive_bayes(params, n, rng=None):  # uniform over the categories
            rng = np.random.default_rng(rng)
            return pd.DataFrame({c: pd.Categorical.from_codes(rng.integers(0, len(p), size=n), categories=list(p.index))
                                 for c, p in params.items()})
        """,
    "naive_bayes_log_likelihood": """
        def naive_bayes_log_likelihood(params, df):  # log of a product that underflows
            probabilities = np.ones(len(df))
            for c, p in params.items():
                probabilities = probabilities * p.reindex(df[c].astype(object)).to_numpy(dtype=float)
            with np.errstate(divide="ignore"):
                return np.log(probabilities)
        """,
}
NOISY_PREFIX = """
import sys, warnings
warnings.warn("a warning printed while the solution cell runs")
print("and a line on stderr", file=sys.stderr)
"""
NOISY_SUFFIX = """
_fit_quietly = fit_naive_bayes


def fit_naive_bayes(df, alpha=0.0):  # still the student's own code, but it chatters on stderr
    print("fitting", len(df), "rows", file=sys.stderr)
    warnings.warn("fitting now")
    return _fit_quietly(df, alpha)
"""

# student -> (solution-cell replacements, expected points per function)
SUBMISSIONS = {
    "solution": ({}, FULL),
    "unmodified": (None, dict.fromkeys(POINTS, 0)),
    "wrong_fit": ({"fit_naive_bayes": WRONG["fit_naive_bayes"]}, {**FULL, "fit_naive_bayes": 0}),
    "wrong_sample": ({"sample_naive_bayes": WRONG["sample_naive_bayes"]}, {**FULL, "sample_naive_bayes": 0}),
    "wrong_log_likelihood": ({"naive_bayes_log_likelihood": WRONG["naive_bayes_log_likelihood"]},
                             {**FULL, "naive_bayes_log_likelihood": 0}),
    "imports_course_lib": ({"fit_naive_bayes": "from course_lib.naive_bayes import fit_naive_bayes"},
                           {**FULL, "fit_naive_bayes": 0}),
    "noisy_solution": ("noisy", FULL),  # writes to stderr when defined and when called
}
# Broken submissions, named to sort before the others: a run of plain `nbgrader autograde` over all
# students stops at an unknown schema_version (ENVIRONMENT.md); invalid JSON fails on its own.
BROKEN = ("broken_json", "broken_schema")


def _solution_code(source_nb, function):
    lines = source_nb.cells[[c.get("id") for c in source_nb.cells].index(f"{function}_code")].source.splitlines()
    return "\n".join(ln for ln in lines if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln)


def _submission(release_nb, source_nb, replacements):
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    if replacements is None:
        return nb
    for cell in nb.cells:
        function = cell.get("id", "").removesuffix("_code")
        if cell.get("id", "").endswith("_code"):
            code = _solution_code(source_nb, function)
            if replacements == "noisy" and function == "fit_naive_bayes":
                code = NOISY_PREFIX.strip() + "\n" + code + "\n\n" + NOISY_SUFFIX.strip()
            elif function in replacements:
                code = textwrap.dedent(replacements[function]).strip()
            cell.source = code
    return nb


@pytest.fixture(scope="module")
def course(repo_root, tmp_path_factory):
    """A temporary course: released, with the submissions above autograded in one run."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(repo_root / "nbgrader_config.py", root)
    shutil.copytree(repo_root / "solutions", root / "solutions")
    start = time.perf_counter()
    released = release(root, [ASSIGNMENT])
    release_s = time.perf_counter() - start

    source_nb = nbformat.read(root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release_nb = nbformat.read(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for student, (replacements, _) in SUBMISSIONS.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_submission(release_nb, source_nb, replacements), folder / f"{ASSIGNMENT}.ipynb")
    unknown_schema = _submission(release_nb, source_nb, {})
    for cell in unknown_schema.cells:
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader.schema_version = 99
    for student, text in zip(BROKEN, ['{"cells": [', nbformat.writes(unknown_schema)]):
        (root / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        (root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(text)

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as report:
        graded = nbgrader_autograde(root, [ASSIGNMENT])
    autograde_s = time.perf_counter() - start
    print(f"\n{report.getvalue()}release {release_s:.1f} s; autograde of {len(SUBMISSIONS)} submissions "
          f"(and {len(BROKEN)} broken ones) {autograde_s:.1f} s")
    return {"root": root, "released": released, "graded": graded, "report": report.getvalue()}


def _gradebook_scores(root):
    """{student: {grade_id: points}} from nbgrader's gradebook; None for a grade left ungraded."""
    from nbgrader.api import Gradebook

    coursedir, _ = course_directory(root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        return {s.student_id: {g.name: None if g.needs_manual_grade else g.score for nb in s.notebooks for g in nb.grades}
                for s in gb.assignment_submissions(ASSIGNMENT)}


def test_committed_assignment_is_what_nbgrader_generates(course, repo_root):
    """Byte for byte: nbgrader writes the same bytes on every run (cell ids and checksums come from
    the source; no timestamps), so no normalisation is needed."""
    assert course["released"]
    generated = course["root"] / "assignments" / ASSIGNMENT  # (the other assignments: their own tests)
    committed = repo_root / "assignments" / ASSIGNMENT
    names = sorted(p.relative_to(generated).as_posix() for p in generated.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file())
    for name in names:
        assert (generated / name).read_bytes() == (committed / name).read_bytes(), (
            f"assignments/{ASSIGNMENT}/{name} is out of date: run `make assignments` and commit the result")


def test_every_submission_gets_the_expected_points(course):
    scores = _gradebook_scores(course["root"])
    for student, (_, expected) in SUBMISSIONS.items():
        assert scores[student] == expected, student


def test_broken_submissions_are_reported_and_the_others_still_graded(course):
    assert course["graded"] is False
    for student in BROKEN:
        assert f"FAILED  autograde {ASSIGNMENT} {student}" in course["report"]
    assert course["report"].count("ok      autograde") == len(SUBMISSIONS)
    scores = _gradebook_scores(course["root"])
    assert all(set(scores.get(student, {None: None}).values()) == {None} for student in BROKEN)


def test_failures_name_the_property_and_hide_the_tests(course):
    root = course["root"]
    source = nbformat.read(root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    hidden = [ln.strip() for c in source.cells if "### BEGIN HIDDEN TESTS" in c.source
              for ln in c.source.split("### BEGIN HIDDEN TESTS")[1].splitlines()
              if len(ln.strip()) > 25 and not ln.strip().startswith("#")]
    expected = {"wrong_fit": ("fit_naive_bayes", "should sum to 1"),
                "wrong_sample": ("sample_naive_bayes", "frequency close to its probability"),
                "wrong_log_likelihood": ("naive_bayes_log_likelihood", "underflows"),
                "imports_course_lib": ("fit_naive_bayes", "own code")}
    for student, (grade_id, words) in expected.items():
        nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert len(errors) == 1 and errors[0].ename == "CheckFailed", cell.outputs
        shown = "\n".join(errors[0].traceback)
        assert words in shown and f"earns 0 of {POINTS[grade_id]} points" in shown
        assert not [ln for ln in hidden if ln in shown], shown
    noisy = nbformat.read(root / "autograded" / "noisy_solution" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert any(o.get("name") == "stderr" for c in noisy.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_feedback_shows_results_not_hidden_tests(course):
    root = course["root"]
    assert feedback(root, [ASSIGNMENT], students=["wrong_fit"])
    html = (root / "feedback" / "wrong_fit" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "should sum to 1" in html
    assert "_hidden_tests_fit" not in html and "BEGIN HIDDEN TESTS" not in html


def test_export_writes_per_function_points(course, tmp_path):
    output = tmp_path / "grades.csv"
    assert cli.main(["export", "--root", str(course["root"]), "--output", str(output)]) == 0
    with open(output, newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert list(next(iter(rows.values()))) == ["student_id", "assignment", "status", *POINTS, "score", "max_score", "flags"]
    assert set(rows) == {*SUBMISSIONS, *BROKEN}
    for student, (_, expected) in SUBMISSIONS.items():
        row = rows[student]
        assert (row["assignment"], row["status"]) == (ASSIGNMENT, "graded")
        assert {g: float(row[g]) for g in POINTS} == expected
        assert float(row["score"]) == sum(expected.values()) and float(row["max_score"]) == 10
    for student in BROKEN:
        assert rows[student]["status"] in ("needs grading", "not submitted") and float(rows[student]["score"]) == 0


def test_export_marks_course_grade_flags(tmp_path):
    """Trial finding: a submission course-grade flagged (0 points) was exported as ``graded``."""
    folder = tmp_path / "s" / "vae"
    folder.mkdir(parents=True)
    assert recorded_flags(folder) == []
    (folder / ".course-grade-vae.json").write_text(json.dumps({"result": {"flags": ["missing notebook"]}}))
    (folder / ".course-grade-other.json").write_text("not json")
    assert recorded_flags(folder) == ["missing notebook"]


def test_the_command_line_names_what_is_wrong(course):
    with pytest.raises(SystemExit, match=r"no assignment \['vea'\] in .*available: \[.*'naive_bayes'.*'vae'"):
        cli.main(["release", "--root", str(course["root"]), "vea"])
    with pytest.raises(SystemExit, match="not both"):
        cli.main(["feedback", "--root", str(course["root"]), "--all", "naive_bayes"])
    with pytest.raises(SystemExit, match="has no nbgrader_config.py"):
        cli.main(["export", "--root", str(course["root"] / "submitted")])
