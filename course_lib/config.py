"""Seeding, device choice and the course's compute budget.

Every training loop in the course takes its size from :func:`get_budget`, which reads one
environment variable, ``COURSE_BUDGET``:

========  ===========================================================================
level     meaning
========  ===========================================================================
``smoke`` a few batches of a few examples: tests and CI check that the code runs
``cpu``   the default: the whole book builds on a 2-core laptop CPU in minutes
``full``  GPU-sized runs that reach the quality the papers show
========  ===========================================================================

A chapter picks its own numbers per level with :meth:`Budget.pick`, for example
``epochs = budget.pick(smoke=1, cpu=10, full=100)``, so the three sizes sit side by side in
the code a reader sees.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, TypeVar

import numpy as np
import torch

BUDGET_ENV_VAR = "COURSE_BUDGET"
CHECKPOINT_ENV_VAR = "COURSE_CHECKPOINT_DIR"
BUDGET_LEVELS = ("smoke", "cpu", "full")
DEFAULT_BUDGET = "cpu"

T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """How much compute a training run may use.

    Attributes:
        name: one of ``"smoke"``, ``"cpu"``, ``"full"``.
        max_train_examples: cap on the number of training examples (``None``: all of them).
        max_eval_examples: cap on the number of held-out examples used for metrics.
    """

    name: str
    max_train_examples: Optional[int]
    max_eval_examples: Optional[int]

    def pick(self, *, smoke: T, cpu: T, full: T) -> T:
        """Return the value for this budget level, e.g. ``budget.pick(smoke=1, cpu=10, full=50)``."""
        return {"smoke": smoke, "cpu": cpu, "full": full}[self.name]

    @property
    def is_smoke(self) -> bool:
        return self.name == "smoke"


BUDGETS = {
    "smoke": Budget("smoke", max_train_examples=256, max_eval_examples=128),
    "cpu": Budget("cpu", max_train_examples=5000, max_eval_examples=1000),
    "full": Budget("full", max_train_examples=None, max_eval_examples=None),
}


def get_budget(name: Optional[str] = None) -> Budget:
    """Return the compute budget named ``name``, or the one set in ``$COURSE_BUDGET`` (default ``cpu``).

    Raises:
        ValueError: if the name is not one of ``smoke``, ``cpu``, ``full``.
    """
    source = "argument"
    if name is None:
        name = os.environ.get(BUDGET_ENV_VAR, "").strip() or DEFAULT_BUDGET
        source = f"environment variable {BUDGET_ENV_VAR}"
    key = name.strip().lower()
    if key not in BUDGETS:
        raise ValueError(
            f"unknown compute budget {name!r} (from the {source}); "
            f"use one of {', '.join(BUDGET_LEVELS)}, e.g. `export {BUDGET_ENV_VAR}=cpu`"
        )
    return BUDGETS[key]


def seed_everything(seed: int = 0, deterministic: bool = True) -> torch.Generator:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and CUDA) in one call.

    With ``deterministic=True`` PyTorch is asked for deterministic algorithms where it has them
    (``warn_only``, so an op without a deterministic version still runs). Returns a
    ``torch.Generator`` seeded with the same value, for code that takes ``generator=``.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(int(seed))
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        if torch.backends.cudnn.is_available():
            torch.backends.cudnn.benchmark = False
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator


def get_device(prefer: Optional[str] = None) -> torch.device:
    """The device to train on: ``cuda`` when a GPU is present, else ``cpu``.

    ``prefer="cpu"`` forces the CPU; ``prefer="cuda"`` raises if no GPU is available.
    """
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("prefer='cuda' was asked for, but no CUDA GPU is available; use prefer=None or 'cpu'")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe_compute(budget: Optional[Budget] = None, device: Optional[torch.device] = None) -> str:
    """One line for a chapter to print: budget, device, torch version and CPU threads."""
    budget = budget or get_budget()
    device = device or get_device()
    return (
        f"compute budget: {budget.name} (set ${BUDGET_ENV_VAR}=smoke|cpu|full); device: {device}; "
        f"torch {torch.__version__}; CPU threads: {torch.get_num_threads()}"
    )


def course_root(start: Optional[Path] = None) -> Path:
    """The course's root folder: the nearest folder at or above ``start`` (default: the working
    directory) that holds ``_toc.yml``; ``start`` itself when there is none (e.g. on Colab)."""
    here = Path(start or Path.cwd()).resolve()
    return next((p for p in (here, *here.parents) if (p / "_toc.yml").exists()), here)


def checkpoint_path(name: str, budget: Optional[Budget] = None) -> Path:
    """Where a chapter keeps the trained model ``name``: ``$COURSE_CHECKPOINT_DIR`` or
    ``<course root>/_build/checkpoints``, one subfolder per budget (a model trained with the smoke
    budget is never loaded by a ``cpu`` build). The folder is created; the file may not exist yet."""
    budget = budget or get_budget()
    base = os.environ.get(CHECKPOINT_ENV_VAR)
    folder = (Path(base) if base else course_root() / "_build" / "checkpoints") / budget.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.pt"
