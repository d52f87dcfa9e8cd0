import numpy as np
import pandas as pd
import pytest

from course_lib.data import make_wrodl
from course_lib.naive_bayes import fit_naive_bayes, naive_bayes_log_likelihood, sample_naive_bayes


@pytest.fixture
def table():
    # hand-countable: colour red x3, blue x1; size S x2, M x2; colour declares an unseen "green"
    colour = pd.Categorical(["red", "red", "blue", "red"], categories=["blue", "green", "red"])
    size = ["S", "M", "M", "S"]
    return pd.DataFrame({"colour": colour, "size": size})


def test_mle_matches_hand_counts(table):
    params = fit_naive_bayes(table)
    assert params["colour"].to_dict() == {"blue": 0.25, "green": 0.0, "red": 0.75}
    assert params["size"].to_dict() == {"M": 0.5, "S": 0.5}
    assert all(isinstance(p, pd.Series) for p in params.values())


def test_laplace_smoothing_formula(table):
    params = fit_naive_bayes(table, alpha=1.0)
    # (n + alpha) / (N + alpha * L) with N = 4, L = 3
    assert params["colour"].to_dict() == pytest.approx({"blue": 2 / 7, "green": 1 / 7, "red": 4 / 7})
    assert params["size"].to_dict() == pytest.approx({"M": 0.5, "S": 0.5})


def test_log_likelihood_hand_computed(table):
    params = fit_naive_bayes(table)
    rows = pd.DataFrame({"colour": ["red", "green"], "size": ["S", "M"]})
    ll = naive_bayes_log_likelihood(params, rows)
    assert ll[0] == pytest.approx(np.log(0.75 * 0.5))
    assert ll[1] == -np.inf  # an unseen category has probability 0 without smoothing
    smoothed = naive_bayes_log_likelihood(fit_naive_bayes(table, alpha=1.0), rows)
    assert smoothed[1] == pytest.approx(np.log(1 / 7 * 0.5))


def test_log_likelihood_rejects_unknown_values(table):
    params = fit_naive_bayes(table)
    with pytest.raises(KeyError, match="does not know"):
        naive_bayes_log_likelihood(params, pd.DataFrame({"colour": ["purple"], "size": ["S"]}))
    with pytest.raises(KeyError, match="lacks fitted columns"):
        naive_bayes_log_likelihood(params, pd.DataFrame({"colour": ["red"]}))


def test_sampling_is_seeded_and_follows_the_fit():
    df = make_wrodl(500, seed=0)
    params = fit_naive_bayes(df)
    a = sample_naive_bayes(params, 20000, rng=1)
    pd.testing.assert_frame_equal(sample_naive_bayes(params, 50, rng=1), sample_naive_bayes(params, 50, rng=1))
    assert not sample_naive_bayes(params, 50, rng=1).equals(sample_naive_bayes(params, 50, rng=2))
    for column, probs in params.items():
        freq = a[column].value_counts(normalize=True).reindex(probs.index)
        assert np.abs(freq - probs).max() < 0.02
        assert (freq[probs == 0] == 0).all()  # never samples a probability-0 category


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="empty"):
        fit_naive_bayes(pd.DataFrame({"a": []}))
    with pytest.raises(ValueError, match="alpha"):
        fit_naive_bayes(pd.DataFrame({"a": ["x"]}), alpha=-1)
    with pytest.raises(TypeError, match="DataFrame"):
        fit_naive_bayes([["x"]])
