"""The outside check, grader half: load a probe file strictly and compare it with the solution's.

Runs in the grader's process, with numpy only: nothing the student's kernel patched can reach it.
A function passes when the student's file holds exactly the solution's keys for it, each with the
same dtype and shape, the same positions of NaN and of each infinity, and finite values within
``rtol``/``atol`` of the solution's (strings and integers must be equal).
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from course_lib.grading.probe import SEPARATOR

DEFAULT_TOLERANCE = (1e-4, 1e-5)


class BadProbeFile(ValueError):
    """The probe file is missing, too big, or not a plain ``.npz`` of numbers and strings."""


def load_strict(path: Path, max_bytes: int) -> Dict[str, np.ndarray]:
    """The arrays of ``path``: no symbolic link, at most ``max_bytes``, no pickled objects."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        raise BadProbeFile(f"no probe file ({error.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadProbeFile(f"the probe file is larger than {max_bytes} bytes")
    import io

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise BadProbeFile(f"the probe file is not a plain .npz ({error})") from None
    for key, array in arrays.items():
        if type(array) is not np.ndarray or array.dtype.kind not in "biufU":
            raise BadProbeFile(f"{key} holds {array.dtype}, not numbers or strings")
    return arrays


def function_arrays(arrays: Mapping[str, np.ndarray], function: str) -> Dict[str, np.ndarray]:
    return {k: v for k, v in arrays.items() if k == function or k.startswith(function + SEPARATOR)}


def mismatch(expected: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray],
             tolerance: Tuple[float, float] = DEFAULT_TOLERANCE) -> Optional[str]:
    """Why ``got`` differs from ``expected`` (``None`` when it matches)."""
    if not expected:
        return "the solution wrote no probe values"
    if set(got) != set(expected):
        missing, unexpected = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        return f"probe values missing {missing[:3]} or unexpected {unexpected[:3]}"
    rtol, atol = tolerance
    for key, want in expected.items():
        have = got[key]
        if have.dtype != want.dtype or have.shape != want.shape:
            return f"{key}: {have.dtype}{list(have.shape)} instead of {want.dtype}{list(want.shape)}"
        if want.dtype.kind in "biuU":
            if not np.array_equal(have, want):
                return f"{key}: different values"
            continue
        for special in (np.isnan, np.isposinf, np.isneginf):
            if not np.array_equal(special(have), special(want)):
                return f"{key}: NaN or infinity where the solution has none, or the reverse"
        finite = np.isfinite(want)
        a, b = have[finite].astype(np.float64), want[finite].astype(np.float64)
        if not np.all(np.abs(a - b) <= atol + rtol * np.abs(b)):
            return f"{key}: values differ from the solution's"
    return None
