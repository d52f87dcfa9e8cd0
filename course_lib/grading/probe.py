"""The outside check, kernel half: call each graded function on fixed inputs and save plain arrays.

The runner appends one cell per graded function ``f``, ``run_probes(ASSIGNMENT, globals(), "probe-f.npz", "f")``,
after the notebook (a function that hangs or kills the kernel then costs only its own values).
For the function (every function in ``course_lib.grading.probes.<assignment>.PROBES`` when
``only`` is None) it calls the probe
(``probe(fn, namespace)`` returns tensors, floats, arrays, or dicts and lists of them), turns the
result into numpy arrays of exact built-in types, and writes them all to one ``.npz`` file without
pickles. A probe that raises, or returns anything else, leaves its function out of the file.

Nothing here is trusted: it runs in the student's kernel. The grader loads the file strictly and
compares it, in its own process, with what the instructor's solution wrote (:mod:`.compare`).
"""
from __future__ import annotations

import contextlib
import importlib
import io
import warnings

import numpy as np

SEPARATOR = "::"


def flatten(prefix: str, value, out: dict) -> None:
    """Add ``value`` to ``out`` as ``{prefix::key: ndarray}``; refuse every type but plain numbers."""
    import torch

    if type(value) is dict:
        for key, item in value.items():
            flatten(f"{prefix}{SEPARATOR}{key}", item, out)
    elif type(value) in (list, tuple):
        for index, item in enumerate(value):
            flatten(f"{prefix}{SEPARATOR}{index}", item, out)
    elif type(value) is torch.Tensor:
        out[prefix] = value.detach().cpu().numpy().copy()
    elif type(value) in (float, int, bool):
        out[prefix] = np.asarray(value)
    elif type(value) is np.ndarray and value.dtype.kind in "biufU":
        out[prefix] = value.copy()
    else:
        raise TypeError(f"{prefix} is a {type(value).__name__}, not a tensor, array or number")


def run_probes(assignment: str, namespace: dict, path: str, only: str | None = None) -> None:
    spec = importlib.import_module(f"course_lib.grading.probes.{assignment}")
    arrays: dict = {}
    for name, probe in spec.PROBES.items():
        if only is not None and name != only:
            continue
        found: dict = {}
        try:
            with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), \
                    contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                flatten(name, probe(namespace[name], namespace), found)
        except BaseException:  # noqa: BLE001 - the student's function may raise anything: it is left out
            continue
        arrays.update(found)
    np.savez(path, **arrays)
