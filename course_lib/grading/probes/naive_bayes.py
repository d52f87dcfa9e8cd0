"""Probes of the `naive_bayes` assignment (solutions/naive_bayes/naive_bayes.ipynb).

The functions take and return pandas objects; the probes turn them into arrays in a fixed order:
probabilities in an order of categories chosen here, categories and column names as strings.
"""
import numpy as np
import pandas as pd

from course_lib.data import make_wrodl, wrodl_true_probabilities

# sample_naive_bayes: frequencies in 100,000 rows differ from the solution's by a few 0.001 at most
# (standard error below 0.0023 for a difference of two samples), so 0.015 leaves a wide margin.
TOLERANCES = {"sample_naive_bayes": (0.0, 0.015)}


def _strings(values) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=str)


def _small_table() -> pd.DataFrame:
    return pd.DataFrame({
        "colour": pd.Categorical(["red", "red", "blue", "red", "blue"], categories=["blue", "green", "red"]),
        "size": ["S", "L", "S", "S", "M"],
        "shape": pd.Series(["round", "square", "round", "round", "round"], dtype=object),
    })


def _fitted(params, categories: dict):
    """The probabilities of ``params`` in the order ``categories`` gives, with the categories it holds."""
    values = {"type": type(params) is dict, "keys": _strings(sorted(params, key=str))}
    for column, order in categories.items():
        probs = params[column]
        values[column] = {"is a Series": type(probs) is pd.Series, "categories": _strings(sorted(map(str, probs.index))),
                          "probabilities": probs.reindex(order).to_numpy()}
    return values


def fit_naive_bayes(fn, namespace):
    categories = {"colour": ["blue", "green", "red"], "size": ["L", "M", "S"], "shape": ["round", "square"]}
    values = {"alpha 0": _fitted(fn(_small_table(), alpha=0.0), categories),
              "alpha 1": _fitted(fn(_small_table(), alpha=1.0), categories),
              "default": _fitted(fn(_small_table()), categories),
              "positional": _fitted(fn(_small_table(), 0.25), categories)}
    table = _small_table()
    fn(table)
    values["table unchanged"] = bool(table.equals(_small_table()))
    wrodl = make_wrodl(n=60, seed=11)
    categories = {c: list(wrodl[c].cat.categories) for c in wrodl.columns}
    values["wrodl"] = _fitted(fn(wrodl, alpha=0.5), categories)
    return values


def _params() -> dict:
    return {"colour": pd.Series([0.2, 0.0, 0.8], index=["blue", "green", "red"], name="colour"),
            "size": pd.Series([0.5, 0.5], index=["L", "S"], name="size"),
            "pattern": pd.Series([0.7, 0.2, 0.1], index=pd.CategoricalIndex(["plain", "striped", "dotted"])),
            "other size": pd.Series([0.5, 0.5], index=["L", "S"])}


def _layout(table) -> dict:
    return {"type": type(table) is pd.DataFrame, "shape": list(table.shape), "columns": _strings(table.columns),
            "categorical": [isinstance(table[c].dtype, pd.CategoricalDtype) for c in table.columns],
            "categories": [_strings(table[c].cat.categories) for c in table.columns]}


def sample_naive_bayes(fn, namespace):
    params = _params()
    snapshot = {column: probs.copy() for column, probs in params.items()}
    values = {"layout": _layout(fn(params, 5, rng=0)), "rng=None": _layout(fn(params, 3))}
    values["same seed, same table"] = bool(fn(params, 20, rng=3).equals(fn(params, 20, rng=3)))
    values["same Generator seed, same table"] = bool(fn(params, 20, rng=np.random.default_rng(7)).equals(
        fn(params, 20, rng=np.random.default_rng(7))))
    values["other seed, other table"] = not fn(params, 50, rng=1).equals(fn(params, 50, rng=2))
    # A distribution with one possible value gives one table, whatever the sampler.
    certain = {"a": pd.Series([0.0, 1.0, 0.0], index=["x", "y", "z"]), "b": pd.Series([1.0], index=["only"])}
    table = fn(certain, 6, rng=4)
    values["certain"] = [_strings(table[c].astype(object)) for c in certain]
    # Only the law of a sample is determined: frequencies (compared within TOLERANCES) and counts of the
    # values of probability 0 (exactly 0).
    n = 100_000
    table = fn(params, n, rng=12345)
    drawn = {column: np.asarray(table[column].astype(object)) for column in params}
    values["frequencies"] = [np.array([np.mean(drawn[c] == v) for v in probs.index]) for c, probs in params.items()]
    values["impossible values drawn"] = int(np.sum(drawn["colour"] == "green"))
    pairs = [("colour", "red", "size", "L"), ("size", "L", "pattern", "plain"), ("size", "L", "other size", "L")]
    values["joint frequencies"] = np.array([np.mean((drawn[a] == u) & (drawn[b] == v)) for a, u, b, v in pairs])
    values["params unchanged"] = all(params[c].equals(snapshot[c]) for c in params)
    return values


def naive_bayes_log_likelihood(fn, namespace):
    params = {"colour": pd.Series([0.2, 0.0, 0.8], index=["blue", "green", "red"]),
              "size": pd.Series([0.25, 0.75], index=["L", "S"])}
    table = pd.DataFrame({"size": ["S", "L", "S", "L", "S"], "colour": ["red", "blue", "green", "red", "blue"],
                          "id": [1, 2, 3, 4, 5]}, index=[10, 3, 7, 0, 4])
    before = table.copy()
    values = {"table": fn(params, table)}
    values["inputs unchanged"] = bool(table.equals(before))
    long_params = {f"c{i}": pd.Series([1e-4, 1 - 1e-4], index=["a", "b"]) for i in range(100)}
    values["100 columns"] = fn(long_params, pd.DataFrame({f"c{i}": ["a", "b", "a"] for i in range(100)}))
    values["wrodl"] = fn(wrodl_true_probabilities(), make_wrodl(n=25, seed=5))
    return values


PROBES = {"fit_naive_bayes": fit_naive_bayes, "sample_naive_bayes": sample_naive_bayes,
          "naive_bayes_log_likelihood": naive_bayes_log_likelihood}
