"""Measured results of each chapter, collected at build time for the book's results appendix.

A chapter collects its qualitative statements about results as checked claims,

    claims = Claims("05_variational_autoencoders")
    claims.check("reconstruction error rises with beta", bool(np.all(np.diff(errors) > 0)),
                 **{f"error, beta={b:g}": e for b, e in zip(betas, errors)})

and calls :func:`record_result` once at its end with its metrics and those claims. The record
holds a ``"claims"`` list of ``{"claim", "measured", "holds"}``. At the ``cpu`` and ``full``
budgets a claim that does not hold fails the chapter (:class:`ClaimFailed`, after the record is
written) with one message naming the chapter, the claim and the numbers; at the ``smoke`` budget
claims are recorded, not enforced, since a few batches of training prove nothing.

The appendix page calls :func:`load_results`, :func:`load_claims` and :func:`evaluate_targets`.
Records are JSON files, one per chapter, in ``$COURSE_RESULTS_DIR`` or, by default,
``_build/results`` under the course root (the folder holding ``_toc.yml``), so a rebuild
overwrites a chapter's record rather than adding a row.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

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


ENFORCED_BUDGETS = ("cpu", "full")


class ClaimFailed(AssertionError):
    """A chapter's text states a result that its build did not measure."""


def _measured(values: Dict[str, Any]) -> Dict[str, Any]:
    out = {}
    for name, value in values.items():
        value = _plain(value)
        out[str(name)] = round(value, 4) if isinstance(value, float) else value
    return out


def _describe(measured: Dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in measured.items()) or "no values"


class Claims:
    """The checked claims of one chapter: each qualitative statement with the numbers behind it.

    ``check(claim, holds, **measured)`` records the statement, the measured values it rests on and
    whether it holds, prints one line, and returns ``holds``. Nothing is raised here:
    :func:`record_result` enforces the claims (at the ``cpu`` and ``full`` budgets) once the whole
    chapter has run, so one failing build names every false claim at once.
    """

    def __init__(self, chapter: str):
        self.chapter = chapter
        self.items: List[Dict[str, Any]] = []

    def check(self, claim: str, holds: Any, **measured: Any) -> bool:
        if not isinstance(claim, str) or not claim.strip():
            raise ValueError("a claim needs its text, e.g. claims.check('loss falls', a < b, before=a, after=b)")
        if not measured:
            raise ValueError(f"claim {claim!r} has no measured values: pass the numbers it rests on as keywords")
        holds = bool(holds.item() if hasattr(holds, "item") else holds)
        item = {"claim": claim, "measured": _measured(measured), "holds": holds}
        self.items.append(item)
        print(f"[claim {'holds' if holds else 'DOES NOT HOLD'}] {claim} ({_describe(item['measured'])})")
        return holds

    def failed(self) -> List[Dict[str, Any]]:
        return [item for item in self.items if not item["holds"]]

    def __len__(self) -> int:
        return len(self.items)


def record_result(
    chapter: str,
    metrics: Dict[str, Any],
    *,
    budget: str,
    data_source: str,
    train_seconds: float,
    device: Optional[str] = None,
    claims: Optional[Claims] = None,
) -> Path:
    """Write one chapter's measured results; returns the path of the record.

    Args:
        chapter: the chapter's file name without extension, e.g. ``"05_vae"``.
        metrics: name -> value, e.g. ``{"test -ELBO (nats/image)": 131.2}``.
        budget: the compute budget the numbers were measured with.
        data_source: which data the chapter used (e.g. ``MNISTData.source``).
        train_seconds: wall-clock time spent training (or fitting) in the chapter.
        claims: the chapter's checked claims (see :class:`Claims`).

    Raises:
        ClaimFailed: at the ``cpu`` or ``full`` budget, when a claim does not hold (the record is
            written first, so the appendix can still show it).
    """
    if claims is not None and claims.chapter != chapter:
        raise ValueError(f"claims were collected for chapter {claims.chapter!r}, not {chapter!r}")
    record = {
        "chapter": chapter,
        "budget": budget,
        "data_source": data_source,
        "train_seconds": round(float(train_seconds), 2),
        "device": device or "cpu",
        "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "metrics": {str(k): _plain(v) for k, v in metrics.items()},
        "claims": list(claims.items) if claims is not None else [],
    }
    path = results_dir() / f"{chapter}.json"
    path.write_text(json.dumps(record, indent=2))
    failed = claims.failed() if claims is not None else []
    if failed and budget in ENFORCED_BUDGETS:
        lines = [f"chapter {chapter}: {len(failed)} of {len(claims)} claims do not hold at the {budget} budget:"]
        lines += [f"  - {item['claim']} (measured: {_describe(item['measured'])})" for item in failed]
        lines.append("Fix the recipe, or rewrite the text to what is measured.")
        raise ClaimFailed("\n".join(lines))
    return path


@dataclass(frozen=True)
class Target:
    """A result the course promises at the ``cpu`` budget: ``metric`` (divided by ``over`` when
    given, e.g. a Frechet distance over the real-data reference) compared with ``threshold``."""

    chapter: str
    metric: str
    op: str  # "<=" or ">="
    threshold: float
    over: Optional[str] = None

    def describe(self) -> str:
        value = f"{self.metric} / {self.over}" if self.over else self.metric
        return f"{value} {self.op} {self.threshold:g}"


TARGETS = (
    Target("05_variational_autoencoders", "MNIST test -ELBO, latent_dim=16 (nats/image)", "<=", 115),
    Target("05_variational_autoencoders", "digit classifier score of VAE samples", ">=", 6.0),
    Target("05_variational_autoencoders", "avatar FD (VAE samples)", "<=", 15, over="avatar FD (real reference)"),
    Target("05_variational_autoencoders", "avatar classifier accuracy, smile (real held out)", ">=", 0.95),
    Target("05_variational_autoencoders", "smile-vector success rate (alpha=1)", ">=", 0.80),
    Target("06_gans", "DCGAN MNIST: Frechet distance, samples", "<=", 2.5,
           over="DCGAN MNIST: Frechet distance, real held out"),
    Target("06_gans", "DCGAN MNIST: classifier score, samples", ">=", 7.5),
    Target("07_wgan", "ring WGAN: correlation of critic estimate with EMD", ">=", 0.8),
    Target("07_wgan", "WGAN MNIST: Frechet distance, samples", "<=", 4,
           over="WGAN MNIST: Frechet distance, real held out"),
    Target("08_wgan_gp", "avatar Frechet distance, WGAN-GP", "<=", 3, over="avatar Frechet distance, real avatars"),
    Target("09_cyclegan", "L1 to true target, G: X->Y", "<=", 0.02),
    Target("09_cyclegan", "L1 to true target, F: Y->X", "<=", 0.02),
    Target("09_cyclegan", "content attributes kept, G (mean)", ">=", 0.95),
    Target("09_cyclegan", "content attributes kept, F (mean)", ">=", 0.95),
)


def _records() -> List[Dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(results_dir().glob("*.json"))]


def load_results() -> pd.DataFrame:
    """All recorded chapters as one table (one row per chapter and metric), sorted by chapter."""
    rows = []
    for record in _records():
        for name, value in record["metrics"].items():
            rows.append({
                "chapter": record["chapter"], "metric": name, "value": value,
                "budget": record["budget"], "data": record["data_source"],
                "train time (s)": record["train_seconds"], "device": record["device"],
            })
    columns = ["chapter", "metric", "value", "budget", "data", "train time (s)", "device"]
    return pd.DataFrame(rows, columns=columns)


def load_claims() -> pd.DataFrame:
    """Every chapter's checked claims: one row per claim with its measured values and verdict."""
    rows = [
        {"chapter": record["chapter"], "claim": item["claim"], "measured": _describe(item["measured"]),
         "holds": bool(item["holds"]), "budget": record["budget"]}
        for record in _records() for item in record.get("claims", [])
    ]
    return pd.DataFrame(rows, columns=["chapter", "claim", "measured", "holds", "budget"])


def evaluate_targets(targets=TARGETS) -> pd.DataFrame:
    """Each target with the recorded value (a ratio where the target has ``over``) and whether it
    is met; ``value`` is ``None`` and ``met`` False where the chapter did not record the metric."""
    recorded = {record["chapter"]: record for record in _records()}
    rows = []
    for target in targets:
        record = recorded.get(target.chapter)
        metrics = record["metrics"] if record else {}
        value: Optional[Union[int, float]] = None
        if target.metric in metrics and (target.over is None or target.over in metrics):
            value = float(metrics[target.metric])
            if target.over is not None:
                value = value / float(metrics[target.over])
        met = value is not None and (value <= target.threshold if target.op == "<=" else value >= target.threshold)
        rows.append({"chapter": target.chapter, "target": target.describe(),
                     "value": None if value is None else round(value, 4), "met": bool(met),
                     "budget": record["budget"] if record else None})
    return pd.DataFrame(rows, columns=["chapter", "target", "value", "met", "budget"])
