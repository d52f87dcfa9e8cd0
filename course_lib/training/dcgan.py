"""The GAN step (Goodfellow et al. 2014): one discriminator update, then one generator update."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import discriminator_loss, generator_loss
from .common import _floats, _frozen, _latent, _update

Tensor = torch.Tensor


def gan_train_step(
    generator: nn.Module,
    discriminator: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    real: Tensor,
    latent_dim: int,
    noise: Optional[Tensor] = None,
) -> Dict[str, float]:
    """One GAN round (Goodfellow et al. 2014, algorithm 1 with k = 1): D update, then G update.

    1. Discriminator: :func:`discriminator_loss` on ``D(real)`` and ``D(fake.detach())`` (the
       detach keeps the generator out of this update); only ``d_optimizer`` steps.
    2. Generator: the non-saturating :func:`generator_loss` on a fresh ``D(fake)`` (D as just
       updated, ``fake`` not detached so the gradient reaches G); D's weights are frozen during
       this backward pass and only ``g_optimizer`` steps.

    Args:
        real: a batch of real images ``(N, ...)``.
        latent_dim: size of the generator's input ``z``.
        noise: ``z`` of shape ``(N, latent_dim)`` (default: drawn from ``N(0, I)``), used for
            both updates.

    Returns:
        ``{"d_loss", "g_loss", "d_accuracy", "d_real", "d_fake"}``: the two losses,
        the fraction of real and fake images D classifies correctly, and the mean
        probabilities D(x) and D(G(z)) D gives real and fake images before its update.
    """
    generator.train()
    discriminator.train()
    z = _latent(real.shape[0], latent_dim, real.device, noise)
    fake = generator(z)

    # 1. discriminator: real -> 1, fake -> 0
    real_logits = discriminator(real)
    fake_logits = discriminator(fake.detach())  # no gradient into G
    d_loss = discriminator_loss(real_logits, fake_logits)
    d_values = _floats(d_loss=d_loss)
    _update(d_optimizer, d_loss)

    # 2. generator: make the updated D call the fakes real
    with _frozen(discriminator):
        g_loss = generator_loss(discriminator(fake))
        g_values = _floats(g_loss=g_loss)
        _update(g_optimizer, g_loss)

    with torch.no_grad():
        real_logits, fake_logits = real_logits.detach(), fake_logits.detach()
        correct = (real_logits > 0).float().sum() + (fake_logits < 0).float().sum()
        stats = _floats(
            d_accuracy=correct / (real_logits.numel() + fake_logits.numel()),
            d_real=torch.sigmoid(real_logits).mean(),
            d_fake=torch.sigmoid(fake_logits).mean(),
        )
    return {**d_values, **g_values, **stats}
