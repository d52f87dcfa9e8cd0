"""The tensor checks of the hidden tests, inside the student's kernel: one vocabulary for every assignment.

Every check verifies the exact type, shape and dtype of a student's result before comparing values,
so an object that merely pretends to be a tensor, or a 1-element tensor where a 0-dim one is due,
fails with a message that says so (:class:`~course_lib.grading.kernel.checks.CheckFailed`). The
checks hold no reference implementation. Comparisons use torch functions captured when this module
is first imported: the assignments import :mod:`course_lib.grading.kernel` in their locked setup
cell, before any student code runs.

* results: :func:`check_tensor`, :func:`check_scalar` (a loss: a finite 0-dim tensor),
  :func:`check_float_dict` (what a training step returns), :func:`as_float`, :func:`describe`;
* values: :func:`close`, :func:`max_error`, :func:`show`;
* modules: :func:`snapshot` of the parameters, then :func:`parameters_close` / :func:`parameters_error`.
"""
from __future__ import annotations

import math
from typing import Dict, Iterable, List, Sequence

import torch
from torch import nn

from .checks import check

Tensor = torch.Tensor

# Captured at import time (before student code runs in the kernel).
_Tensor = torch.Tensor
_allclose = torch.allclose
_isfinite = torch.isfinite
_tolist = torch.Tensor.tolist
_detach = torch.Tensor.detach
_clone = torch.Tensor.clone
_float = torch.Tensor.float
_abs = torch.abs
_max = torch.max
_reshape = torch.Tensor.reshape
_float_value = float.__float__

__all__ = ["describe", "check_tensor", "check_scalar", "as_float", "check_float_dict", "close", "max_error", "show",
           "snapshot", "parameters_close", "parameters_error"]


def _shape_text(shape: Sequence[int]) -> str:
    shape = tuple(shape)
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def describe(value: object) -> str:
    """``a torch.Tensor of shape (1,) and dtype float32``, ``a float``, ``a tuple``..."""
    if type(value) is _Tensor:
        return f"a torch.Tensor of shape {_shape_text(value.shape)} and dtype {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, _Tensor):
        return f"a {type(value).__name__} (a subclass of torch.Tensor)"
    return f"a {type(value).__name__}"


def check_tensor(value: object, what: str, shape: Sequence[int], dtype: torch.dtype = torch.float32) -> Tensor:
    """Check that ``value`` is exactly a ``torch.Tensor`` of ``shape`` and ``dtype``; return it."""
    shape = tuple(shape)
    check(type(value) is _Tensor, f"{what} should be a torch.Tensor; yours is {describe(value)}")
    got = tuple(value.shape)
    if shape == () and got != ():
        hint = (": reduce it to a single number (e.g. .sum() or .mean() over every dimension, "
                "without keepdim) so it is a 0-dim tensor") if value.numel() == 1 else ""
        check(False, f"{what} should be a 0-dim tensor (one number); yours has shape {_shape_text(got)}{hint}")
    check(got == shape, f"{what} should have shape {_shape_text(shape)}; yours has shape {_shape_text(got)}")
    check(value.dtype == dtype, f"{what} should have dtype {str(dtype).replace('torch.', '')} (the dtype of the "
          f"inputs); yours has dtype {str(value.dtype).replace('torch.', '')}")
    return value


def check_scalar(value: object, what: str, dtype: torch.dtype = torch.float32, finite: bool = True) -> Tensor:
    """Check that ``value`` is a 0-dim ``torch.Tensor`` of ``dtype`` (finite unless told); return it.

    ``what`` names the result in the messages, e.g. ``"critic_loss(real_scores, fake_scores)"``.
    Use :func:`as_float` for its value as a Python float.
    """
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        check(False, f"{what} should be a 0-dim torch.Tensor; yours is a Python {type(value).__name__} "
                     "(keep the tensor: .item() cuts it from the graph, so no gradient can flow)")
    check_tensor(value, what, (), dtype)
    number = as_float(value)
    check(not finite or math.isfinite(number), f"{what} should be a finite number; yours is {number}")
    return value


def as_float(value: Tensor) -> float:
    """A one-element tensor's value as a Python float (comparisons in plain Python, not ``torch.allclose``)."""
    return float(_tolist(_reshape(_detach(value), ())))


def check_float_dict(result: object, what: str, keys: Iterable[str]) -> Dict[str, float]:
    """Check that ``result`` is a dict holding Python floats under ``keys``; return those floats."""
    check(isinstance(result, dict), f"{what} should return a dict (e.g. {{'loss': loss.item()}}); yours returned "
          f"{describe(result)}")
    values = {}
    for key in keys:
        check(key in result, f"{what} should return a dict with the key {key!r}; yours has the keys {list(result)}")
        value = result[key]
        hint = ": use .item() to turn a 0-dim tensor into a Python float" if isinstance(value, _Tensor) else ""
        entry = f"the {key!r} entry of the dict {what} returns"
        check(isinstance(value, float), f"{entry} should be a Python float; yours is {describe(value)}{hint}")
        values[key] = _float_value(value)
        check(math.isfinite(values[key]), f"{entry} should be a finite number; yours is {values[key]}")
    return values


def close(a: Tensor, b: Tensor, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """Whether two tensors of the same shape hold the same values within the tolerances."""
    if tuple(a.shape) != tuple(b.shape):
        return False
    return bool(_allclose(_float(_detach(a)), _float(_detach(b)), rtol=rtol, atol=atol))


def max_error(a: Tensor, b: Tensor) -> float:
    """Largest absolute difference between two tensors of the same shape (``inf`` if not finite)."""
    diff = _abs(_float(_detach(a)) - _float(_detach(b)))
    if diff.numel() == 0:
        return 0.0
    if not bool(_isfinite(diff).all()):
        return math.inf
    return float(_tolist(_max(diff)))


def show(value: Tensor, digits: int = 4) -> str:
    """A tensor's values, rounded, for a message: ``-1.0`` or ``[0.5, 1.25]``."""
    values = _tolist(_detach(value))

    def fmt(v):
        return [fmt(x) for x in v] if isinstance(v, list) else float(f"{v:.{digits}g}")

    return str(fmt(values))


def snapshot(module: nn.Module) -> List[Tensor]:
    """Detached copies of every parameter of ``module``, in ``module.parameters()`` order."""
    return [_clone(_detach(p)) for p in module.parameters()]


def parameters_close(module: nn.Module, expected: Sequence[Tensor], rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """Whether every parameter of ``module`` equals ``expected`` (a :func:`snapshot`-like list)."""
    params = list(module.parameters())
    return len(params) == len(expected) and all(close(p, e, rtol, atol) for p, e in zip(params, expected))


def parameters_error(module: nn.Module, expected: Sequence[Tensor]) -> float:
    """Largest absolute difference between the parameters of ``module`` and ``expected``."""
    return max((max_error(p, e) for p, e in zip(module.parameters(), expected)), default=0.0)
