"""Checks on tensors and modules for the hidden tests of the PyTorch assignments (``wgan_gp``, ``cyclegan``).

They run in the student's kernel, next to :mod:`course_lib.grading` (``check``, ``call``,
``run_hidden_tests``), and hold no reference implementation: a failed check raises
:class:`~course_lib.grading.CheckFailed` with a message that names the property, never the code.

* :func:`scalar_tensor` - a loss must be a 0-dim floating tensor of the inputs' dtype, finite.
* :func:`value` - a 0-dim tensor as a Python float (comparisons in plain Python, not ``torch.allclose``).
* :func:`parameter_values` / :func:`largest_change` - snapshots of a module's parameters.
* :func:`graded_references` - while one function is graded, the *other* graded functions it may
  call are replaced by correct ones, so a mistake costs the points of one function only.
* :func:`forbidden_decorated_calls` - switches off course_lib functions that a decorator wraps
  (``@torch.no_grad()``), which :func:`course_lib.grading.forbidden_calls` leaves running.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import types
from typing import Callable, Dict, Iterator, Mapping, Sequence

import torch

from .grading import _is_forbidden, _trap, check

__all__ = ["scalar_tensor", "value", "parameter_values", "largest_change", "graded_references",
           "forbidden_decorated_calls"]


def scalar_tensor(result: object, what: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Check that ``result`` is a finite 0-dim ``torch.Tensor`` of ``dtype``; return it.

    ``what`` names the result in the messages, e.g. ``"critic_loss(real_scores, fake_scores)"``.
    """
    if isinstance(result, (float, int)) and not isinstance(result, bool):
        check(False, f"{what} should be a 0-dim torch.Tensor; yours is a Python {type(result).__name__} "
                     "(keep the tensor: .item() cuts it from the graph, so no gradient can flow)")
    check(type(result) is torch.Tensor, f"{what} should be a torch.Tensor; yours is a {type(result).__name__}")
    check(result.dim() == 0, f"{what} should be a 0-dim tensor (one number, averaged as described); "
                             f"yours has shape {tuple(result.shape)}")
    check(result.dtype == dtype, f"{what} should have dtype {dtype} like its inputs; yours has {result.dtype}")
    check(math.isfinite(value(result)), f"{what} should be finite; yours is {value(result)}")
    return result


def value(result: torch.Tensor) -> float:
    """A 0-dim tensor as a Python float."""
    return float(result.detach().reshape(()).tolist())


def parameter_values(module: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """``{name: detached copy}`` of every parameter of ``module``."""
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def largest_change(module: torch.nn.Module, before: Mapping[str, torch.Tensor]) -> float:
    """The largest absolute change of any parameter of ``module`` since ``before``."""
    now = dict(module.named_parameters())
    return max(float((now[name].detach() - old).abs().max()) for name, old in before.items())


@contextlib.contextmanager
def graded_references(namespace: dict, references: Mapping[str, Callable]) -> Iterator[None]:
    """Inside the block, ``namespace[name]`` is ``references[name]`` for every name; restored on exit.

    A graded function that calls another graded function (a training step calling the student's
    loss) then runs with a correct version of it: a mistake in the loss costs the loss's points,
    not the step's too.
    """
    missing = object()
    saved = {name: namespace.get(name, missing) for name in references}
    try:
        namespace.update(references)
        yield
    finally:
        for name, old in saved.items():
            if old is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = old


@contextlib.contextmanager
def forbidden_decorated_calls(forbidden: Sequence[str]) -> Iterator[None]:
    """Like :func:`course_lib.grading.forbidden_calls`, for the functions it skips: those defined
    in a ``forbidden`` module and wrapped by a decorator (e.g. ``@torch.no_grad()``), whose
    wrapper has a closure. The wrapped original (``__wrapped__``) raises instead; restored on exit.
    """
    targets = []
    for name in forbidden:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for obj in vars(module).values():
            inner = getattr(obj, "__wrapped__", None) if isinstance(obj, types.FunctionType) else None
            if _is_forbidden(obj, [name]) and isinstance(inner, types.FunctionType) and not inner.__closure__:
                targets.append(inner)
    saved = [(fn, fn.__code__) for fn in targets]
    try:
        for fn, _ in saved:
            fn.__code__ = _trap.__code__
        yield
    finally:
        for fn, code in saved:
            fn.__code__ = code
