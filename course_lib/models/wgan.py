"""The WGAN critic (Arjovsky, Chintala & Bottou 2017; Gulrajani et al. 2017).

A critic is a discriminator without the sigmoid: it returns an unbounded score ``f(x)``, and
``mean f(real) - mean f(fake)`` estimates the Wasserstein-1 distance when ``f`` is 1-Lipschitz.
The generator is the DCGAN one (:class:`course_lib.models.DCGANGenerator`).

Choosing ``norm``:

* weight clipping (WGAN): any norm; ``"batch"`` (as in DCGAN) must be asked for.
* gradient penalty (WGAN-GP): ``"none"`` or ``"layer"`` (the default; ``"instance"`` also works). The penalty
  constrains ``||grad_x f(x)||`` **for each example on its own**, which presumes that each score
  depends on its own example only. Batch norm in training mode normalises with statistics of the
  whole batch, so every score depends on every other example of the batch: the gradient of one
  score with respect to its own input is no longer the quantity being penalised, and the critic
  being trained is not a function of one image. Layer and instance norm compute their statistics
  per example, so scores stay independent (see the tests).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import NORMS, check_images, conv_encoder
from .dcgan import dcgan_init_


class WGANCritic(nn.Module):
    """Score images with an unbounded real number (higher = more real).

    For ``image_size=28, base_channels=64``::

        (N, in_channels, 28, 28) -> conv s2, LeakyReLU        -> (N, 64, 14, 14)
                                 -> conv s2, norm, LeakyReLU  -> (N, 128, 7, 7)
                                 -> flatten, linear           -> (N,) scores, no sigmoid

    Args:
        in_channels: image channels.
        image_size: 28, 32 or 64.
        base_channels: channels of the first convolution; they double at each stage.
        norm: ``"batch"``, ``"layer"``, ``"instance"`` or ``"none"``: the normalisation after every
            convolution but the first. The default ``"layer"`` suits a gradient penalty (module
            docstring); weight-clipped WGANs may pass ``"batch"``.

    Weights start from the DCGAN initialisation N(0, 0.02).
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, base_channels: int = 64, norm: str = "layer"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; use one of {NORMS} ('none' or 'layer' for WGAN-GP)")
        self.in_channels, self.image_size, self.norm = in_channels, image_size, norm
        features, shape = conv_encoder(in_channels, image_size, base_channels, norm=norm,
                                       activation="leaky_relu", first_norm=False)
        self.net = nn.Sequential(features, nn.Linear(math.prod(shape), 1))  # (N, 1)
        dcgan_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_channels, self.image_size)
        return self.net(x).squeeze(1)  # (N,) scores
