"""The class report (`course-grade report ASSIGNMENT`) on a class built from the mistake banks.

In process, no kernel: each mistake of tests/mistakes/vae.py is one student, whose failing
function's hidden-test cell runs as in the kernel to give the real message; the others earn full
marks. Two more students repeat one mistake with the same property, one is flagged by the outside
check. Scoring, the records and the report then run as course-grade runs them.
"""
import contextlib
import io
import json
import shutil
import warnings

import nbformat
import pytest

from course_lib.grading import classreport, cli, scoring
from course_lib.grading.runner import RECORD, StudentResult
from course_lib.grading.kernel import CheckFailed

from banks import load_bank


BANK = load_bank("mistakes", "vae")


def _message(cells, function, source):
    namespace = {"__name__": "__main__"}
    exec(cells["setup"], namespace)
    for name in BANK.POINTS:
        exec(source if name == function else "\n".join(
            ln for ln in cells[f"{name}_code"].splitlines() if "### " not in ln), namespace)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            exec(cells[function], namespace)
    except CheckFailed as failure:
        return str(failure)
    return None


def _result(instructor, student, failed=None):
    """What course-grade records for a student whose hidden test of ``failed`` = (function, message) fails."""
    nb = nbformat.reads(nbformat.writes(instructor), as_version=4)
    status = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            status[index] = "ok"
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if failed and gid == failed[0]:
                cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed", evalue=failed[1], traceback=[])]
                status[index] = "error"
    max_scores = scoring.grade_cells(instructor)
    scored = scoring.score(nb, status, max_scores, None, {}, {})
    return StudentResult(student, "vae", "vae", scored.scores, scored.max_scores, scored.flags, scored.notes,
                         failures=scored.failures)


@pytest.fixture(scope="module")
def klass(repo_root):
    instructor = nbformat.read(repo_root / "solutions" / "vae" / "vae.ipynb", as_version=4)
    cells = {c.id: c.source for c in instructor.cells}
    results, sources = [], []
    for function, mistakes in BANK.MISTAKES.items():
        for name, (source, _) in mistakes.items():
            message = _message(cells, function, source)
            assert message is not None, (function, name)
            results.append(_result(instructor, f"student{len(results):03d}", (function, message)))
            sources.append(source)
    kl_sum = _message(cells, "kl_divergence", BANK.MISTAKES["kl_divergence"]["summed over the batch"][0])
    results += [_result(instructor, f"repeat{i}", ("kl_divergence", kl_sum.replace("4.2395", f"4.{i}9")))
                for i in range(2)]  # the same mistake, other values of the student's
    results += [_result(instructor, f"correct{i}") for i in range(4)]
    flagged = _result(instructor, "probe_off")
    flagged.scores["vae_loss"] = 0.0
    flagged.notes["vae_loss"] = "outside check: vae_loss::0: values differ from the solution's"
    flagged.flags = [scoring.OUTSIDE_CHECK]
    return results + [flagged], sources


def test_counts_per_function_and_the_most_frequent_failed_property(klass):
    results, _ = klass
    summary = classreport.summarize("vae", results)
    by_name = {f.function: f for f in summary.functions}
    assert list(by_name) == list(BANK.POINTS) and summary.students == len(results)
    for function, mistakes in BANK.MISTAKES.items():
        f = by_name[function]
        lost = len(mistakes) + (2 if function == "kl_divergence" else 0)
        flagged = 1 if function == "vae_loss" else 0
        assert {k: f.outcomes[k] for k in classreport.OUTCOMES} == {classreport.LOST: lost, classreport.FLAGGED: flagged,
                              classreport.FULL: len(results) - lost - flagged}, function
        assert sum(f.properties.values()) == lost
    (top, count), = by_name["kl_divergence"].properties.most_common(1)
    assert count == 3 and "you sum over the batch; average over it" in top and "4.2395" not in top
    assert "kl_divergence: " in classreport.lines(summary)[1] and '3 "' in classreport.lines(summary)[1]
    assert sum(summary.scores.values()) == len(results) and summary.scores[10.0] == 4 and summary.max_score == 10


def test_properties_mask_the_students_values_and_exception_texts():
    a = "kl_divergence earns 0 of 2 points: for mu = [[1.0, 2.0]] the KL should be 2.1; yours is 4.2: you sum"
    b = "kl_divergence earns 0 of 2 points: for mu = [[1.0, 2.0]] the KL should be 2.1; yours is -7e-05: you sum"
    assert classreport.property_of("kl_divergence", a) == classreport.property_of("kl_divergence", b) == (
        "for mu = # the KL should be 2.1; yours is #: you sum")
    raised = "f earns 0 of 1 points: f(x) raised ValueError: alice's secret code"
    assert classreport.property_of("f", raised) == "f(x) raised ValueError"


def test_the_command_writes_csv_and_html_without_names_or_code(klass, repo_root, tmp_path):
    results, sources = klass
    shutil.copy(repo_root / "nbgrader_config.py", tmp_path)
    for r in results:
        folder = tmp_path / "autograded" / r.student_id / "vae"
        folder.mkdir(parents=True)
        saved = {k: v for k, v in r.__dict__.items() if k != "skipped"}
        (folder / RECORD.format(notebook="vae")).write_text(json.dumps({"digest": "x", "result": saved}))
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli.main(["report", "vae", "--root", str(tmp_path)]) == 0
    page = (tmp_path / "autograded" / "class-report-vae.html").read_text()
    assert "class report: file://" in out.getvalue() and "kl_divergence: " in out.getvalue()
    assert page.count("<svg") == 1 and page.count("<rect") == 11  # scores 0..10
    table = (tmp_path / "autograded" / "class-report-vae.csv").read_text()
    assert table.startswith("section,function,item,count,of\n") and "function,kl_divergence,lost points,9," in table
    for text in (page, table):
        assert not [r.student_id for r in results if r.student_id in text]
        code = {ln.strip() for s in sources for ln in s.splitlines() if len(ln.strip()) > 25}
        assert not [ln for ln in code if ln in text]
