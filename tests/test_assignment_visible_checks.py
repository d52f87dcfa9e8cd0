"""The visible checks of the `vae` and `wgan_gp` assignments (the cells students run before submitting).

In process, no kernel: the setup cell, the solution cells (one replaced by a mistake of the bank in
tests/mistakes/<assignment>.py) and the visible-check cell of that function run as in the student's
kernel. The solution and every correct variant pass them; every mistake the bank lists in ``VISIBLE``
makes them fail with an ``AssertionError`` (or the error the mistake raises) whose message shows
none of the solution's code. The properties added after issue 13's trial: a batch of two different
examples (KL summed over the batch), a path from a vector to itself (slerp without the small-angle
fallback), an image-shaped batch (per-pixel eps, a norm over one dimension), and a call with
gradients already in ``.grad`` (a missing ``zero_grad``).
"""
import contextlib
import io
import warnings

import nbformat
import pytest

from banks import load_bank

ASSIGNMENTS = ("vae", "wgan_gp")
PREFIX = "import sys, warnings\n"  # the banks' correct variants chatter with these


BANKS = {a: load_bank("mistakes", a) for a in ASSIGNMENTS}
CAUGHT = [(a, f, m) for a, bank in BANKS.items() for f, names in bank.VISIBLE.items() for m in names]


@pytest.fixture(scope="module")
def cells(repo_root):
    return {a: {c.id: c.source for c in nbformat.read(repo_root / "solutions" / a / f"{a}.ipynb", as_version=4).cells}
            for a in ASSIGNMENTS}


def _solution(cells, function):
    return "\n".join(ln for ln in cells[f"{function}_code"].splitlines() if "### " not in ln)


def _visible(cells, assignment, function, source=None):
    """None when ``function``'s visible checks pass with ``source`` in its cell, else the exception."""
    namespace = {"__name__": "__main__"}
    exec(PREFIX + cells["setup"], namespace)
    for name in BANKS[assignment].POINTS:
        exec(source if name == function and source is not None else _solution(cells, name), namespace)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            exec(cells[f"{function}_visible_tests"], namespace)
    except Exception as error:  # noqa: BLE001 - a mistake may raise anything
        return error
    return None


def test_every_listed_mistake_is_in_the_bank():
    for assignment, bank in BANKS.items():
        assert set(bank.VISIBLE) == set(bank.POINTS), assignment
        for function, names in bank.VISIBLE.items():
            assert set(names) <= set(bank.MISTAKES[function]), (assignment, function)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_and_the_correct_variants_pass_the_visible_checks(cells, assignment):
    bank = BANKS[assignment]
    for function in bank.POINTS:
        assert _visible(cells[assignment], assignment, function) is None, function
        assert _visible(cells[assignment], assignment, function, bank.CORRECT_VARIANTS[function]) is None, function


@pytest.mark.parametrize("assignment, function, mistake", CAUGHT, ids=[f"{a}-{f}-{m}" for a, f, m in CAUGHT])
def test_the_visible_checks_catch_the_mistake(cells, assignment, function, mistake):
    source, _ = BANKS[assignment].MISTAKES[function][mistake]
    error = _visible(cells[assignment], assignment, function, source)
    assert error is not None, f"the visible checks of {function} let {mistake!r} through"
    solution_lines = [ln.strip() for ln in _solution(cells[assignment], function).splitlines()
                      if len(ln.strip()) > 20 and not ln.strip().startswith(("#", '"""', "def "))]
    assert not [ln for ln in solution_lines if ln in str(error)], str(error)


def test_the_vae_loss_that_does_not_fall_asks_about_piled_up_gradients(cells):
    error = _visible(cells["vae"], "vae", "vae_train_step", BANKS["vae"].MISTAKES["vae_train_step"]["no zero_grad"][0])
    assert "should lower the loss" in str(error) and "Do gradients from earlier steps pile up?" in str(error)
