"""What every step function shares: the non-finite-loss error, the update, freezing a module."""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Dict, Iterator, Mapping, Optional

import torch
from torch import nn

from ..checks import device_of as _device_of  # noqa: F401  (re-exported for the step files)

Tensor = torch.Tensor


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stops instead of writing NaNs into the weights.

    Attributes:
        losses: the non-finite values, ``{name: value}``.
        name, value: the first of them.
        step: the training step (set by :func:`fit`; ``None`` when raised by a bare step call).
    """

    def __init__(self, losses: Mapping[str, float], step: Optional[int] = None):
        self.losses = dict(losses)
        self.name, self.value = next(iter(self.losses.items()))
        self.step = step
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" at step {self.step}" if self.step is not None else ""
        values = ", ".join(f"{name}={value}" for name, value in self.losses.items())
        return (
            f"non-finite loss{where}: {values}. Try a lower learning rate, check that the inputs "
            "are finite and in the range the loss expects (BCE targets in [0, 1]), and that the "
            "model returns logits (no sigmoid before a loss that takes logits)"
        )

    def at_step(self, step: int) -> "NonFiniteLossError":
        """Record the step number (used by :func:`fit`) and return the error."""
        self.step = step
        self.args = (self._message(),)
        return self


def _floats(**values: Tensor) -> Dict[str, float]:
    """0-dim tensors -> Python floats; raise :class:`NonFiniteLossError` if any is NaN or infinite."""
    floats = {name: v.item() for name, v in values.items()}
    bad = {name: x for name, x in floats.items() if not math.isfinite(x)}
    if bad:
        raise NonFiniteLossError(bad)
    return floats


def _update(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
    """zero_grad, backward, step: one gradient update of the optimizer's parameters."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


@contextmanager
def _frozen(*modules: nn.Module) -> Iterator[None]:
    """Stop gradients from accumulating in ``modules``' parameters (restored on exit).

    Used while updating a generator: the discriminator still passes gradients back to its
    input, but computes none for its own weights (faster, and nothing left in ``.grad``).
    """
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def _latent(n: int, latent_dim: int, device: torch.device, noise: Optional[Tensor]) -> Tensor:
    """``noise`` if given (checked), else ``z ~ N(0, I)`` of shape ``(n, latent_dim)``."""
    if noise is None:
        return torch.randn(n, latent_dim, device=device)
    if noise.shape[0] != n:
        raise ValueError(f"expected noise for {n} examples (one per real image), got shape {tuple(noise.shape)}")
    return noise
