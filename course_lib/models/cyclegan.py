"""CycleGAN networks (Zhu, Park, Isola & Efros 2017), scaled down for a CPU.

* :class:`ResnetGenerator` - Johnson et al.'s image-transformation network: ``c7s1-k, d2k, d4k,
  R4k x n_res_blocks, u2k, uk, c7s1-out`` with tanh output (images in [-1, 1]).
* :class:`PatchDiscriminator` - the PatchGAN: a fully convolutional network whose output is a
  map of scores, one per overlapping image patch (70x70 pixels for ``n_layers=3``).

Both use instance norm **without running statistics** (``track_running_stats=False``), so they
compute the same function in train and eval mode: a translation made after ``model.eval()`` is
the one the model was trained to make. The discriminator returns raw scores for the
least-squares GAN losses (``course_lib.losses.lsgan_discriminator_loss``).
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import make_norm


def _c7s1(in_channels: int, out_channels: int) -> nn.Sequential:
    """7x7 convolution, stride 1, reflection padding 3 (keeps the side)."""
    return nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_channels, out_channels, kernel_size=7))


class ResidualBlock(nn.Module):
    """``x + F(x)`` with ``F = [reflect-pad, conv3x3, IN, ReLU, reflect-pad, conv3x3, IN]``; keeps the shape."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), make_norm("instance", channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), make_norm("instance", channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Translate an image of one domain into the other; output in [-1, 1].

    For ``base_channels=k=32`` on ``(N, 3, 32, 32)``::

        c7s1-32 : reflect-pad, conv 7x7, IN, ReLU      -> (N, 32, 32, 32)
        d64     : conv 3x3 s2, IN, ReLU                -> (N, 64, 16, 16)
        d128    : conv 3x3 s2, IN, ReLU                -> (N, 128, 8, 8)
        R128 x n_res_blocks                            -> (N, 128, 8, 8)
        u64     : deconv 3x3 s2, IN, ReLU              -> (N, 64, 16, 16)
        u32     : deconv 3x3 s2, IN, ReLU              -> (N, 32, 32, 32)
        c7s1-3  : reflect-pad, conv 7x7, tanh          -> (N, 3, 32, 32)

    The paper uses ``k=64`` and 6 (128x128) or 9 (256x256) residual blocks. Height and width must be
    multiples of 4.

    Args:
        in_channels, out_channels: image channels of the source and target domains.
        base_channels: ``k``, channels of the first layer (doubled by each down-sampling).
        n_res_blocks: number of residual blocks at the bottom.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, base_channels: int = 32, n_res_blocks: int = 3):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        k = base_channels
        layers = [_c7s1(in_channels, k), make_norm("instance", k), nn.ReLU()]  # (N, k, H, W)
        for c in (k, 2 * k):  # (N, 2k, H/2, W/2), then (N, 4k, H/4, W/4)
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False), make_norm("instance", 2 * c), nn.ReLU()]
        layers += [ResidualBlock(4 * k) for _ in range(n_res_blocks)]  # (N, 4k, H/4, W/4)
        for c in (4 * k, 2 * k):  # (N, 2k, H/2, W/2), then (N, k, H, W)
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=False),
                make_norm("instance", c // 2),
                nn.ReLU(),
            ]
        layers += [_c7s1(k, out_channels), nn.Tanh()]  # (N, out_channels, H, W) in [-1, 1]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(
                f"expected images of shape (N, {self.in_channels}, H, W) with H and W multiples of 4, "
                f"got {tuple(x.shape)}"
            )
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator: a map of raw scores ``(N, 1, h, w)``, one per image patch.

    For ``base_channels=k=32, n_layers=3`` (the paper's 70x70 PatchGAN with ``k=64``) on ``(N, 3, 32, 32)``::

        C32  : conv 4x4 s2, LeakyReLU(0.2)       -> (N, 32, 16, 16)   (no norm on the first layer)
        C64  : conv 4x4 s2, IN, LeakyReLU(0.2)   -> (N, 64, 8, 8)
        C128 : conv 4x4 s2, IN, LeakyReLU(0.2)   -> (N, 128, 4, 4)
        C256 : conv 4x4 s1, IN, LeakyReLU(0.2)   -> (N, 256, 3, 3)
        out  : conv 4x4 s1                       -> (N, 1, 2, 2)

    Each output score sees a 70x70 receptive field (34x34 for ``n_layers=2``, which on 32x32 images
    gives a finer 6x6 map). Channels are capped at ``8 * k``. Images need a side of at least
    ``3 * 2**n_layers`` pixels (24 for ``n_layers=3``).

    Args:
        in_channels: image channels.
        base_channels: ``k``, channels of the first layer (doubled by each further layer).
        n_layers: number of stride-2 convolutions.
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 32, n_layers: int = 3):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}")
        self.in_channels, self.n_layers = in_channels, n_layers
        k = base_channels
        layers = [nn.Conv2d(in_channels, k, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]  # (N, k, H/2, W/2)
        channels = k
        for i in range(1, n_layers + 1):  # stride 2 for i < n_layers: (N, k * 2**i, H / 2**(i+1), ...); then stride 1
            out = k * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=False), make_norm("instance", out),
                       nn.LeakyReLU(0.2)]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))  # (N, 1, h, w) scores
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        min_side = 3 * 2**self.n_layers
        if x.dim() != 4 or x.shape[1] != self.in_channels or min(x.shape[2:]) < min_side:
            raise ValueError(
                f"expected images of shape (N, {self.in_channels}, H, W) with H, W >= {min_side} "
                f"for n_layers={self.n_layers}, got {tuple(x.shape)}; use fewer layers for smaller images"
            )
        return self.net(x)
