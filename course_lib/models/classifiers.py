"""Image classifiers: a multilayer perceptron and a small CNN, both returning logits.

The CNN trained on MNIST is the course's feature extractor for sample-quality metrics
(:mod:`course_lib.metrics`): :meth:`CNNClassifier.features` gives its penultimate embedding.
:class:`AttributeClassifier` is the same CNN with one logit per binary attribute, used to
score which attributes of an avatar a VAE or a CycleGAN keeps.
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
from torch import nn

from .blocks import check_images


class MLPClassifier(nn.Module):
    """Fully connected classifier: flatten, then ``Linear -> ReLU -> Dropout`` per hidden layer.

    Args:
        in_shape: shape of one input, e.g. ``(1, 28, 28)``.
        hidden: widths of the hidden layers (``()`` gives multinomial logistic regression).
        num_classes: number of output logits.
        dropout: dropout probability after each hidden layer.

    ``forward(x)``: ``(N, *in_shape) -> (N, num_classes)`` logits (use ``F.cross_entropy``).
    """

    def __init__(self, in_shape: Sequence[int] = (1, 28, 28), hidden: Sequence[int] = (256, 128),
                 num_classes: int = 10, dropout: float = 0.2):
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.num_classes = num_classes
        layers, width = [nn.Flatten()], math.prod(self.in_shape)  # (N, 784)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]  # (N, h)
            width = h
        layers.append(nn.Linear(width, num_classes))  # (N, num_classes)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"expected inputs of shape (N, {', '.join(map(str, self.in_shape))}), got {tuple(x.shape)}")
        return self.net(x)


class CNNClassifier(nn.Module):
    """Small convolutional classifier (conv -> batch norm -> ReLU -> max-pool stages, then a dense layer).

    For the defaults on MNIST::

        (N, 1, 28, 28) -> conv 3x3, BN, ReLU, pool -> (N, 32, 14, 14)
                       -> conv 3x3, BN, ReLU, pool -> (N, 64, 7, 7)
                       -> flatten, dropout          -> (N, 3136)
                       -> linear, ReLU              -> (N, 128)   = features(x)
                       -> dropout, linear           -> (N, 10)    logits

    Args:
        in_channels: image channels (1 for MNIST, 3 for RGB).
        num_classes: number of output logits.
        image_size: side of the square input images; each pooling floors odd sides.
        channels: output channels of the convolutional stages (one 2x2 max-pool per stage).
        hidden: width of the penultimate (embedding) layer, ``feature_dim``.
        dropout: dropout probability before each of the two dense layers.

    Attributes:
        feature_dim: size of the embedding returned by :meth:`features`.
        in_shape: ``(in_channels, image_size, image_size)``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28,
                 channels: Sequence[int] = (32, 64), hidden: int = 128, dropout: float = 0.25):
        super().__init__()
        self.in_shape: Tuple[int, int, int] = (in_channels, image_size, image_size)
        self.num_classes = num_classes
        self.feature_dim = hidden
        layers, c, side = [], in_channels, image_size
        for out in channels:
            layers += [
                nn.Conv2d(c, out, kernel_size=3, padding=1, bias=False),  # (N, out, side, side)
                nn.BatchNorm2d(out),
                nn.ReLU(),
                nn.MaxPool2d(2),  # (N, out, side // 2, side // 2)
            ]
            c, side = out, side // 2
        if side < 1:
            raise ValueError(f"image_size={image_size} is too small for {len(channels)} pooling stages")
        self.conv = nn.Sequential(*layers)
        self.embed = nn.Sequential(
            nn.Flatten(),  # (N, c * side * side)
            nn.Dropout(dropout),
            nn.Linear(c * side * side, hidden),  # (N, hidden)
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes))  # (N, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate embedding ``(N, feature_dim)``; used as the feature space of the Frechet distance."""
        check_images(x, *self.in_shape[:2])
        return self.embed(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)``."""
        return self.head(self.features(x))


class AttributeClassifier(CNNClassifier):
    """Multi-label classifier: one logit per binary attribute of an image (e.g. smile, glasses, hair colour).

    A categorical attribute becomes several one-hot columns (``hair_color == "black"``, ...). Train
    with ``F.binary_cross_entropy_with_logits(logits, targets.float())``; a logit above 0 predicts
    that the attribute is present. Same architecture as :class:`CNNClassifier`.

    Args:
        num_outputs: number of binary attributes (logits).
        in_channels, image_size, channels, hidden, dropout: as in :class:`CNNClassifier`
            (defaults for 32x32 RGB avatars).
    """

    def __init__(self, num_outputs: int, in_channels: int = 3, image_size: int = 32,
                 channels: Sequence[int] = (32, 64), hidden: int = 128, dropout: float = 0.25):
        super().__init__(in_channels=in_channels, num_classes=num_outputs, image_size=image_size,
                         channels=channels, hidden=hidden, dropout=dropout)
        self.num_outputs = num_outputs
