"""Autoencoder and VAE steps: reconstruction loss (plus a sparsity penalty), and the negative ELBO."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import kl_divergence, l1_activity_loss, reconstruction_loss, sparsity_kl_loss, vae_loss
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


SPARSITY_PENALTIES = ("kl", "l1")


def sparse_autoencoder_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: Tensor,
    penalty: str = "kl",
    weight: float = 1.0,
    target: float = 0.1,
) -> Dict[str, float]:
    """One update of a sparse autoencoder: reconstruction loss plus ``weight`` times a penalty on the code.

    ``model`` needs ``encode(x) -> z`` and ``decode(z) -> x_logits``; the loss is
    ``reconstruction_loss(decode(z), x) + weight * penalty(z)`` with ``penalty="kl"``
    (:func:`sparsity_kl_loss` towards mean activation ``target``; ``z`` must lie in [0, 1], e.g. a
    sigmoid code) or ``penalty="l1"`` (:func:`l1_activity_loss`; ``target`` is unused).
    ``weight=0`` trains a plain autoencoder and still reports the code's statistics.

    Returns ``{"loss", "reconstruction", "sparsity", "mean_activation"}``: the losses per example
    (summed over pixels / units, averaged over the batch) and the code's mean activation over
    the batch and the units.
    """
    if penalty not in SPARSITY_PENALTIES:
        raise ValueError(f"unknown sparsity penalty {penalty!r}; use one of {SPARSITY_PENALTIES}")
    model.train()
    z = model.encode(x)  # (N, units)
    reconstruction = reconstruction_loss(model.decode(z), x)
    sparsity = sparsity_kl_loss(z, target) if penalty == "kl" else l1_activity_loss(z)
    loss = reconstruction + weight * sparsity
    values = _floats(loss=loss, reconstruction=reconstruction, sparsity=sparsity, mean_activation=z.detach().mean())
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
