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


def _one_hot(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    if labels.dim() != 1 or labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ValueError(f"expected integer class labels of shape (N,), got {tuple(labels.shape)} {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must be in 0..{n_classes - 1}, got {int(labels.min())}..{int(labels.max())}")
    return nn.functional.one_hot(labels.long(), n_classes).float()  # (N, n_classes)


class ConditionalDCGANGenerator(DCGANGenerator):
    """A conditional DCGAN generator (Mirza & Osindero 2014): ``G(z, y)`` makes an image of class ``y``.

    The label enters as a one-hot vector appended to the noise, ``[z, onehot(y)]``
    ``(N, latent_dim + n_classes)``; the rest is :class:`DCGANGenerator`.
    """

    def __init__(self, latent_dim: int = 100, n_classes: int = 10, out_channels: int = 1, image_size: int = 28,
                 base_channels: int = 64):
        super().__init__(latent_dim + n_classes, out_channels, image_size, base_channels)
        self.latent_dim, self.n_classes = latent_dim, n_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected noise of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        if len(labels) != len(z):
            raise ValueError(f"expected one label per noise vector ({len(z)}), got {len(labels)}")
        return self.net(torch.cat([z, _one_hot(labels, self.n_classes).to(z)], dim=1))


class ConditionalDCGANDiscriminator(DCGANDiscriminator):
    """A conditional DCGAN discriminator: ``D(x, y)`` scores whether ``x`` is a real image *of class y*.

    The label enters as ``n_classes`` constant feature planes stacked on the image (plane ``y`` all
    ones, the others zeros): ``(N, in_channels + n_classes, H, W)``; the rest is :class:`DCGANDiscriminator`.
    A real digit shown with the wrong label is then something D can learn to reject, which is what
    forces G to draw the requested class.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, image_size: int = 28, base_channels: int = 64,
                 batch_norm: bool = True, dropout: float = 0.0):
        super().__init__(in_channels + n_classes, image_size, base_channels, batch_norm, dropout)
        self.image_channels, self.n_classes = in_channels, n_classes

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_images(x, self.image_channels, self.image_size)
        if len(labels) != len(x):
            raise ValueError(f"expected one label per image ({len(x)}), got {len(labels)}")
        planes = _one_hot(labels, self.n_classes).to(x)[:, :, None, None].expand(-1, -1, *x.shape[2:])  # (N, K, H, W)
        return self.net(torch.cat([x, planes], dim=1)).squeeze(1)  # (N,)
