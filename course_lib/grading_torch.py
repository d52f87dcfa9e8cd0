"""Tensor checks for the hidden tests of the PyTorch assignments (used with :mod:`course_lib.grading`).

Every check verifies the exact type, shape and dtype of a student's result before comparing values,
so an object that merely pretends to be a tensor, or a 1-element tensor where a 0-dim one is due,
fails with a message that says so. Comparisons use torch functions captured when this module is
first imported: the assignments import it in their locked setup cell, before any student code runs.
:func:`guarded` also fails a function's tests when the notebook has replaced one of the torch,
``math`` or builtin functions the tests rely on (``torch.allclose = lambda *a, **k: True``).
"""
from __future__ import annotations

import builtins
import contextlib
import math
from typing import Callable, Dict, Iterable, Iterator, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .grading import check

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
_float_value = float.__float__

# What the hidden tests rely on; a notebook that replaces any of these fails every graded test. (Not
# torch.manual_seed: torch itself wraps it when torch._dynamo is first imported, e.g. by an optimizer.)
_WATCHED_NAMES = (
    (builtins, "builtins", ("abs", "all", "any", "float", "isinstance", "len", "max", "min", "round", "sum", "type",
                            "zip")),
    (math, "math", ("exp", "isclose", "isfinite", "log", "sqrt")),
    (torch, "torch", ("abs", "allclose", "arccos", "cat", "cdist", "equal", "exp", "full", "isclose", "isfinite", "linspace",
                      "log", "ones", "rand", "randn", "sigmoid", "sin", "stack", "tensor", "zeros")),
    (F, "torch.nn.functional", ("binary_cross_entropy", "binary_cross_entropy_with_logits", "logsigmoid", "softplus")),
    (torch.Tensor, "torch.Tensor", ("__add__", "__bool__", "__eq__", "__float__", "__ge__", "__gt__", "__le__",
                                    "__lt__", "__mul__", "__neg__", "__radd__", "__rmul__", "__rsub__", "__sub__",
                                    "__truediv__", "backward", "clone", "detach", "dim", "dtype", "exp", "flatten",
                                    "float", "grad", "item", "mean", "norm", "numel", "pow", "requires_grad", "shape",
                                    "std", "sum", "tolist", "view")),
    (torch.autograd, "torch.autograd", ("grad",)),
    (nn.Module, "torch.nn.Module", ("__call__", "parameters")),
)
_WATCHED = {(label, name): (owner, getattr(owner, name)) for owner, label, names in _WATCHED_NAMES for name in names}

__all__ = ["check_untampered", "guarded", "describe", "check_tensor", "check_scalar", "check_float_dict", "close", "max_error", "show",
           "snapshot", "parameters_close", "parameters_error", "substituted"]


def check_untampered() -> None:
    """Fail when the notebook has replaced a function the graded tests rely on (see ``_WATCHED_NAMES``)."""
    for (label, name), (owner, original) in _WATCHED.items():
        check(getattr(owner, name, None) is original, f"the notebook replaced {label}.{name}; the graded tests need "
              "PyTorch and Python as they come, so this function earns no points")


def guarded(tests: Callable[[Callable], None]) -> Callable[[Callable], None]:
    """``tests`` with :func:`check_untampered` before and after (a replacement made while tests run counts too)."""

    def run(fn: Callable) -> None:
        check_untampered()
        tests(fn)
        check_untampered()

    return run


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


def check_scalar(value: object, what: str, dtype: torch.dtype = torch.float32, finite: bool = True) -> float:
    """Check that ``value`` is a 0-dim tensor of ``dtype`` (finite unless told); return it as a float."""
    check_tensor(value, what, (), dtype)
    number = _tolist(_detach(value))
    check(not finite or math.isfinite(number), f"{what} should be a finite number; yours is {number}")
    return number


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


@contextlib.contextmanager
def substituted(namespace: dict, **functions) -> Iterator[None]:
    """Inside the block, ``namespace[name]`` is ``functions[name]``; restored (or removed) on exit.

    The hidden test of a function that calls other graded functions (``vae_loss`` calls
    ``kl_divergence``) puts correct versions of those in the notebook's namespace while it runs,
    so a mistake costs the points of the function that holds it, and only those.
    """
    missing = object()
    saved: List[Tuple[str, object]] = [(name, namespace.get(name, missing)) for name in functions]
    try:
        namespace.update(functions)
        yield
    finally:
        for name, value in saved:
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value

