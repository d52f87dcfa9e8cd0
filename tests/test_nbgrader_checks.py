"""The hidden tests of the `naive_bayes` assignment, run in this process (no nbgrader, no kernel).

Each test executes the instructor notebook's setup cell, the three solution cells with at most one
function replaced, and the three hidden-test cells, the way nbgrader runs them in a kernel. A bank of
real mistakes must lose exactly that function's points with a message that names the property and
shows none of the hidden code; correct variants (other ways to write the same function) must pass.
The nbgrader round trip itself is in test_nbgrader_workflow.py.
"""
import json
import textwrap

import nbformat
import pytest

from course_lib.grading.kernel import CheckFailed, borrowed_implementation, call, check, forbidden_calls

FUNCTIONS = ("fit_naive_bayes", "sample_naive_bayes", "naive_bayes_log_likelihood")
POINTS = {"fit_naive_bayes": 4, "sample_naive_bayes": 3, "naive_bayes_log_likelihood": 3}
LIBRARY = "course_lib.naive_bayes"


def _fn(source: str) -> str:
    return textwrap.dedent(source).strip() + "\n"


# Real mistakes, one function each: {function: {mistake: (source, words the failure message must hold)}}.
MISTAKES = {
    "fit_naive_bayes": {
        "denominator without alpha * L": (_fn("""
            def fit_naive_bayes(df, alpha=0.0):
                return {c: (df[c].value_counts().astype(float) + alpha) / len(df) for c in df.columns}
            """), "sum to 1"),
        "denominator N + alpha": (_fn("""
            def fit_naive_bayes(df, alpha=0.0):
                return {c: (df[c].value_counts().astype(float) + alpha) / (len(df) + alpha) for c in df.columns}
            """), "sum to 1"),
        "normalised by the number of cells": (_fn("""
            def fit_naive_bayes(df, alpha=0.0):
                return {c: df[c].value_counts().astype(float) / df.size for c in df.columns}
            """), "sum to 1"),
        "only the categories that occur": (_fn("""
            def fit_naive_bayes(df, alpha=0.0):
                params = {}
                for c in df.columns:
                    values, counts = np.unique(df[c].astype(str), return_counts=True)
                    params[c] = pd.Series((counts + alpha) / (len(df) + alpha * len(values)), index=values)
                return params
            """), "every declared category"),
        "dict of dicts": (_fn("""
            def fit_naive_bayes(df, alpha=0.0):
                return {c: df[c].value_counts(normalize=True).to_dict() for c in df.columns}
            """), "pandas Series"),
        "a DataFrame instead of a dict": (_fn("""
            def fit_naive_bayes(df, alpha=0.0):
                return pd.DataFrame({c: df[c].value_counts(normalize=True) for c in df.columns})
            """), "dict"),
        "modifies the table": (_fn("""
            def fit_naive_bayes(df, alpha=0.0):
                params = {}
                for c in df.columns:
                    cats = list(df[c].cat.categories) if isinstance(df[c].dtype, pd.CategoricalDtype) else sorted(set(df[c]))
                    df[c] = df[c].astype(object)
                    counts = df[c].value_counts().reindex(cats, fill_value=0).astype(float)
                    params[c] = (counts + alpha) / (len(df) + alpha * len(cats))
                return params
            """), "modify"),
        "imports course_lib": (_fn("""
            from course_lib.naive_bayes import fit_naive_bayes
            """), "course_lib"),
        "wraps course_lib": (_fn("""
            import course_lib.naive_bayes as reference
            def fit_naive_bayes(df, alpha=0.0):
                return reference.fit_naive_bayes(df, alpha)
            """), "own code"),
    },
    "sample_naive_bayes": {
        "uniform over the categories": (_fn("""
            def sample_naive_bayes(params, n, rng=None):
                rng = np.random.default_rng(rng)
                return pd.DataFrame({c: pd.Categorical.from_codes(rng.integers(0, len(p), size=n), categories=list(p.index))
                                     for c, p in params.items()})
            """), "probability"),
        "one uniform draw shared by all columns": (_fn("""
            def sample_naive_bayes(params, n, rng=None):
                u = np.random.default_rng(rng).random(n)
                return pd.DataFrame({c: pd.Categorical.from_codes(np.searchsorted(np.cumsum(p.to_numpy()), u, side="right"),
                                                                  categories=list(p.index)) for c, p in params.items()})
            """), "independently"),
        "ignores rng (global numpy state)": (_fn("""
            def sample_naive_bayes(params, n, rng=None):
                return pd.DataFrame({c: pd.Categorical.from_codes(np.random.choice(len(p), size=n, p=p.to_numpy()),
                                                                  categories=list(p.index)) for c, p in params.items()})
            """), "seed"),
        "a fixed seed": (_fn("""
            def sample_naive_bayes(params, n, rng=None):
                rng = np.random.default_rng(0)
                return pd.DataFrame({c: pd.Categorical.from_codes(rng.choice(len(p), size=n, p=p.to_numpy()),
                                                                  categories=list(p.index)) for c, p in params.items()})
            """), "different seeds"),
        "plain values instead of Categorical": (_fn("""
            def sample_naive_bayes(params, n, rng=None):
                rng = np.random.default_rng(rng)
                return pd.DataFrame({c: rng.choice(np.asarray(p.index), size=n, p=p.to_numpy()) for c, p in params.items()})
            """), "Categorical"),
        "categories of probability 0 dropped": (_fn("""
            def sample_naive_bayes(params, n, rng=None):
                rng = np.random.default_rng(rng)
                columns = {}
                for c, p in params.items():
                    p = p[p > 0]
                    columns[c] = pd.Categorical.from_codes(rng.choice(len(p), size=n, p=p.to_numpy()), categories=list(p.index))
                return pd.DataFrame(columns)
            """), "categories of column"),
        "a generator per column from the same seed": (_fn("""
            def sample_naive_bayes(params, n, rng=None):
                columns = {}
                for c, p in params.items():
                    g = np.random.default_rng(rng)
                    columns[c] = pd.Categorical.from_codes(g.choice(len(p), size=n, p=p.to_numpy()), categories=list(p.index))
                return pd.DataFrame(columns)
            """), "independently"),
        "calls course_lib through importlib": (_fn("""
            import importlib
            def sample_naive_bayes(params, n, rng=None):
                return importlib.import_module("course_lib." + "naive_bayes").sample_naive_bayes(params, n, rng)
            """), "course_lib"),
    },
    "naive_bayes_log_likelihood": {
        "log of the product (underflows)": (_fn("""
            def naive_bayes_log_likelihood(params, df):
                probabilities = np.ones(len(df))
                for c, p in params.items():
                    probabilities = probabilities * p.reindex(df[c].astype(object)).to_numpy(dtype=float)
                with np.errstate(divide="ignore"):
                    return np.log(probabilities)
            """), "underflows"),
        "log10": (_fn("""
            def naive_bayes_log_likelihood(params, df):
                with np.errstate(divide="ignore"):
                    return sum(np.log10(p.reindex(df[c].astype(object)).to_numpy(dtype=float)) for c, p in params.items())
            """), "natural logarithm"),
        "probabilities instead of logs": (_fn("""
            def naive_bayes_log_likelihood(params, df):
                return np.prod([p.reindex(df[c].astype(object)).to_numpy(dtype=float) for c, p in params.items()], axis=0)
            """), "the probability itself"),
        "a Series instead of an array": (_fn("""
            def naive_bayes_log_likelihood(params, df):
                with np.errstate(divide="ignore"):
                    return sum(np.log(df[c].astype(object).map(p).astype(float)) for c, p in params.items())
            """), "numpy array"),
        "mean over columns instead of sum": (_fn("""
            def naive_bayes_log_likelihood(params, df):
                with np.errstate(divide="ignore"):
                    return np.mean([np.log(p.reindex(df[c].astype(object)).to_numpy(dtype=float)) for c, p in params.items()], axis=0)
            """), "row 0"),
        "aligned on the index labels": (_fn("""
            def naive_bayes_log_likelihood(params, df):
                total = pd.Series(0.0, index=range(len(df)))
                with np.errstate(divide="ignore"):
                    for c, p in params.items():
                        total = total + np.log(df[c].astype(object).map(p).astype(float))
                return total.to_numpy()
            """), "row"),
        "loops over the table's columns": (_fn("""
            def naive_bayes_log_likelihood(params, df):
                with np.errstate(divide="ignore"):
                    return sum(np.log(params[c].reindex(df[c].astype(object)).to_numpy(dtype=float)) for c in df.columns)
            """), "KeyError"),
        "one number for the whole table": (_fn("""
            def naive_bayes_log_likelihood(params, df):
                with np.errstate(divide="ignore"):
                    return np.float64(sum(np.log(p.reindex(df[c].astype(object)).to_numpy(dtype=float)).sum() for c, p in params.items()))
            """), "numpy array"),
        "course_lib helper function": (_fn("""
            from course_lib.naive_bayes import naive_bayes_log_likelihood as _reference
            def helper(params, df):
                return _reference(params, df)
            def naive_bayes_log_likelihood(params, df):
                return helper(params, df)
            """), "course_lib"),
    },
}

# Other correct ways to write each function: they must earn full marks.
CORRECT_VARIANTS = {
    "fit_naive_bayes": _fn("""
        from collections import Counter
        def fit_naive_bayes(df, alpha=0.0):
            params = {}
            for column in df.columns:
                counts = Counter(df[column])
                if isinstance(df[column].dtype, pd.CategoricalDtype):
                    categories = list(df[column].cat.categories)
                else:
                    categories = sorted(counts, key=counts.get, reverse=True)  # any order will do
                n = np.array([counts.get(c, 0) for c in categories], dtype=float)
                params[column] = pd.Series((n + alpha) / (n.sum() + alpha * len(categories)), index=categories)
            warnings.warn("a warning from the student's code")
            return params
        """),
    "sample_naive_bayes": _fn("""
        def sample_naive_bayes(params, n, rng=None):
            rng = np.random.default_rng(rng)
            table = pd.DataFrame(index=range(n))
            for column, probs in params.items():
                cdf = np.cumsum(probs.to_numpy())
                codes = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)
                table[column] = pd.Categorical.from_codes(codes, categories=list(probs.index))
            print("sampled", n, "rows", file=sys.stderr)
            return table
        """),
    "naive_bayes_log_likelihood": _fn("""
        def naive_bayes_log_likelihood(params, df):
            logs = pd.DataFrame({c: np.log(df[c].astype(object).map(p).astype(float)) for c, p in params.items()})
            return logs.sum(axis=1).to_numpy()
        """),
}


@pytest.fixture(scope="module")
def cells(repo_root):
    notebook = json.loads((repo_root / "solutions" / "naive_bayes" / "naive_bayes.ipynb").read_text())
    return {cell["id"]: "".join(cell["source"]) for cell in notebook["cells"]}


def _solution(cells, function):
    lines = cells[f"{function}_code"].splitlines()
    return "\n".join(line for line in lines if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _grade(cells, replacements=None, graded=FUNCTIONS):
    """Run setup, solution cells (some replaced) and the hidden tests of ``graded`` as nbgrader's
    kernel would; returns {function: None if it earns its points, else the failure message}."""
    namespace = {"__name__": "__main__"}
    exec("import sys, warnings\n" + cells["setup"], namespace)
    for function in FUNCTIONS:
        exec((replacements or {}).get(function, _solution(cells, function)), namespace)
    results = {}
    for function in graded:
        try:
            exec(cells[function], namespace)
            results[function] = None
        except CheckFailed as failure:
            results[function] = str(failure)
    return results


def _hidden_code_lines(cells):
    """Code lines of the hidden regions long enough to be telling."""
    lines = []
    for function in FUNCTIONS:
        hidden = cells[function].split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        lines += [ln.strip() for ln in hidden.splitlines() if len(ln.strip()) > 25 and not ln.strip().startswith("#")]
    return lines


def test_the_solution_passes_every_hidden_test(cells):
    assert _grade(cells) == dict.fromkeys(FUNCTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_correct_variants_pass_even_when_they_warn(cells, function):
    assert _grade(cells, {function: CORRECT_VARIANTS[function]}) == dict.fromkeys(FUNCTIONS)


@pytest.mark.parametrize("function, mistake", [(f, m) for f in MISTAKES for m in MISTAKES[f]])
def test_a_mistake_loses_that_function_only_and_says_why(cells, function, mistake):
    source, words = MISTAKES[function][mistake]
    # The hidden tests of the other functions never call this one (the nbgrader round trip checks
    # that they keep their points), so only this function's tests run here.
    message = _grade(cells, {function: source}, graded=[function])[function]
    assert message is not None, f"the hidden tests let the mistake {mistake!r} through"
    assert message.startswith(f"{function} earns 0 of {POINTS[function]} points: ")
    assert words in message, message
    assert not [line for line in _hidden_code_lines(cells) if line in message], message


def test_failures_render_without_traceback():
    failure = CheckFailed("the probabilities should sum to 1")
    assert failure._render_traceback_() == ["CheckFailed: the probabilities should sum to 1"]
    with pytest.raises(CheckFailed, match="sum to 1"):
        check(False, "the probabilities should sum to 1")
    with pytest.raises(CheckFailed, match=r"f\(1\) raised ZeroDivisionError"):
        call(lambda x: x / 0, "f(1)", 1)


def test_borrowed_implementation_accepts_own_code_and_flags_course_lib():
    namespace = {"__name__": "__main__"}
    exec("import numpy as np\nfrom course_lib.data import make_wrodl\n"
         "def helper(x):\n    return np.log(x)\n"
         "def own(x):\n    return helper(x) + len(make_wrodl(2))\n", namespace)
    assert borrowed_implementation(namespace["own"], [LIBRARY]) is None
    import course_lib.naive_bayes as reference

    assert "course_lib" in borrowed_implementation(reference.fit_naive_bayes, [LIBRARY])
    assert "defined with `def` in this notebook" in borrowed_implementation(print, [LIBRARY])


def test_forbidden_calls_switches_course_lib_off_and_back_on():
    import course_lib.naive_bayes as reference
    from course_lib.data import make_wrodl

    held = reference.fit_naive_bayes  # a reference taken before grading starts
    with forbidden_calls([LIBRARY]):
        with pytest.raises(RuntimeError, match="called while grading"):
            held(make_wrodl(5))
    assert set(held(make_wrodl(5))) == set(make_wrodl(5).columns)


def test_committed_notebooks_have_no_outputs(repo_root):
    paths = [*repo_root.glob("solutions/*/*.ipynb"), *repo_root.glob("assignments/*/*.ipynb")]
    assert paths
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), f"{path} has outputs: clear them"
