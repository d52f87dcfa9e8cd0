"""The GAN step (Goodfellow et al. 2014): one discriminator update, then one generator update;
and an exponential moving average of a generator's weights (:func:`update_ema_`)."""
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
    labels: Optional[Tensor] = None,
    real_label: float = 1.0,
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
        labels: class labels ``(N,)`` of the real batch, for a *conditional* GAN: then both
            networks take them as a second argument, ``G(z, labels)`` and ``D(x, labels)``, and
            the fakes are generated for the real batch's labels. ``None``: an unconditional GAN.
        real_label: the discriminator's target for real examples (``0.9``: one-sided label
            smoothing, see :func:`~course_lib.losses.discriminator_loss`).

    Returns:
        ``{"d_loss", "g_loss", "d_accuracy", "d_real", "d_fake"}``: the two losses,
        the fraction of real and fake images D classifies correctly, and the mean
        probabilities D(x) and D(G(z)) D gives real and fake images before its update.
    """
    generator.train()
    discriminator.train()
    z = _latent(real.shape[0], latent_dim, real.device, noise)
    if labels is not None and labels.shape != (real.shape[0],):
        raise ValueError(f"expected one label per real example, shape ({real.shape[0]},), got {tuple(labels.shape)}")
    cond = () if labels is None else (labels,)  # the extra argument of a conditional G and D
    fake = generator(z, *cond)

    # 1. discriminator: real -> 1 (or real_label), fake -> 0
    real_logits = discriminator(real, *cond)
    fake_logits = discriminator(fake.detach(), *cond)  # no gradient into G
    d_loss = discriminator_loss(real_logits, fake_logits, real_label=real_label)
    d_values = _floats(d_loss=d_loss)
    _update(d_optimizer, d_loss)

    # 2. generator: make the updated D call the fakes real
    with _frozen(discriminator):
        g_loss = generator_loss(discriminator(fake, *cond))
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


@torch.no_grad()
def update_ema_(ema_model: nn.Module, model: nn.Module, decay: float = 0.999, step: Optional[int] = None) -> nn.Module:
    r"""Move ``ema_model``'s weights a step towards ``model``'s, in place; returns ``ema_model``.

    .. math::
        \theta_{\text{ema}} \leftarrow \beta\,\theta_{\text{ema}} + (1 - \beta)\,\theta,
        \qquad \beta = \text{decay},

    for every parameter; buffers (batch norm's running mean and variance) are copied as they are.
    Called after every generator update, the average forgets with a time constant of about
    ``1 / (1 - decay)`` steps (1000 for 0.999) and smooths out the generator's oscillation in the
    adversarial game (Karras et al. 2018; Yazici et al. 2019). The average is only ever sampled
    from, never trained. Make it with ``copy.deepcopy(model)`` before training.

    ``step`` (the number of updates made so far, from 0) warms the average up: the decay used is
    ``min(decay, (1 + step) / (10 + step))``, as in TensorFlow's ``ExponentialMovingAverage``, so
    the untrained initial weights are forgotten quickly instead of weighing ``decay ** step`` in
    the average (still 37% after 1000 steps at 0.999).
    """
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must be in [0, 1) (e.g. 0.999), got {decay}")
    if step is not None:
        if step < 0:
            raise ValueError(f"step must be the number of updates made so far (>= 0), got {step}")
        decay = min(decay, (1 + step) / (10 + step))
    ema_params, params = list(ema_model.parameters()), list(model.parameters())
    if len(ema_params) != len(params) or any(e.shape != p.shape for e, p in zip(ema_params, params)):
        raise ValueError("ema_model and model must have the same architecture: make ema_model with copy.deepcopy(model)")
    for e, p in zip(ema_params, params):
        e.lerp_(p, 1.0 - decay)  # e + (1 - decay) (p - e)
    for e, b in zip(ema_model.buffers(), model.buffers()):
        e.copy_(b)
    return ema_model
