"""How the hidden tests run the student's code, inside the student's kernel: the guard.

* :func:`call` - call the student's function; whatever it raises becomes one :class:`CheckFailed`.
* :func:`run_hidden_tests` - grade one function, all or nothing, with the guards below switched on.
* :func:`borrowed_implementation` - why a function is not the notebook's own code (``None`` if it is).
* :func:`forbidden_calls`, :func:`forbidden_decorated_calls` - the course's reference
  implementations raise :class:`ReferenceCalled` instead of running while the tests run.
* :func:`check_untampered`, :func:`guarded` - fail a function's tests (with
  :class:`~course_lib.grading.kernel.checks.TamperingDetected`) when the notebook replaced one of
  the torch, ``math`` or builtin functions the tests rely on (``torch.allclose = lambda *a, **k: True``).
  What they compare against is captured when this module is first imported: the assignments
  import :mod:`course_lib.grading.kernel` in their locked setup cell, before any student code runs.
"""
from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import math
import types
import warnings
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .checks import CheckFailed, TamperingDetected, check

__all__ = ["ReferenceCalled", "call", "run_hidden_tests", "borrowed_implementation", "forbidden_calls",
           "forbidden_decorated_calls", "check_untampered", "guarded"]


class ReferenceCalled(RuntimeError):
    """Raised by a course_lib reference implementation that the tests switched off (:func:`forbidden_calls`)."""


def call(fn: Callable, description: str, *args, **kwargs):
    """Call the student's ``fn``; any exception becomes ``CheckFailed("<description> raised ...")``."""
    try:
        return fn(*args, **kwargs)
    except CheckFailed:
        raise
    except BaseException as error:  # noqa: BLE001 - a student's code may raise anything, even SystemExit
        if isinstance(error, ReferenceCalled) or isinstance(error.__context__, ReferenceCalled):
            raise CheckFailed("it calls course_lib's implementation; graded functions must be your "
                              "own code, so this one earns no points") from None
        raise CheckFailed(f"{description} raised {type(error).__name__}: {error}") from None


def _dotted(obj: object) -> str:
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    return f"{getattr(obj, '__module__', '') or ''}.{getattr(obj, '__qualname__', '')}"


def _is_forbidden(obj: object, forbidden: Sequence[str]) -> bool:
    return any(_dotted(obj) == f or _dotted(obj).startswith(f + ".") for f in forbidden)


def _code_words(code: types.CodeType) -> set:
    """Every dotted component of the names and string constants used by ``code`` and its inner code."""
    words = set()
    for item in (*code.co_names, *code.co_consts):
        if isinstance(item, str):
            words.update(item.split("."))
        elif isinstance(item, types.CodeType):
            words |= _code_words(item)
    return words


def borrowed_implementation(fn: object, forbidden: Sequence[str]) -> Optional[str]:
    """Why ``fn`` is not the notebook's own code (``None`` when it is).

    ``fn`` must be a plain function defined in the notebook (module ``__main__``) that neither imports
    nor refers to anything named in ``forbidden`` (dotted names of modules or functions, e.g.
    ``"course_lib.naive_bayes"``), directly or through other functions defined in the notebook.
    """
    name = getattr(fn, "__name__", type(fn).__name__)
    reason = _borrowed(fn, forbidden, set())
    return None if reason is None else f"{name} {reason}"


def _borrowed(fn: object, forbidden: Sequence[str], seen: set) -> Optional[str]:
    if _is_forbidden(fn, forbidden):
        return f"is {_dotted(fn)}, not your own function"
    if not isinstance(fn, types.FunctionType) or fn.__module__ != "__main__":
        return "must be a function defined with `def` in this notebook"
    seen.add(fn)
    words = _code_words(fn.__code__)
    for f in forbidden:
        if set(f.split(".")) <= words:
            return f"imports or refers to {f}"
    referenced = [fn.__globals__[n] for n in words if n in fn.__globals__]
    referenced += [cell.cell_contents for cell in fn.__closure__ or ()]
    referenced += list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
    for value in referenced:
        value = getattr(value, "func", value)  # functools.partial
        if _is_forbidden(value, forbidden):
            return f"uses {_dotted(value)}"
        if isinstance(value, types.FunctionType) and value.__module__ == "__main__" and value not in seen:
            reason = _borrowed(value, forbidden, seen)
            if reason:
                return f"calls {value.__name__}, which {reason}"
    return None


def _trap(*args, **kwargs):
    # This code replaces a forbidden function's own, so it runs with *that* module's globals: import
    # the marker here rather than naming a global of this module.
    from course_lib.grading.kernel.guard import ReferenceCalled

    raise ReferenceCalled("course_lib reference implementation called while grading")


@contextlib.contextmanager
def forbidden_calls(forbidden: Sequence[str]):
    """Inside the block, every function named in ``forbidden`` (or defined in a module named there,
    or in one of its submodules)
    raises instead of running, whoever holds a reference to it. Restored on exit."""
    targets = []
    for name in forbidden:
        try:
            module = importlib.import_module(name)
            targets += [v for v in vars(module).values()
                        if isinstance(v, types.FunctionType) and _is_forbidden(v, [name])]
        except ImportError:
            module_name, _, attr = name.rpartition(".")
            targets.append(getattr(importlib.import_module(module_name), attr))
    with _switched_off([fn for fn in targets if not fn.__closure__]):
        yield


@contextlib.contextmanager
def _switched_off(functions: Sequence[types.FunctionType]) -> Iterator[None]:
    """Inside the block each of ``functions`` runs :func:`_trap`'s code instead of its own (a
    function with a closure cannot take a closure-free code object); restored on exit."""
    saved = [(fn, fn.__code__) for fn in functions]
    try:
        for fn, _ in saved:
            fn.__code__ = _trap.__code__
        yield
    finally:
        for fn, code in saved:
            fn.__code__ = code


def run_hidden_tests(name: str, namespace: dict, tests: Callable[[Callable], None], points: int,
                     forbidden: Sequence[str]) -> None:
    """Grade the student's function ``namespace[name]`` with ``tests(fn)``: all or nothing.

    The function must be the student's own (:func:`borrowed_implementation`), and ``forbidden``
    course_lib code is switched off while the tests run. On failure raise one :class:`CheckFailed`
    saying which property failed; IPython prints only that message.
    """
    try:
        fn = namespace.get(name)
        check(fn is not None, f"{name} is not defined; run the cell that defines it (keep its name)")
        problem = borrowed_implementation(fn, forbidden)
        check(problem is None, f"{problem}; graded functions must be your own code, so this one earns no points")
        check_untampered()
        # Warnings and stderr are silenced: nbgrader gives 0 to a grading cell that writes to stderr.
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), forbidden_calls(forbidden):
            warnings.simplefilter("ignore")
            tests(fn)
        check_untampered()
    except CheckFailed as failure:
        kind, message = type(failure), str(failure)
    except BaseException as error:  # noqa: BLE001 - a test tripped over an unexpected result
        kind, message = CheckFailed, f"the tests could not check your result ({type(error).__name__}: {error})"
    else:
        print(f"{name}: all hidden tests passed ({points} of {points} points)")
        return
    # The failure's own class is kept: the grader tells tampering from a mistake by it.
    raise (TamperingDetected if issubclass(kind, TamperingDetected) else CheckFailed)(
        f"{name} earns 0 of {points} points: {message}")


@contextlib.contextmanager
def forbidden_decorated_calls(forbidden: Sequence[str]) -> Iterator[None]:
    """Like :func:`forbidden_calls`, for the functions it skips: those defined
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
    with _switched_off(targets):
        yield


# What the hidden tests rely on; a notebook that replaces any of these fails every graded test. (Not
# torch.manual_seed: torch itself wraps it when torch._dynamo is first imported, e.g. by an optimizer.)
_WATCHED_NAMES = (
    (builtins, "builtins", ("abs", "all", "any", "float", "isinstance", "len", "max", "min", "round", "sum", "type",
                            "zip")),
    (math, "math", ("exp", "isclose", "isfinite", "log", "sqrt")),
    (np, "numpy", ("abs", "all", "allclose", "any", "array", "array_equal", "asarray", "exp", "isclose", "isfinite",
                   "isinf", "isnan", "log", "sum")),
    (pd.Series, "pandas.Series", ("__eq__", "sum", "to_numpy")),
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


def check_untampered() -> None:
    """Fail when the notebook has replaced a function the graded tests rely on (see ``_WATCHED_NAMES``)."""
    for (label, name), (owner, original) in _WATCHED.items():
        if getattr(owner, name, None) is not original:
            raise TamperingDetected(f"the notebook replaced {label}.{name}; the graded tests need "
                                    "PyTorch and Python as they come, so this function earns no points")


def guarded(tests: Callable[[Callable], None]) -> Callable[[Callable], None]:
    """``tests`` with :func:`check_untampered` before and after (a replacement made while tests run counts too)."""

    def run(fn: Callable) -> None:
        check_untampered()
        tests(fn)
        check_untampered()

    return run
