"""Sampling in latent space: the reparameterisation trick, the prior, and interpolation.

Kept apart from the models (what is sampled, not what is learned). Randomness is injectable
everywhere: pass ``noise`` or a seeded :class:`torch.Generator` to make a call deterministic.
"""
from __future__ import annotations

import math
from typing import Optional, Union

import torch

from .checks import check_count as _check_count, check_same_shape as _check_same_shape, check_tensor, shape_text as _shape  # noqa: F401

Tensor = torch.Tensor

__all__ = ["reparameterize", "sample_prior", "interpolate", "INTERPOLATION_METHODS"]

INTERPOLATION_METHODS = ("linear", "slerp")

# Below this angle (radians) slerp's sin(theta) in the denominator loses precision and the
# arc is indistinguishable from the chord, so linear interpolation is used instead.
_SLERP_MIN_ANGLE = 1e-6


def _check_tensor(name: str, x: object) -> None:
    check_tensor(name, x, nonempty=False)


def reparameterize(
    mu: Tensor,
    logvar: Tensor,
    noise: Optional[Tensor] = None,
    *,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    r"""Draw :math:`z \sim \mathcal N(\mu, \mathrm{diag}\,\sigma^2)` with the reparameterisation trick.

    .. math::
        z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp(\tfrac12 \log\sigma^2), \qquad
        \varepsilon \sim \mathcal N(0, I)

    (Kingma & Welling 2014, section 2.4). The randomness sits in :math:`\varepsilon`, so
    gradients flow to ``mu`` (:math:`\partial z/\partial\mu = 1`) and ``logvar``
    (:math:`\partial z/\partial \log\sigma^2 = \tfrac12 \sigma\varepsilon`).

    Reduction: none, elementwise; the output has the shape of ``mu``.

    Args:
        mu: means, any shape (usually ``(N, latent_dim)``).
        logvar: log-variances :math:`\log\sigma^2`, same shape as ``mu``.
        noise: :math:`\varepsilon`, same shape as ``mu``; drawn from the standard normal when
            ``None``.
        generator: optional :class:`torch.Generator` for drawing ``noise`` reproducibly (only
            when ``noise`` is ``None``).
    """
    _check_tensor("mu", mu)
    _check_tensor("logvar", logvar)
    _check_same_shape("mu", mu, "logvar", logvar)
    if noise is None:
        noise = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)  # eps ~ N(0, I)
    else:
        if generator is not None:
            raise ValueError("pass either noise or generator to reparameterize, not both")
        _check_tensor("noise", noise)
        _check_same_shape("mu", mu, "noise", noise)
    std = torch.exp(0.5 * logvar)  # sigma = exp(log(sigma^2) / 2)
    return mu + std * noise  # z = mu + sigma * eps


def sample_prior(
    n: int,
    latent_dim: int,
    generator: Optional[torch.Generator] = None,
    device: Optional[Union[str, torch.device]] = None,
    *,
    dtype: Optional[torch.dtype] = None,
) -> Tensor:
    r"""Draw ``n`` latent vectors from the standard normal prior :math:`p(z) = \mathcal N(0, I)`.

    Args:
        n: number of vectors.
        latent_dim: size of each vector.
        generator: optional :class:`torch.Generator` for reproducible draws.
        device: where to create the tensor; defaults to the generator's device if one is given,
            else the default device.
        dtype: floating dtype (default: ``torch.get_default_dtype()``).

    Returns:
        Tensor of shape ``(n, latent_dim)``.
    """
    _check_count("n", n, 0)
    _check_count("latent_dim", latent_dim, 1)
    if device is None and generator is not None:
        device = generator.device
    return torch.randn((n, latent_dim), generator=generator, device=device, dtype=dtype)


def interpolate(z0: Tensor, z1: Tensor, steps: int, method: str = "linear") -> Tensor:
    r"""``steps`` evenly spaced points from ``z0`` to ``z1`` inclusive, stacked on a new first dim.

    With :math:`t_k = k / (\text{steps} - 1)`, :math:`k = 0, \dots, \text{steps} - 1`:

    * ``"linear"``: :math:`z(t) = (1 - t)\, z_0 + t\, z_1`.
    * ``"slerp"`` (Shoemake 1985; White 2016, "Sampling Generative Networks"):

      .. math::
          z(t) = \frac{\sin((1 - t)\theta)}{\sin\theta} z_0 + \frac{\sin(t\theta)}{\sin\theta} z_1,
          \qquad \cos\theta = \frac{\langle z_0, z_1\rangle}{\lVert z_0\rVert\,\lVert z_1\rVert}

      The tensors are treated as single flattened vectors (for a batch of pairs, call once per
      pair). The path moves at constant angular speed and keeps the norm when
      :math:`\lVert z_0\rVert = \lVert z_1\rVert`, so intermediate points stay in the shell
      where a high-dimensional Gaussian prior puts its mass. When the angle is ~0 (parallel
      vectors) or either vector is zero the arc is the chord and linear interpolation is used.
      When the vectors are antipodal (:math:`\theta \approx \pi`) the great circle between them
      is not unique, so a ``ValueError`` is raised: perturb an endpoint or use ``"linear"``.

    The endpoints of the output are exactly ``z0`` and ``z1``.

    Args:
        z0, z1: endpoints of the same shape (any shape, e.g. ``(latent_dim,)``).
        steps: number of points, at least 2.
        method: ``"linear"`` or ``"slerp"``.

    Returns:
        Tensor of shape ``(steps, *z0.shape)``.
    """
    if method not in INTERPOLATION_METHODS:
        raise ValueError(f"unknown interpolation method {method!r}; expected one of {INTERPOLATION_METHODS}")
    _check_tensor("z0", z0)
    _check_tensor("z1", z1)
    _check_same_shape("z0", z0, "z1", z1)
    _check_count("steps", steps, 2)
    if not z0.is_floating_point() or z0.dtype != z1.dtype:
        raise TypeError(
            f"expected z0 and z1 of the same floating dtype, got {z0.dtype} and {z1.dtype}; "
            "convert them with .float()"
        )

    t = torch.linspace(0, 1, steps, dtype=torch.float64, device=z0.device)  # t_k = k / (steps - 1)
    w0, w1 = 1 - t, t  # linear weights
    if method == "slerp":
        a, b = z0.reshape(-1).double(), z1.reshape(-1).double()
        norms = a.norm() * b.norm()
        if norms > 0:
            cos_theta = (a @ b / norms).clamp(-1.0, 1.0)
            theta = torch.arccos(cos_theta)  # angle between the endpoints
            if math.pi - theta.item() < _SLERP_MIN_ANGLE:
                raise ValueError(
                    "slerp between antipodal vectors (angle ~ pi) is undefined: every great circle "
                    "joins them; perturb one endpoint or use method='linear'"
                )
            if theta.item() >= _SLERP_MIN_ANGLE:
                sin_theta = torch.sin(theta)
                w0 = torch.sin((1 - t) * theta) / sin_theta  # sin((1 - t) theta) / sin theta
                w1 = torch.sin(t * theta) / sin_theta  # sin(t theta) / sin theta
        # else: a zero endpoint has no direction, keep the linear weights

    shape = (steps,) + (1,) * z0.dim()  # broadcast one weight per step over z's shape
    w0 = w0.to(z0.dtype).view(shape)
    w1 = w1.to(z0.dtype).view(shape)
    out = w0 * z0.unsqueeze(0) + w1 * z1.unsqueeze(0)
    out[0], out[-1] = z0, z1  # exact endpoints, whatever the rounding of the weights
    return out
