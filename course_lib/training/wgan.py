"""WGAN (weight clipping) and WGAN-GP (gradient penalty) steps: critic updates and the generator update."""
from __future__ import annotations

import warnings
from typing import Callable, Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import critic_loss, gradient_penalty, wasserstein_generator_loss
from .common import _device_of, _floats, _frozen, _latent, _update

Tensor = torch.Tensor


@torch.no_grad()
def clip_weights(critic: nn.Module, clip_value: float) -> None:
    """Clamp every parameter of ``critic`` in place to ``[-clip_value, clip_value]`` (original WGAN)."""
    if not clip_value > 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    for p in critic.parameters():
        p.clamp_(-clip_value, clip_value)


def clipped_critic_train_step(
    generator: nn.Module,
    critic: nn.Module,
    c_optimizer: torch.optim.Optimizer,
    real: Tensor,
    latent_dim: int,
    clip_value: float = 0.01,
    noise: Optional[Tensor] = None,
) -> Dict[str, float]:
    """One critic update of the original WGAN (Arjovsky et al. 2017, algorithm 1, lines 3-8).

    :func:`critic_loss` on real and generated images (the generator runs under ``no_grad``,
    so none of its parameters can change), then :func:`clip_weights`.

    Returns ``{"critic_loss", "wasserstein_distance"}``, the latter ``= -critic_loss``, the
    critic's estimate of the Wasserstein distance (up to the Lipschitz constant).
    """
    generator.train()
    critic.train()
    with torch.no_grad():  # fakes are constants here
        fake = generator(_latent(real.shape[0], latent_dim, real.device, noise))
    loss = critic_loss(critic(real), critic(fake))
    values = _floats(critic_loss=loss)
    _update(c_optimizer, loss)
    clip_weights(critic, clip_value)
    return {**values, "wasserstein_distance": -values["critic_loss"]}


def _warn_if_batch_norm(critic: nn.Module) -> None:
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules()):
        warnings.warn(
            "the critic contains batch norm, which couples the examples of a batch, so the gradient "
            "penalty no longer constrains each example's own gradient (the WGAN-GP paper drops it); "
            "use layer norm or none, e.g. WGANCritic(norm='layer')",
            UserWarning, stacklevel=3,
        )


def critic_train_step(
    generator: nn.Module,
    critic: nn.Module,
    c_optimizer: torch.optim.Optimizer,
    real: Tensor,
    latent_dim: int,
    gp_weight: float = 10.0,
    noise: Optional[Tensor] = None,
    eps: Optional[Tensor] = None,
) -> Dict[str, float]:
    """One critic update of WGAN-GP (Gulrajani et al. 2017, algorithm 1, lines 3-9).

    ``loss = critic_loss(C(real), C(fake)) + gp_weight * gradient_penalty(C, real, fake, eps)``
    with ``fake`` generated under ``no_grad`` (so the generator is not updated).

    Args:
        noise: ``z`` for the fakes (default: drawn from ``N(0, I)``).
        eps: the per-example interpolation weights of the penalty (default: drawn ``U(0, 1)``).

    Returns:
        ``{"critic_loss", "wasserstein_distance", "gradient_penalty", "loss"}``: the critic
        loss without the penalty, its negative (the Wasserstein estimate), the penalty, and
        the total that was minimised.
    """
    _warn_if_batch_norm(critic)
    generator.train()
    critic.train()
    with torch.no_grad():
        fake = generator(_latent(real.shape[0], latent_dim, real.device, noise))
    c_loss = critic_loss(critic(real), critic(fake))
    penalty = gradient_penalty(critic, real, fake, eps=eps)
    loss = c_loss + gp_weight * penalty
    values = _floats(critic_loss=c_loss, gradient_penalty=penalty, loss=loss)
    _update(c_optimizer, loss)
    return {
        "critic_loss": values["critic_loss"],
        "wasserstein_distance": -values["critic_loss"],
        "gradient_penalty": values["gradient_penalty"],
        "loss": values["loss"],
    }


def wasserstein_generator_train_step(
    generator: nn.Module,
    critic: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    batch_size: int,
    latent_dim: int,
    noise: Optional[Tensor] = None,
) -> Dict[str, float]:
    """One generator update of (W)GAN-GP: minimise :func:`wasserstein_generator_loss` ``= -mean C(G(z))``.

    The critic's weights are frozen during the backward pass; only ``g_optimizer`` steps.
    Returns ``{"g_loss"}``.
    """
    generator.train()
    critic.train()
    z = _latent(batch_size, latent_dim, _device_of(generator), noise)
    with _frozen(critic):
        g_loss = wasserstein_generator_loss(critic(generator(z)))
        values = _floats(g_loss=g_loss)
        _update(g_optimizer, g_loss)
    return values


def wgan_train_step(
    generator: nn.Module,
    critic: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    c_optimizer: torch.optim.Optimizer,
    real: Union[Tensor, Sequence[Tensor]],
    latent_dim: int,
    *,
    n_critic: int = 5,
    clip_value: Optional[float] = None,
    gp_weight: Optional[float] = None,
) -> Dict[str, float]:
    """One WGAN round: ``n_critic`` critic updates, then one generator update.

    ``real`` holds the real images of all the critic updates, either

    * one tensor of ``n_critic * B`` images, split into ``n_critic`` batches of ``B`` (so a
      loader with ``batch_size = n_critic * B`` feeds :func:`fit` one round per batch, and an
      epoch shows every image to the critic once), or
    * a list of ``n_critic`` batch tensors.

    Exactly one of ``clip_value`` (original WGAN: :func:`clipped_critic_train_step`) and ``gp_weight``
    (WGAN-GP: :func:`critic_train_step`) must be given. The generator update
    (:func:`wasserstein_generator_train_step`) uses as many fakes as one critic batch.

    Returns the critic metrics averaged over the ``n_critic`` updates, plus ``"g_loss"``.
    """
    if (clip_value is None) == (gp_weight is None):
        raise ValueError("give exactly one of clip_value= (original WGAN, e.g. 0.01) or gp_weight= (WGAN-GP, e.g. 10.0)")
    if isinstance(real, Tensor):
        if real.shape[0] < n_critic:
            raise ValueError(
                f"cannot split {real.shape[0]} real images into n_critic={n_critic} critic batches; "
                f"use a loader with batch_size = n_critic * B (and drop_last=True)"
            )
        # tensor_split, not chunk: 6 images and n_critic=4 give batches of 2, 2, 1, 1 (chunk gives 3 batches)
        batches = list(real.tensor_split(n_critic))
    else:
        batches = list(real)
        if len(batches) != n_critic:
            raise ValueError(
                f"expected {n_critic} real batches (n_critic={n_critic}), got {len(batches)}; "
                "pass a list of n_critic tensors or one tensor of n_critic * batch_size images"
            )
    totals: Dict[str, float] = {}
    for batch in batches:
        if gp_weight is not None:
            values = critic_train_step(generator, critic, c_optimizer, batch, latent_dim, gp_weight=gp_weight)
        else:
            values = clipped_critic_train_step(generator, critic, c_optimizer, batch, latent_dim, clip_value=clip_value)
        for name, value in values.items():
            totals[name] = totals.get(name, 0.0) + value
    means = {name: total / len(batches) for name, total in totals.items()}
    g_values = wasserstein_generator_train_step(generator, critic, g_optimizer, batches[0].shape[0], latent_dim)
    return {**means, **g_values}


# The earlier names, kept for the chapters that import them (every step now ends in _train_step).
wgan_critic_step = clipped_critic_train_step
wasserstein_generator_step = wasserstein_generator_train_step
