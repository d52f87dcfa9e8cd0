"""DCGAN generator and discriminator (Radford, Metz & Chintala 2016).

The DCGAN guidelines, as followed here:

* strided convolutions (discriminator) and transposed convolutions (generator) instead of pooling;
* batch norm in both networks, except the generator's output layer and the discriminator's input layer;
* ReLU in the generator with ``tanh`` at the output (images in [-1, 1]); LeakyReLU(0.2) in the discriminator;
* no hidden fully connected layers (one dense projection of ``z`` and one dense output score);
* weights drawn from N(0, 0.02) (:func:`dcgan_init_`, applied by both constructors).

The discriminator returns **logits** (no sigmoid): ``course_lib.losses.discriminator_loss`` and
``generator_loss`` apply the sigmoid inside a numerically stable binary cross-entropy.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import check_images, conv_decoder, conv_encoder


def dcgan_init_(model: nn.Module) -> nn.Module:
    """DCGAN initialisation in place: convolution and linear weights ~ N(0, 0.02), biases 0;
    batch-norm scales ~ N(1, 0.02), shifts 0. Returns ``model``.

    Works on a whole model (``dcgan_init_(G)``) or through ``G.apply(dcgan_init_)``.
    """
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return model


class DCGANGenerator(nn.Module):
    """Map a noise vector ``z`` to an image in [-1, 1].

    For ``image_size=28, base_channels=64``::

        (N, latent_dim) -> linear -> (N, 128 * 7 * 7) -> reshape (N, 128, 7, 7), BN, ReLU
                        -> deconv, BN, ReLU -> (N, 64, 14, 14)
                        -> deconv, tanh     -> (N, out_channels, 28, 28)

    Image size 32 starts from ``(base*2, 8, 8)``; 64 from ``(base*4, 8, 8)`` with one more stage.

    Args:
        latent_dim: size of ``z``.
        out_channels: image channels.
        image_size: 28, 32 or 64.
        base_channels: channels of the last hidden feature map; they double at each stage towards ``z``.
    """

    def __init__(self, latent_dim: int = 100, out_channels: int = 1, image_size: int = 28, base_channels: int = 64):
        super().__init__()
        self.latent_dim, self.out_channels, self.image_size = latent_dim, out_channels, image_size
        upsample, start = conv_decoder(out_channels, image_size, base_channels, norm="batch", activation="relu")
        self.net = nn.Sequential(
            nn.Linear(latent_dim, math.prod(start), bias=False),  # (N, C * s * s): project z
            nn.Unflatten(1, start),  # (N, C, s, s)
            nn.BatchNorm2d(start[0]),
            nn.ReLU(),
            upsample,  # (N, out_channels, image_size, image_size)
            nn.Tanh(),  # in [-1, 1]
        )
        dcgan_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected noise of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """Score how real an image looks, as a logit.

    For ``image_size=28, base_channels=64``::

        (N, in_channels, 28, 28) -> conv s2, LeakyReLU      -> (N, 64, 14, 14)
                                 -> conv s2, BN, LeakyReLU  -> (N, 128, 7, 7)
                                 -> flatten, linear         -> (N,) logits

    Args:
        in_channels: image channels.
        image_size: 28, 32 or 64.
        base_channels: channels of the first convolution; they double at each stage.
        batch_norm: batch norm after every convolution but the first (``False``: no normalisation).
        dropout: dropout probability after each LeakyReLU (0: none); slows a discriminator that
            wins too fast.

    Expects images in [-1, 1] (real images ``x`` in [0, 1] enter as ``2 * x - 1``).
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, base_channels: int = 64,
                 batch_norm: bool = True, dropout: float = 0.0):
        super().__init__()
        self.in_channels, self.image_size = in_channels, image_size
        features, shape = conv_encoder(in_channels, image_size, base_channels, norm="batch" if batch_norm else "none",
                                       activation="leaky_relu", first_norm=False, dropout=dropout)
        self.net = nn.Sequential(features, nn.Linear(math.prod(shape), 1))  # (N, 1)
        dcgan_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_channels, self.image_size)
        return self.net(x).squeeze(1)  # (N,)
