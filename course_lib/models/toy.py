"""Small fully connected generator and discriminator/critic for 2-D toy data
(e.g. ``course_lib.data.make_gaussian_ring``), where mode collapse can be seen in one scatter plot."""
from __future__ import annotations

from typing import List

import torch
from torch import nn

from .blocks import MinibatchStdDev


def _mlp(in_dim: int, hidden: int, depth: int, out_dim: int, activation: nn.Module) -> List[nn.Module]:
    if depth < 1:
        raise ValueError(f"depth (number of hidden layers) must be at least 1, got {depth}")
    layers, width = [], in_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation]  # (N, hidden); an activation has no parameters
        width = hidden
    layers.append(nn.Linear(width, out_dim))  # (N, out_dim), raw
    return layers


class MLPGenerator(nn.Module):
    """``z (N, latent_dim) -> points (N, out_dim)``: ``depth`` hidden ReLU layers of width ``hidden``.

    The output is unbounded (no tanh), so the points can land anywhere in the plane.
    """

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.latent_dim, self.out_dim = latent_dim, out_dim
        self.net = nn.Sequential(*_mlp(latent_dim, hidden, depth, out_dim, nn.ReLU()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected noise of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """``points (N, in_dim) -> (N,)`` raw scores: ``depth`` hidden LeakyReLU(0.2) layers of width ``hidden``.

    The scores are logits for a GAN (``course_lib.losses.discriminator_loss``) or critic values for a
    WGAN (``critic_loss``); there is no normalisation, so each score depends on its own point only,
    unless ``minibatch_std=True``: then a :class:`MinibatchStdDev` feature follows the first hidden
    layer, and each score also depends on the spread of the batch it is computed with.
    """

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3, minibatch_std: bool = False):
        super().__init__()
        self.in_dim = in_dim
        if minibatch_std:
            first = [nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2), MinibatchStdDev()]  # (N, hidden + 1)
            self.net = nn.Sequential(*first, *_mlp(hidden + 1, hidden, depth - 1, 1, nn.LeakyReLU(0.2))) if depth > 1 \
                else nn.Sequential(*first, nn.Linear(hidden + 1, 1))
        else:
            self.net = nn.Sequential(*_mlp(in_dim, hidden, depth, 1, nn.LeakyReLU(0.2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected points of shape (N, {self.in_dim}), got {tuple(x.shape)}")
        return self.net(x).squeeze(1)  # (N,)
