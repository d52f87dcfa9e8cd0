"""Building blocks shared by the course's convolutional models.

The image models of the course work on three image sizes, each halved by stride-2 convolutions
down to a small grid (and doubled back up by transposed convolutions):

==========  =====================================  ========================================
image size  down/up stages (kernel 4, stride 2)    smallest grid
==========  =====================================  ========================================
28          28 -> 14 -> 7                          7 x 7   (MNIST)
32          32 -> 16 -> 8                          8 x 8   (Planet Pixel avatars, CIFAR-10)
64          64 -> 32 -> 16 -> 8                    8 x 8   (faces)
==========  =====================================  ========================================

Stage ``i`` (counted from the image) has ``base_channels * 2**i`` channels, so the smallest
grid has ``base_channels * 2**(n_stages - 1)`` channels: ``base*2`` for sizes 28 and 32,
``base*4`` for 64.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

# image size -> (number of stride-2 stages, side of the smallest grid)
CONV_PLANS = {28: (2, 7), 32: (2, 8), 64: (3, 8)}
SUPPORTED_IMAGE_SIZES = tuple(CONV_PLANS)
NORMS = ("batch", "layer", "instance", "none")
ACTIVATIONS = ("relu", "leaky_relu", "tanh")


def conv_plan(image_size: int) -> Tuple[int, int]:
    """``(n_stages, smallest_size)`` for an image size in :data:`SUPPORTED_IMAGE_SIZES`."""
    if image_size not in CONV_PLANS:
        raise ValueError(
            f"image_size must be one of {SUPPORTED_IMAGE_SIZES}, got {image_size!r}; "
            "resize the images (e.g. torch.nn.functional.interpolate) to a supported size"
        )
    return CONV_PLANS[image_size]


def make_norm(kind: str, channels: int) -> nn.Module:
    """A normalisation layer for ``(N, channels, H, W)`` feature maps.

    * ``"batch"``: :class:`~torch.nn.BatchNorm2d`, statistics over the whole batch (examples interact).
    * ``"layer"``: ``GroupNorm(1, channels)``, statistics over ``(C, H, W)`` of each example on its own
      (layer normalisation with a per-channel scale and shift).
    * ``"instance"``: ``InstanceNorm2d(affine=True)``, statistics over ``(H, W)`` of each example and
      channel; it keeps no running statistics, so it computes the same thing in train and eval mode.
    * ``"none"``: no normalisation.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; use one of {NORMS}")


def make_activation(name: str) -> nn.Module:
    """``"relu"``, ``"leaky_relu"`` (slope 0.2, as in DCGAN) or ``"tanh"``."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"unknown activation {name!r}; use one of {ACTIVATIONS}")


def down_block(in_channels: int, out_channels: int, norm: str = "batch", activation: str = "leaky_relu",
               dropout: float = 0.0) -> nn.Sequential:
    """Halve the resolution: ``Conv2d(kernel 4, stride 2, padding 1) -> norm -> activation [-> dropout]``.

    ``(N, in_channels, H, W) -> (N, out_channels, H / 2, W / 2)`` (``H`` even; 7 -> 3 would floor).
    The convolution has a bias only when no normalisation follows (a norm's shift replaces it).
    """
    layers = [
        nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=norm == "none"),
        make_norm(norm, out_channels),
        make_activation(activation),
    ]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def up_block(in_channels: int, out_channels: int, norm: str = "batch", activation: str = "relu") -> nn.Sequential:
    """Double the resolution: ``ConvTranspose2d(kernel 4, stride 2, padding 1) -> norm -> activation``.

    ``(N, in_channels, H, W) -> (N, out_channels, 2H, 2W)``: a transposed convolution's output side is
    ``(H - 1) * stride - 2 * padding + kernel = 2H``.
    """
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=norm == "none"),
        make_norm(norm, out_channels),
        make_activation(activation),
    )


def conv_encoder(in_channels: int, image_size: int, base_channels: int, norm: str = "batch",
                 activation: str = "leaky_relu", first_norm: bool = True,
                 dropout: float = 0.0) -> Tuple[nn.Sequential, Tuple[int, int, int]]:
    """Stride-2 :func:`down_block` stages from an image to the smallest grid, then flatten.

    Returns ``(module, (C, s, s))``: the module maps ``(N, in_channels, image_size, image_size)``
    to ``(N, C * s * s)``, where ``(C, s, s)`` is the shape of the last feature map
    (see the table in this module's docstring). ``first_norm=False`` leaves the first stage
    without normalisation, as DCGAN discriminators do.
    """
    n_stages, smallest = conv_plan(image_size)
    layers, channels = [], in_channels
    for i in range(n_stages):  # stage i: (N, base * 2**i, image_size / 2**(i+1), ...)
        out = base_channels * 2**i
        layers.append(down_block(channels, out, norm if (i > 0 or first_norm) else "none", activation, dropout))
        channels = out
    layers.append(nn.Flatten())  # (N, C * s * s)
    return nn.Sequential(*layers), (channels, smallest, smallest)


def conv_decoder(out_channels: int, image_size: int, base_channels: int, norm: str = "batch",
                 activation: str = "relu") -> Tuple[nn.Sequential, Tuple[int, int, int]]:
    """Stride-2 transposed-convolution stages from the smallest grid up to the image (mirror of
    :func:`conv_encoder`).

    Returns ``(module, (C, s, s))``: the module maps a feature map of shape ``(N, C, s, s)`` to
    ``(N, out_channels, image_size, image_size)`` **raw** values: the last stage is a bare
    transposed convolution (no norm, no activation), so the caller adds ``tanh`` or treats them
    as logits.
    """
    n_stages, smallest = conv_plan(image_size)
    channels = base_channels * 2 ** (n_stages - 1)
    start = (channels, smallest, smallest)
    layers = []
    for i in reversed(range(1, n_stages)):  # (N, base * 2**(i-1), ...) at twice the side
        layers.append(up_block(channels, base_channels * 2 ** (i - 1), norm, activation))
        channels = base_channels * 2 ** (i - 1)
    layers.append(nn.ConvTranspose2d(channels, out_channels, kernel_size=4, stride=2, padding=1))  # (N, out, S, S)
    return nn.Sequential(*layers), start


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable, by default) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def check_images(x: torch.Tensor, channels: int, image_size: int, name: str = "x") -> None:
    """Raise a ``ValueError`` naming the expected shape when ``x`` is not ``(N, channels, size, size)``."""
    expected = (channels, image_size, image_size)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4 or tuple(x.shape[1:]) != expected:
        hint = "; add a batch dimension with x.unsqueeze(0)" if tuple(x.shape) == expected else ""
        raise ValueError(
            f"expected {name} of shape (N, {channels}, {image_size}, {image_size}), got {tuple(x.shape)}{hint}"
        )


class MinibatchStdDev(nn.Module):
    """Append one feature that measures how varied the batch is (Karras et al. 2018, section 3).

    For a batch ``x`` of features ``(N, F)`` or feature maps ``(N, C, H, W)``: the standard
    deviation over the batch of every feature (at every position),
    ``s = sqrt(mean_n (x[n] - mean_n x)^2 + eps)``, averaged to one number ``v``; the output is ``x``
    with ``v`` appended as one more feature, ``(N, F + 1)``, or one more constant channel,
    ``(N, C + 1, H, W)``. A batch of identical examples (a collapsed generator's) gives
    ``v = sqrt(eps)``, about 0, which a discriminator can learn to reject; one that scores each
    example on its own cannot see it. Karras et al. use groups of 4 examples; here the group is
    the whole batch, so it needs at least 2.
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (2, 4) or len(x) < 2:
            raise ValueError("expected a batch of at least 2 examples (N >= 2: the layer measures the batch) "
                             f"of features (N, F) or feature maps (N, C, H, W), got {tuple(x.shape)}")
        v = (x.var(dim=0, unbiased=False) + self.eps).sqrt().mean()  # one number for the whole batch
        return torch.cat([x, v.expand(len(x), 1, *x.shape[2:])], dim=1)  # (N, F + 1) or (N, C + 1, H, W)
