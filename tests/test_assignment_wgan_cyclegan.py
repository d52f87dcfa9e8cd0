"""The hidden tests of the `wgan_gp` and `cyclegan` assignments, run in this process (no nbgrader).

Each test executes the instructor notebook's setup cell, every solution cell (at most one replaced
by a mistake from tests/mistakes/<assignment>.py) and every hidden-test cell, as nbgrader's kernel
would. The solution and other correct variants must earn every point; each mistake must lose the
points of its own function and only those, with a message that names the property and shows none of
the hidden code. The real nbgrader round trip is in test_assignment_wgan_cyclegan_workflow.py.
"""
import json
import re

import nbformat
import pytest
import torch

from course_lib.grading.kernel import (CheckFailed, as_float, check_scalar, forbidden_decorated_calls, parameters_error,
                                       run_hidden_tests, snapshot)

from banks import load_bank

ASSIGNMENTS = ("wgan_gp", "cyclegan")
BANKS = {a: load_bank("mistakes", a) for a in ASSIGNMENTS}


def notebook_cells(root, assignment):
    notebook = json.loads((root / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    return {cell["id"]: cell for cell in notebook["cells"]}


@pytest.fixture(scope="module")
def sources(repo_root):
    return {a: {i: "".join(c["source"]) for i, c in notebook_cells(repo_root, a).items()} for a in ASSIGNMENTS}


def solution_code(cells, function):
    return "\n".join(ln for ln in cells[f"{function}_code"].splitlines()
                     if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln)


def stub_code(cells, function):
    """The student's version of a solution cell (what nbgrader's ClearSolutions leaves)."""
    return re.sub(r"( *)### BEGIN SOLUTION.*?### END SOLUTION", r"\1# YOUR CODE HERE\n\1raise NotImplementedError()",
                  cells[f"{function}_code"], flags=re.S)


def grade(cells, functions, replacements=None, visible=False):
    """Run setup, the solution cells (some replaced) and every hidden-test cell as nbgrader's kernel
    would; returns {function: None if it earns its points, else the failure message}."""
    namespace = {"__name__": "__main__"}
    exec("import sys, warnings\n" + cells["setup"], namespace)
    for function in functions:
        exec((replacements or {}).get(function, solution_code(cells, function)), namespace)
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


def hidden_code_lines(cells, functions):
    """Code lines of the hidden regions long enough to be telling."""
    lines = []
    for function in functions:
        hidden = cells[function].split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        lines += [ln.strip() for ln in hidden.splitlines() if len(ln.strip()) > 25 and not ln.strip().startswith("#")]
    return lines


# ---------------------------------------------------------------------------------------- the notebooks


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_cells_are_named_after_their_functions_with_the_stated_points(repo_root, assignment):
    cells = notebook_cells(repo_root, assignment)
    points = BANKS[assignment].POINTS
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
              for c in cells.values() if c["metadata"].get("nbgrader", {}).get("grade")}
    assert graded == points
    intro = "".join(cells["intro"]["source"])
    for function, n in points.items():
        assert re.search(rf"`{function}\(.*\| {n} \|", intro), f"the intro table should give {function} {n} points"
        assert f"({n} point" in "".join(c["source"][0] for c in cells.values() if c["cell_type"] == "markdown"
                                         and c["source"] and f"`{function}`" in c["source"][0])
    assert f"**{sum(points.values())}**" in intro
    for function in points:
        nbgrader = cells[f"{function}_code"]["metadata"]["nbgrader"]
        assert nbgrader["solution"] and not nbgrader["locked"]
        assert cells[f"{function}_visible_tests"]["metadata"]["nbgrader"]["locked"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_notebook_imports_no_graded_course_lib_code(sources, assignment):
    """Students get models, data and plotting from course_lib, never the losses or steps they write;
    the hidden tests compute their references themselves."""
    for cell_id, source in sources[assignment].items():
        assert not re.search(r"(from|import)\s+course_lib\.(losses|training)\b", source), cell_id
        assert not re.search(r"from\s+course_lib\s+import\s+.*\b(losses|training)\b", source), cell_id


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_passes_every_visible_and_hidden_test(sources, assignment):
    functions = list(BANKS[assignment].POINTS)
    assert grade(sources[assignment], functions, visible=True) == dict.fromkeys(functions)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_unmodified_student_notebook_earns_nothing(sources, assignment):
    cells, points = sources[assignment], BANKS[assignment].POINTS
    results = grade(cells, list(points), {f: stub_code(cells, f) for f in points})
    for function, message in results.items():
        assert message.startswith(f"{function} earns 0 of {points[function]} points: "), message
        assert "raised NotImplementedError" in message, message


@pytest.mark.parametrize("assignment, function", [(a, f) for a in ASSIGNMENTS for f in BANKS[a].CORRECT_VARIANTS])
def test_correct_variants_pass_even_when_they_warn(sources, assignment, function):
    functions = list(BANKS[assignment].POINTS)
    variant = BANKS[assignment].CORRECT_VARIANTS[function]
    assert grade(sources[assignment], functions, {function: variant}) == dict.fromkeys(functions)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_mistake_bank_is_large_enough(assignment):
    mistakes = BANKS[assignment].MISTAKES
    assert set(mistakes) == set(BANKS[assignment].POINTS), "every graded function needs mistakes"
    assert sum(len(m) for m in mistakes.values()) >= 6
    assert all(len(m) >= 2 for m in mistakes.values())


@pytest.mark.parametrize("assignment, function, mistake",
                         [(a, f, m) for a in ASSIGNMENTS for f in BANKS[a].MISTAKES for m in BANKS[a].MISTAKES[f]])
def test_a_mistake_loses_that_function_only_and_says_why(sources, assignment, function, mistake):
    bank = BANKS[assignment]
    source, words = bank.MISTAKES[function][mistake]
    functions = list(bank.POINTS)
    results = grade(sources[assignment], functions, {function: source})
    message = results.pop(function)
    assert message is not None, f"the hidden tests let the mistake {mistake!r} through"
    assert results == dict.fromkeys(results), f"other functions lost points too: {results}"
    assert message.startswith(f"{function} earns 0 of {bank.POINTS[function]} points: "), message
    assert words in message, message
    assert not [line for line in hidden_code_lines(sources[assignment], functions) if line in message], message


# ---------------------------------------------------------------------------------------- the check helpers


def test_check_scalar_names_the_property():
    assert as_float(check_scalar(torch.tensor(1.5), "the loss")) == 1.5
    for value, words in [(1.5, "Python float"), (torch.ones(1), "0-dim"), (torch.tensor(1.0, dtype=torch.float64), "dtype"),
                         (torch.tensor(float("nan")), "finite"), ([1.0], "torch.Tensor")]:
        with pytest.raises(CheckFailed, match=re.escape(words)):
            check_scalar(value, "the loss")


def test_parameter_snapshots_measure_changes():
    model = torch.nn.Linear(2, 2)
    before = snapshot(model)
    assert parameters_error(model, before) == 0
    with torch.no_grad():
        model.bias.add_(0.5)
    assert parameters_error(model, before) == pytest.approx(0.5)


def test_decorated_course_lib_functions_are_switched_off_while_grading():
    """course_lib.training.clip_weights is wrapped by @torch.no_grad(), which guard.forbidden_calls
    leaves running; forbidden_decorated_calls switches it off, and on again afterwards."""
    import course_lib.training as training

    critic = torch.nn.Linear(2, 2)
    held = training.clip_weights
    namespace = {"__name__": "__main__", "training_module": "course" + "_lib.training"}
    exec("import importlib\n"
         "def clip_weights(critic, clip_value):\n"
         "    getattr(importlib.import_module(training_module), 'clip' + '_weights')(critic, clip_value)\n", namespace)

    def tests(clip):
        with forbidden_decorated_calls(["course_lib.losses", "course_lib.training"]):
            from course_lib.grading.kernel import call
            call(clip, "clip_weights(critic, 0.1)", critic, 0.1)

    with pytest.raises(CheckFailed, match="calls course_lib's implementation"):
        run_hidden_tests("clip_weights", namespace, tests, points=1, forbidden=["course_lib.training"])
    held(critic, 0.1)
    assert critic.weight.abs().max() <= 0.1


def test_committed_notebooks_have_no_outputs(repo_root):
    for assignment in ASSIGNMENTS:
        for path in [repo_root / "solutions" / assignment / f"{assignment}.ipynb",
                     repo_root / "assignments" / assignment / f"{assignment}.ipynb"]:
            nb = nbformat.read(path, as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            assert all(not c.outputs and c.execution_count is None for c in code), f"{path} has outputs: clear them"
