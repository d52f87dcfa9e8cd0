"""Autoencoders: an encoder squeezes an image into a small code ``z``, a decoder rebuilds the image.

All of them have ``encode(x) -> z``, ``decode(z) -> logits`` and ``forward(x) -> logits``; the
logits go to ``course_lib.losses.reconstruction_loss`` (binary cross-entropy with logits) and
``torch.sigmoid(logits)`` is the reconstructed image in [0, 1].

* :class:`DenseAutoencoder` - fully connected (a *stacked* autoencoder when ``hidden`` is not
  empty); ``hidden=()`` with ``activation=None`` is linear; ``tied=True`` makes every decoder
  layer use the transpose of its mirror encoder layer's weight (:class:`TiedLinear`);
  ``code_activation="sigmoid"`` keeps the code in (0, 1), as a sparsity penalty needs.
* :class:`TiedLinear` - a linear layer whose weight is the transpose of another ``nn.Linear``'s.
* :class:`LinearAutoencoder` - the linear one by name: it learns the same subspace as PCA when
  trained with the squared error on its raw output (``reconstruction_loss(out, x, kind="mse")``).
* :class:`ConvAutoencoder` - strided convolutions down to a dense bottleneck, transposed
  convolutions back up.
* :func:`add_noise` - corrupts inputs for a denoising autoencoder (train on ``add_noise(x) -> x``).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import nn

from .blocks import check_images, conv_decoder, conv_encoder, make_activation

NOISE_KINDS = ("gaussian", "dropout")
CODE_ACTIVATIONS = (None, "relu", "sigmoid")


class TiedLinear(nn.Module):
    """``y = x W^T + b`` where ``W`` is the **transpose** of ``source.weight``, and ``b`` its own bias.

    ``source`` maps ``in -> out`` with a weight of shape ``(out, in)``; this layer maps
    ``out -> in`` with the weight ``source.weight.t()`` of shape ``(in, out)``: the same tensor
    (same storage, same gradient), not a copy. Only the bias, ``source.in_features`` numbers, is
    a parameter of this layer, so a tied decoder has about half the parameters of an untied one.
    ``source`` is kept outside this module's parameters (the model that owns ``source`` trains,
    saves and moves it), so ``count_parameters(tied_layer)`` counts the bias only.
    """

    def __init__(self, source: nn.Linear):
        super().__init__()
        if not isinstance(source, nn.Linear):
            raise TypeError(f"TiedLinear ties to an nn.Linear, got {type(source).__name__}")
        self._source = (source,)  # a tuple: not registered as a submodule, so not counted twice
        self.in_features, self.out_features = source.out_features, source.in_features
        self.bias = nn.Parameter(torch.zeros(source.in_features))

    @property
    def weight(self) -> torch.Tensor:
        """``(out_features, in_features)``: a transposed view of the source layer's weight."""
        return self._source[0].weight.t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, self.bias)  # (N, in) @ W^T + b

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, weight=transpose of the mirror encoder layer"


class DenseAutoencoder(nn.Module):
    """Fully connected autoencoder with a mirrored decoder.

    For the defaults::

        encoder: (N, 1, 28, 28) -> flatten (N, 784) -> 512 -> 256 -> (N, latent_dim)
        decoder: (N, latent_dim) -> 256 -> 512 -> 784 -> (N, 1, 28, 28) logits

    Args:
        in_shape: shape of one input, e.g. ``(1, 28, 28)``.
        latent_dim: size of the code ``z`` (2 gives a latent space that can be plotted).
        hidden: widths of the encoder's hidden layers; the decoder uses them in reverse.
        activation: ``"relu"``, ``"leaky_relu"``, ``"tanh"`` or ``None`` (no non-linearity: with
            ``hidden=()`` the model is ``decode(encode(x)) = W_d (W_e x + b_e) + b_d``).
        tied: if True, every decoder layer is a :class:`TiedLinear` of its mirror encoder layer
            (``W_d = W_e^T`` layer by layer, own biases), about halving the parameters.
        code_activation: ``None`` (a linear code), ``"relu"`` or ``"sigmoid"`` (a code in (0, 1),
            read as firing probabilities by :func:`course_lib.losses.sparsity_kl_loss`), applied
            after the last encoder layer.
    """

    def __init__(self, in_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 2,
                 hidden: Sequence[int] = (512, 256), activation: Optional[str] = "relu",
                 tied: bool = False, code_activation: Optional[str] = None):
        super().__init__()
        if code_activation not in CODE_ACTIVATIONS:
            raise ValueError(f"unknown code_activation {code_activation!r}; use one of {CODE_ACTIVATIONS}")
        self.in_shape = tuple(in_shape)
        self.latent_dim = latent_dim
        n_in = math.prod(self.in_shape)
        widths = [n_in, *hidden, latent_dim]

        def mlp(linears):  # Linear -> activation between layers, no activation after the last
            layers = []
            for i, linear in enumerate(linears):
                layers.append(linear)
                if activation is not None and i < len(linears) - 1:
                    layers.append(make_activation(activation))
            return layers

        encoder_linears = [nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
        code = [] if code_activation is None else [nn.Sigmoid() if code_activation == "sigmoid" else nn.ReLU()]
        self.encoder = nn.Sequential(nn.Flatten(), *mlp(encoder_linears), *code)  # (N, latent_dim)
        if tied:  # decoder layer i is the transpose of encoder layer (L - 1 - i), with its own bias
            decoder_linears = [TiedLinear(linear) for linear in reversed(encoder_linears)]
        else:
            decoder_linears = [nn.Linear(b, a) for a, b in reversed(list(zip(widths[:-1], widths[1:])))]
        self.decoder = nn.Sequential(*mlp(decoder_linears), nn.Unflatten(1, self.in_shape))  # (N, *in_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, *in_shape) -> (N, latent_dim)``."""
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"expected inputs of shape (N, {', '.join(map(str, self.in_shape))}), got {tuple(x.shape)}")
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, latent_dim) -> (N, *in_shape)`` logits."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class LinearAutoencoder(DenseAutoencoder):
    """``DenseAutoencoder(hidden=(), activation=None)``: one linear map down, one linear map up.

    Trained with the squared error on its raw output it spans the same subspace as the first
    ``latent_dim`` principal components (Baldi & Hornik 1989), although its weights need not be
    orthonormal and its axes need not be the principal ones.
    """

    def __init__(self, in_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 2):
        super().__init__(in_shape=in_shape, latent_dim=latent_dim, hidden=(), activation=None)


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder with a dense bottleneck.

    For the defaults on MNIST::

        encoder: (N, 1, 28, 28) -> conv s2 -> (N, 32, 14, 14) -> conv s2 -> (N, 64, 7, 7)
                 -> flatten (N, 3136) -> linear -> (N, latent_dim)
        decoder: (N, latent_dim) -> linear -> (N, 64, 7, 7) -> deconv -> (N, 32, 14, 14)
                 -> deconv -> (N, 1, 28, 28) logits

    Every convolution but the last is followed by batch norm and LeakyReLU (0.2) in the encoder,
    ReLU in the decoder.

    Args:
        in_channels: image channels.
        image_size: 28, 32 or 64 (see :mod:`course_lib.models.blocks`).
        latent_dim: size of the code ``z``; as low as 2.
        base_channels: channels of the first convolution; they double at each stage.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, latent_dim: int = 2, base_channels: int = 32):
        super().__init__()
        self.in_channels, self.image_size, self.latent_dim = in_channels, image_size, latent_dim
        features, shape = conv_encoder(in_channels, image_size, base_channels)  # (N, C * s * s)
        self.encoder = nn.Sequential(features, nn.Linear(math.prod(shape), latent_dim))  # (N, latent_dim)
        upsample, start = conv_decoder(in_channels, image_size, base_channels)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, math.prod(start)),  # (N, C * s * s)
            nn.Unflatten(1, start),  # (N, C, s, s)
            nn.ReLU(),
            upsample,  # (N, in_channels, image_size, image_size)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, S, S) -> (N, latent_dim)``."""
        check_images(x, self.in_channels, self.image_size)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, latent_dim) -> (N, C, S, S)`` logits."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def add_noise(x: torch.Tensor, kind: str = "gaussian", amount: float = 0.3,
              generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Corrupt images for a denoising autoencoder, which learns to map ``add_noise(x)`` back to ``x``.

    * ``kind="gaussian"``: ``clamp(x + amount * eps, 0, 1)`` with ``eps ~ N(0, I)``; ``amount`` is the
      noise's standard deviation.
    * ``kind="dropout"``: every pixel is set to 0 with probability ``amount`` (masking noise, as in
      Vincent et al. 2008); unlike ``nn.Dropout`` the kept pixels are **not** rescaled, so the input
      stays an image in [0, 1].

    Args:
        x: images in [0, 1], any shape.
        kind: ``"gaussian"`` or ``"dropout"``.
        amount: noise standard deviation, or probability of dropping a pixel (in [0, 1]).
        generator: optional :class:`torch.Generator` (on ``x``'s device) for reproducible noise.

    Returns:
        A new tensor of ``x``'s shape; ``x`` itself is not changed and no gradient flows to the noise.
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; use one of {NOISE_KINDS}")
    if amount < 0 or (kind == "dropout" and amount > 1):
        raise ValueError(f"amount must be >= 0 (and <= 1 for dropout noise), got {amount}")
    if kind == "gaussian":
        eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (x + amount * eps).clamp(0.0, 1.0)
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= amount  # True: pixel survives
    return x * keep.to(x.dtype)
