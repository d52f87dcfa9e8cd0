"""Wrodl: a categorical fashion table with known per-column probabilities."""
from __future__ import annotations

from typing import Dict

import numpy as np
import pandas as pd


WRODL_PROBABILITIES: Dict[str, Dict[str, float]] = {
    "hair_type": {
        "bald": 0.12, "bun": 0.03, "curly": 0.05, "long_straight": 0.40,
        "short_wavy": 0.05, "short_flat": 0.20, "frizzy": 0.15,
    },
    "hair_color": {
        "black": 0.15, "blonde": 0.12, "brown": 0.05, "pastel_pink": 0.05, "red": 0.15, "silver_grey": 0.48,
    },
    "accessories": {"none": 0.22, "round_glasses": 0.44, "sunglasses": 0.34},
    "clothing_type": {"hoodie": 0.15, "overall": 0.35, "scoop_neck": 0.38, "v_neck": 0.12},
    "clothing_color": {
        "black": 0.01, "blue": 0.08, "grey": 0.20, "pastel_green": 0.10,
        "pastel_orange": 0.05, "pink": 0.08, "red": 0.06, "white": 0.42,
    },
    "skin_tone": {"pale": 0.20, "light": 0.30, "tan": 0.25, "brown": 0.15, "dark": 0.10},
}


def wrodl_true_probabilities() -> Dict[str, pd.Series]:
    """The true per-column distribution p_data that :func:`make_wrodl` samples from (columns independent)."""
    return {
        column: pd.Series(probs, name=column, dtype=float).rename_axis(column)
        for column, probs in WRODL_PROBABILITIES.items()
    }


def make_wrodl(n: int = 50, seed: int = 0) -> pd.DataFrame:
    """Sample ``n`` Wrodler fashions; each column drawn independently from :data:`WRODL_PROBABILITIES`.

    Columns are pandas ``Categorical`` with every possible category, observed or not, so a model
    fitted on the table knows the whole sample space.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    columns = {}
    for column, probs in WRODL_PROBABILITIES.items():
        categories = list(probs)
        values = rng.choice(len(categories), size=n, p=list(probs.values()))
        columns[column] = pd.Categorical.from_codes(values, categories=categories)
    df = pd.DataFrame(columns)
    df.index.name = "wrodler_id"
    return df
