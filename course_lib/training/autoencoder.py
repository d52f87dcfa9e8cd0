"""Autoencoder and VAE steps: reconstruction loss, and the negative ELBO."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import kl_divergence, reconstruction_loss, vae_loss
from .common import _floats, _update

Tensor = torch.Tensor


def autoencoder_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: Tensor,
    noise_fn: Optional[Callable[[Tensor], Tensor]] = None,
    kind: str = "bce",
) -> Dict[str, float]:
    """One update of an autoencoder ``model(x) -> x_logits`` with :func:`reconstruction_loss`.

    The denoising variant passes ``noise_fn`` (e.g. ``lambda x: (x + 0.3 * torch.randn_like(x)).clamp(0, 1)``):
    the model sees ``noise_fn(x)`` and is scored against the clean ``x``.

    Returns ``{"loss"}``: the reconstruction loss, summed over pixels, averaged over the batch.
    """
    model.train()
    x_in = x if noise_fn is None else noise_fn(x)
    loss = reconstruction_loss(model(x_in), x, kind=kind)  # against the clean x
    values = _floats(loss=loss)
    _update(optimizer, loss)
    return values


def vae_train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, beta: float = 1.0) -> Dict[str, float]:
    """One update of a VAE ``model(x) -> (x_logits, mu, logvar)`` with :func:`vae_loss`.

    Returns ``{"loss", "reconstruction", "kl"}`` per example (summed over pixels / latent units,
    averaged over the batch): ``loss = reconstruction + beta * kl``, the negative ELBO when
    ``beta == 1``.
    """
    model.train()
    x_logits, mu, logvar = model(x)
    loss = vae_loss(x_logits, x, mu, logvar, beta=beta)
    with torch.no_grad():  # the two parts, for the history table only
        reconstruction = reconstruction_loss(x_logits, x)
        kl = kl_divergence(mu, logvar)
    values = _floats(loss=loss, reconstruction=reconstruction, kl=kl)
    _update(optimizer, loss)
    return values
