"""Building blocks of progressive growing (Karras et al. 2018) and StyleGAN (Karras et al. 2019), small.

Nothing here is a full-scale model: the pieces are the layers those papers introduced, each a plain
``nn.Module`` or a pure function, plus two toy generators that wire them together so a book chapter can
run them in seconds.

==========================  =======================================================================
piece                       what it does
==========================  =======================================================================
PixelNorm                   ``x / sqrt(mean_c x^2 + eps)`` at every pixel (progressive GAN generator)
MinibatchStdDev             appends one channel: the mean over features and positions of the
                            per-feature standard deviation over the batch (discriminator)
EqualizedLinear/Conv2d      stored weights ~ N(0, 1), multiplied at run time by ``gain / sqrt(fan_in)``
fade_in                     ``(1 - alpha) * old + alpha * new`` when a resolution is added
ProgressiveGenerator        a generator that grows from 4x4 by doubling, with fade-in
MappingNetwork              ``z -> w``: PixelNorm, then an MLP of equalised linear layers
AdaIN                       instance-normalise each feature map, then scale and shift it from ``w``
NoiseInput                  adds per-pixel Gaussian noise, scaled per channel by a learned weight
ToyStyleGenerator           mapping network + synthesis network from a learned constant
mix_styles                  one ``w`` per style layer: the first ``crossover`` from ``w1``, the rest ``w2``
==========================  =======================================================================
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import MinibatchStdDev  # shared with the toy discriminator (course_lib.models.toy)

HE_GAIN = math.sqrt(2.0)  # He et al. (2015): std sqrt(2 / fan_in) keeps activations' scale through a ReLU


class PixelNorm(nn.Module):
    """Normalise the feature vector at every pixel to unit mean square over channels.

    ``y[n, c, h, w] = x[n, c, h, w] / sqrt(mean_c' x[n, c', h, w]^2 + eps)``; works on ``(N, C)`` vectors
    too (one "pixel"). No parameters.
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (2, 4):
            raise ValueError(f"expected (N, C) or (N, C, H, W), got {tuple(x.shape)}")
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class EqualizedLinear(nn.Module):
    """A linear layer with the equalised learning rate of progressive GANs.

    The stored weight is drawn from N(0, 1) and multiplied at every call by ``scale = gain / sqrt(fan_in)``
    (the He standard deviation for ``gain = sqrt(2)``), so the *effective* weight ``scale * weight`` has He
    initialisation while every stored parameter has the same dynamic range. Adam's steps have about the
    same size for every parameter, so every layer then changes at the same relative speed. Bias starts at 0.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = HE_GAIN):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = gain / math.sqrt(in_features)

    @property
    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight, self.bias)


class EqualizedConv2d(nn.Module):
    """A convolution with the equalised learning rate (see :class:`EqualizedLinear`);
    ``fan_in = in_channels * kernel_size ** 2``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, gain: float = HE_GAIN):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel_size ** 2)
        self.stride, self.padding = stride, padding

    @property
    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.effective_weight, self.bias, stride=self.stride, padding=self.padding)


def fade_in(alpha: float, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """Progressive growing's blend ``(1 - alpha) * old + alpha * new``, ``alpha`` rising from 0 to 1.

    ``old`` is the previous resolution's image upsampled to the new size, ``new`` the new layers' image.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if old.shape != new.shape:
        raise ValueError(f"old and new images must have the same shape, got {tuple(old.shape)} and {tuple(new.shape)}")
    return (1.0 - alpha) * old + alpha * new


class ProgressiveGenerator(nn.Module):
    """A progressive-GAN generator, small: 4x4 from ``z``, then one block per doubling.

    Block ``k`` (``k >= 1``) upsamples (nearest neighbour) and applies two 3x3 equalised convolutions, each
    followed by LeakyReLU(0.2) and PixelNorm; every resolution has its own 1x1 "to image" layer.
    ``forward(z, stage, alpha)`` returns ``(N, out_channels, 4 * 2**stage, 4 * 2**stage)`` images: the last
    block's image faded in over the previous stage's image, upsampled, with weight ``alpha``.
    """

    def __init__(self, latent_dim: int = 32, channels: int = 32, out_channels: int = 1, num_stages: int = 3):
        super().__init__()
        self.latent_dim, self.num_stages = latent_dim, num_stages
        self.start = nn.Sequential(EqualizedLinear(latent_dim, channels * 16), nn.Unflatten(1, (channels, 4, 4)),
                                   nn.LeakyReLU(0.2), PixelNorm())  # (N, C, 4, 4)
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                          EqualizedConv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2), PixelNorm(),
                          EqualizedConv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2), PixelNorm())
            for _ in range(num_stages - 1)])
        self.to_image = nn.ModuleList([EqualizedConv2d(channels, out_channels, 1, gain=1.0) for _ in range(num_stages)])

    def forward(self, z: torch.Tensor, stage: Optional[int] = None, alpha: float = 1.0) -> torch.Tensor:
        stage = self.num_stages - 1 if stage is None else stage
        if not 0 <= stage < self.num_stages:
            raise ValueError(f"stage must be in 0..{self.num_stages - 1}, got {stage}")
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected noise of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        h = self.start(z)
        if stage == 0:
            return self.to_image[0](h)
        for block in self.blocks[:stage - 1]:
            h = block(h)
        old = F.interpolate(self.to_image[stage - 1](h), scale_factor=2, mode="nearest")  # previous image, upsampled
        new = self.to_image[stage](self.blocks[stage - 1](h))
        return fade_in(alpha, old, new)


class MappingNetwork(nn.Module):
    """``z (N, latent_dim) -> w (N, w_dim)``: PixelNorm of ``z``, then ``depth`` equalised linear layers,
    each followed by LeakyReLU(0.2) (StyleGAN uses depth 8 and 512 dimensions)."""

    def __init__(self, latent_dim: int = 32, w_dim: int = 32, depth: int = 4):
        super().__init__()
        layers: List[nn.Module] = [PixelNorm()]
        for i in range(depth):
            layers += [EqualizedLinear(latent_dim if i == 0 else w_dim, w_dim), nn.LeakyReLU(0.2)]
        self.latent_dim, self.net = latent_dim, nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected noise of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.net(z)


class AdaIN(nn.Module):
    """Adaptive instance normalisation: the style ``w`` sets each feature map's mean and spread.

    ``y_s, y_b = A(w)`` (a learned affine map, one scale and one bias per channel), and
    ``AdaIN(x, w)[n, c] = (1 + y_s[n, c]) * (x[n, c] - mu[n, c]) / sigma[n, c] + y_b[n, c]``, where ``mu``
    and ``sigma`` are the mean and standard deviation of feature map ``x[n, c]`` over its pixels. The
    ``1 +`` makes an untrained ``A`` (outputs near 0) start close to the identity scale.
    """

    def __init__(self, channels: int, w_dim: int, eps: float = 1e-8):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, 2 * channels, gain=1.0)  # the "A" box of the StyleGAN figure
        self.channels, self.eps = channels, eps

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected features of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        y_s, y_b = self.affine(w).view(-1, 2, self.channels, 1, 1).unbind(1)  # each (N, C, 1, 1)
        mu = x.mean(dim=(2, 3), keepdim=True)
        sigma = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + self.eps).sqrt()
        return (1 + y_s) * (x - mu) / sigma + y_b


class NoiseInput(nn.Module):
    """Add one map of per-pixel Gaussian noise, scaled per channel by a learned weight (the "B" box).

    ``y[n, c] = x[n, c] + b[c] * noise[n]``; ``noise`` is ``(N, 1, H, W)``, drawn with ``generator`` when not
    given. StyleGAN starts ``b`` at 0 and learns it; ``init`` sets the starting value.
    """

    def __init__(self, channels: int, init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), float(init)))

    def forward(self, x: torch.Tensor, noise: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        if noise is None:
            noise = torch.randn(len(x), 1, *x.shape[2:], generator=generator, device=x.device)
        return x + self.weight.view(1, -1, 1, 1) * noise


def mix_styles(w1: torch.Tensor, w2: torch.Tensor, crossover: int, num_layers: int) -> torch.Tensor:
    """Style mixing: ``(N, num_layers, w_dim)`` styles, ``w1`` for layers ``< crossover`` and ``w2`` after.

    ``w1`` and ``w2`` are ``(N, w_dim)``. Layers are counted from the coarsest (4x4) to the finest.
    """
    if w1.shape != w2.shape or w1.dim() != 2:
        raise ValueError(f"expected two (N, w_dim) styles of the same shape, got {tuple(w1.shape)} and {tuple(w2.shape)}")
    if not 0 <= crossover <= num_layers:
        raise ValueError(f"crossover must be in 0..{num_layers}, got {crossover}")
    use_first = (torch.arange(num_layers, device=w1.device) < crossover).view(1, -1, 1)
    return torch.where(use_first, w1.unsqueeze(1), w2.unsqueeze(1))


class ToyStyleGenerator(nn.Module):
    """A StyleGAN generator at toy scale: ``z -> w`` (mapping) and a synthesis network from a constant.

    Synthesis: a learned constant ``(C, 4, 4)`` (drawn from N(0, 1) at the start); at 4x4 noise + AdaIN, 3x3 conv, noise + AdaIN; then per
    doubling: upsample, (3x3 conv, noise, LeakyReLU, AdaIN) twice; finally a 1x1 conv to ``out_channels``.
    That is ``num_style_layers = 2 * num_levels`` AdaIN layers, each taking its own ``w``.

    Args:
        latent_dim, w_dim: sizes of ``z`` and ``w``.
        channels: feature maps at every level.
        num_levels: resolutions 4, 8, ..., ``4 * 2**(num_levels - 1)``.
        noise_init: starting value of every noise weight ``b`` (StyleGAN: 0, then learned).
    """

    def __init__(self, latent_dim: int = 32, w_dim: int = 32, channels: int = 32, out_channels: int = 1,
                 num_levels: int = 3, mapping_depth: int = 4, noise_init: float = 0.0):
        super().__init__()
        self.mapping = MappingNetwork(latent_dim, w_dim, mapping_depth)
        # StyleGAN starts the constant at ones and learns its layout; a flat constant in an *untrained* network
        # would leave the first AdaIN nothing to normalise but the noise, so the toy starts from N(0, 1).
        self.const = nn.Parameter(torch.randn(1, channels, 4, 4))
        self.num_levels, self.num_style_layers = num_levels, 2 * num_levels
        self.convs = nn.ModuleList([EqualizedConv2d(channels, channels, 3, padding=1)
                                    for _ in range(2 * num_levels - 1)])
        self.noises = nn.ModuleList([NoiseInput(channels, noise_init) for _ in range(2 * num_levels)])
        self.styles = nn.ModuleList([AdaIN(channels, w_dim) for _ in range(2 * num_levels)])
        self.to_image = EqualizedConv2d(channels, out_channels, 1, gain=1.0)

    def synthesis(self, ws: torch.Tensor, noise: Optional[Sequence[torch.Tensor]] = None,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Images ``(N, out_channels, H, W)`` from styles ``ws`` of shape ``(N, num_style_layers, w_dim)``
        (or ``(N, w_dim)``, the same ``w`` for every layer); ``noise``: one ``(N, 1, h, w)`` map per layer."""
        if ws.dim() == 2:
            ws = ws.unsqueeze(1).expand(-1, self.num_style_layers, -1)
        if ws.dim() != 3 or ws.shape[1] != self.num_style_layers:
            raise ValueError(f"expected styles of shape (N, {self.num_style_layers}, w_dim), got {tuple(ws.shape)}")
        noise = list(noise) if noise is not None else [None] * self.num_style_layers
        x = self.const.expand(len(ws), -1, -1, -1)  # (N, C, 4, 4)
        for i in range(self.num_style_layers):
            if i > 0:
                if i % 2 == 0:  # the first layer of a new level (layer i is at level i // 2)
                    x = F.interpolate(x, scale_factor=2, mode="nearest")
                x = self.convs[i - 1](x)
            x = self.noises[i](x, noise[i], generator)
            x = F.leaky_relu(x, 0.2) if i > 0 else x
            x = self.styles[i](x, ws[:, i])
        return self.to_image(x)

    def forward(self, z: torch.Tensor, noise: Optional[Sequence[torch.Tensor]] = None,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        return self.synthesis(self.mapping(z), noise, generator)
