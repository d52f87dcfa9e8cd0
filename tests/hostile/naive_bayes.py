"""The hostile bank of the `naive_bayes` assignment (the cases are in tests/hostile/common.py)."""
from hostile.common import cases

ASSIGNMENT = "naive_bayes"
FULL = {"fit_naive_bayes": 4, "sample_naive_bayes": 3, "naive_bayes_log_likelihood": 3}
SIGNATURES = {"fit_naive_bayes": "fit_naive_bayes(df, alpha=0.0)",
              "sample_naive_bayes": "sample_naive_bayes(params, n, rng=None)",
              "naive_bayes_log_likelihood": "naive_bayes_log_likelihood(params, df)"}
WRONG = """
def fit_naive_bayes(df, alpha=0.0):  # smoothing forgotten in the denominator
    params = {}
    for column in df.columns:
        values = df[column]
        categories = list(values.cat.categories) if isinstance(values.dtype, pd.CategoricalDtype) \\
            else sorted(values.unique(), key=str)
        counts = values.value_counts().reindex(categories, fill_value=0).astype(float)
        params[column] = (counts + alpha) / len(values)
    return params
"""
CASES = cases(ASSIGNMENT, FULL, SIGNATURES, WRONG)
