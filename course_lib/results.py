"""Measured results of each chapter, collected at build time for the book's results appendix.

A chapter calls :func:`record_result` once at its end; the appendix page calls
:func:`load_results` and shows one table. Records are JSON files, one per chapter, in
``$COURSE_RESULTS_DIR`` or, by default, ``_build/results`` under the course root (the folder
holding ``_toc.yml``), so a rebuild overwrites a chapter's record rather than adding a row.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Dict, Optional

import pandas as pd

from .config import course_root

RESULTS_ENV_VAR = "COURSE_RESULTS_DIR"


def results_dir() -> Path:
    """The folder holding the result records (created on first use)."""
    configured = os.environ.get(RESULTS_ENV_VAR)
    if configured:
        path = Path(configured)
    else:
        path = course_root() / "_build" / "results"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _plain(value: Any) -> Any:
    """Make numbers from numpy/torch JSON-friendly; refuse NaN so a broken run is not reported."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"refusing to record a non-finite metric value ({value})")
    if not isinstance(value, (str, int, float, bool, type(None))):
        raise TypeError(f"metric values must be numbers or strings, got {type(value).__name__}")
    return value


def record_result(
    chapter: str,
    metrics: Dict[str, Any],
    *,
    budget: str,
    data_source: str,
    train_seconds: float,
    device: Optional[str] = None,
) -> Path:
    """Write one chapter's measured results; returns the path of the record.

    Args:
        chapter: the chapter's file name without extension, e.g. ``"05_vae"``.
        metrics: name -> value, e.g. ``{"test -ELBO (nats/image)": 131.2}``.
        budget: the compute budget the numbers were measured with.
        data_source: which data the chapter used (e.g. ``MNISTData.source``).
        train_seconds: wall-clock time spent training (or fitting) in the chapter.
    """
    record = {
        "chapter": chapter,
        "budget": budget,
        "data_source": data_source,
        "train_seconds": round(float(train_seconds), 2),
        "device": device or "cpu",
        "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "metrics": {str(k): _plain(v) for k, v in metrics.items()},
    }
    path = results_dir() / f"{chapter}.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def load_results() -> pd.DataFrame:
    """All recorded chapters as one table (one row per chapter and metric), sorted by chapter."""
    rows = []
    for path in sorted(results_dir().glob("*.json")):
        record = json.loads(path.read_text())
        for name, value in record["metrics"].items():
            rows.append({
                "chapter": record["chapter"], "metric": name, "value": value,
                "budget": record["budget"], "data": record["data_source"],
                "train time (s)": record["train_seconds"], "device": record["device"],
            })
    columns = ["chapter", "metric", "value", "budget", "data", "train time (s)", "device"]
    return pd.DataFrame(rows, columns=columns)
