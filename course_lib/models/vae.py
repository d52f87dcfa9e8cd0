"""Convolutional variational autoencoder (Kingma & Welling 2014).

The encoder outputs the mean ``mu`` and log-variance ``logvar`` of a diagonal Gaussian
``q(z | x)``; a code is drawn with the reparameterisation trick ``z = mu + exp(logvar / 2) * eps``
(:func:`course_lib.sampling.reparameterize`), and the decoder returns the **logits** of a Bernoulli
``p(x | z)`` per pixel. ``course_lib.losses.vae_loss(x_logits, x, mu, logvar)`` is the negative ELBO.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import nn

from ..sampling import reparameterize
from .blocks import check_images, conv_decoder, conv_encoder


class ConvVAE(nn.Module):
    """Convolutional VAE for 28x28 (MNIST), 32x32 (avatars) and 64x64 (faces) images.

    For ``image_size=28, in_channels=1, base_channels=32``::

        encoder: (N, 1, 28, 28) -> conv s2 -> (N, 32, 14, 14) -> conv s2 -> (N, 64, 7, 7)
                 -> flatten (N, 3136) -> two linear heads -> mu, logvar: (N, latent_dim) each
        decoder: (N, latent_dim) -> linear -> (N, 64, 7, 7) -> deconv -> (N, 32, 14, 14)
                 -> deconv -> (N, 1, 28, 28) logits

    (32x32: grids 16 and 8; 64x64: grids 32, 16 and 8 with 128 channels at the bottom.)
    Convolutions are followed by batch norm and LeakyReLU (0.2) in the encoder, ReLU in the decoder.

    Args:
        in_channels: image channels (1 for MNIST, 3 for RGB).
        image_size: 28, 32 or 64.
        latent_dim: size of ``z``.
        base_channels: channels of the first convolution; they double at each stage.

    Attributes:
        latent_dim: size of ``z`` (for ``course_lib.sampling.sample_prior(n, model.latent_dim)``).
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, latent_dim: int = 16, base_channels: int = 32):
        super().__init__()
        self.in_channels, self.image_size, self.latent_dim = in_channels, image_size, latent_dim
        self.encoder, shape = conv_encoder(in_channels, image_size, base_channels)  # (N, C * s * s)
        self.to_mu = nn.Linear(math.prod(shape), latent_dim)  # (N, latent_dim)
        self.to_logvar = nn.Linear(math.prod(shape), latent_dim)  # (N, latent_dim)
        upsample, start = conv_decoder(in_channels, image_size, base_channels)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, math.prod(start)),  # (N, C * s * s)
            nn.Unflatten(1, start),  # (N, C, s, s)
            nn.ReLU(),
            upsample,  # (N, in_channels, image_size, image_size) logits
        )

    def encode(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(N, C, S, S) -> (mu, logvar)``, each ``(N, latent_dim)``."""
        check_images(x, self.in_channels, self.image_size)
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, latent_dim) -> (N, C, S, S)`` logits; ``torch.sigmoid`` of them is the mean image."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected codes of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(z)

    def forward(self, x: torch.Tensor, noise: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x_logits, mu, logvar)``; ``z = mu + exp(logvar / 2) * noise``.

        ``noise`` (``(N, latent_dim)``, standard normal) pins the draw for tests and figures; by
        default a fresh one is drawn from the global generator.
        """
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, noise=noise)  # (N, latent_dim)
        return self.decode(z), mu, logvar
