"""Input checks shared by losses, sampling, metrics and training: one home, one wording.

Each raises a ``TypeError`` or ``ValueError`` that names the argument, what was expected and
what was given (``expected x of shape (N, 1, 28, 28), got (28, 28)``).
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import torch
from torch import nn

Tensor = torch.Tensor

__all__ = ["shape_text", "check_tensor", "check_same_shape", "check_count", "check_images", "device_of",
           "evaluating"]


def shape_text(x: Tensor) -> str:
    """``(4, 2)`` rather than ``torch.Size([4, 2])`` in error messages (``(4,)`` for 1-D)."""
    return "(" + ", ".join(str(d) for d in x.shape) + ("," if x.dim() == 1 else "") + ")"


def check_tensor(name: str, x: object, *, min_dim: int = 0, batch_hint: str = "", nonempty: bool = True) -> None:
    """``x`` is a tensor with at least ``min_dim`` dimensions (and, by default, some elements)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"expected {name} to be a torch.Tensor, got {type(x).__name__}; "
            f"convert it with torch.as_tensor({name})"
        )
    if x.dim() < min_dim:
        raise ValueError(
            f"expected {name} with a batch dimension first{batch_hint}, got shape {shape_text(x)}; "
            f"for a single example add one with {name}.unsqueeze(0)"
        )
    if nonempty and x.numel() == 0:
        raise ValueError(f"expected a non-empty {name}, got shape {shape_text(x)}")


def check_same_shape(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"expected {name_a} and {name_b} of the same shape, got {shape_text(a)} and {shape_text(b)}"
        )


def check_count(name: str, value: object, minimum: int) -> None:
    """``value`` is an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected {name} to be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"expected {name} >= {minimum}, got {value}")


def check_images(images: Tensor, name: str, model: Optional[nn.Module] = None, min_count: int = 1) -> None:
    """Images must be a float tensor ``(N, C, H, W)`` in [0, 1] (of the model's ``in_shape`` if it has one)."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor of images, got {type(images).__name__}")
    expected = getattr(model, "in_shape", None)
    shape = f"(N, {', '.join(map(str, expected))})" if expected else "(N, C, H, W)"
    if images.dim() != 4 or (expected is not None and tuple(images.shape[1:]) != tuple(expected)):
        raise ValueError(f"expected {name} of shape {shape}, got {tuple(images.shape)}")
    if len(images) < min_count:
        raise ValueError(f"expected at least {min_count} images in {name}, got {len(images)}")
    if not images.is_floating_point():
        raise TypeError(f"expected {name} as floats in [0, 1], got dtype {images.dtype}; use images.float() / 255")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        hint = (" (this looks like a tanh generator's output in [-1, 1]: map it with (x + 1) / 2)"
                if lo >= -1 - 1e-6 and hi <= 1 + 1e-6 else "")
        raise ValueError(f"expected {name} with values in [0, 1], got values in [{lo:.3g}, {hi:.3g}]{hint}")


def device_of(module: nn.Module) -> torch.device:
    """The device of ``module``'s first parameter (the CPU for a module without parameters)."""
    p = next(iter(module.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@contextlib.contextmanager
def evaluating(*modules: nn.Module, no_grad: bool = True) -> Iterator[None]:
    """Evaluation mode (and, by default, no gradients) inside the block; each module's previous mode after.

    ``with evaluating(generator): samples = generator(z)`` gives the samples a reader should
    see: batch norm uses its running statistics and dropout is off.
    """
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)
