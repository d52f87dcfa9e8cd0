"""2-D toy distributions with exact densities: three islands, and a ring of Gaussian modes."""
from __future__ import annotations

import numpy as np
import torch


# Three islands in the box [-3, 3] x [-2, 2]: two ellipses (cx, cy, ax, ay) and one rectangle.
TOY_2D_ELLIPSES = ((-1.6, 0.6, 1.0, 0.7), (1.4, -0.9, 0.9, 0.5))
TOY_2D_RECTANGLE = (0.6, 0.5, 2.4, 1.5)  # x_min, y_min, x_max, y_max
TOY_2D_BOX = (-3.0, -2.0, 3.0, 2.0)


def toy_2d_inside(points) -> np.ndarray:
    """Boolean mask: which points lie on one of the three islands (the support of p_data)."""
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"expected points of shape (N, 2), got {p.shape}")
    x, y = p[:, 0], p[:, 1]
    inside = np.zeros(len(p), dtype=bool)
    for cx, cy, ax, ay in TOY_2D_ELLIPSES:
        inside |= ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0
    x0, y0, x1, y1 = TOY_2D_RECTANGLE
    inside |= (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    return inside


def toy_2d_area() -> float:
    """Total area of the islands (they do not overlap)."""
    x0, y0, x1, y1 = TOY_2D_RECTANGLE
    return sum(np.pi * ax * ay for _, _, ax, ay in TOY_2D_ELLIPSES) + (x1 - x0) * (y1 - y0)


def toy_2d_density(points) -> np.ndarray:
    """The exact density p_data: uniform over the islands, zero elsewhere."""
    return toy_2d_inside(points) / toy_2d_area()


def make_toy_2d(n: int = 500, seed: int = 0) -> np.ndarray:
    """``n`` points drawn uniformly from the islands (rejection sampling from the bounding box)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = TOY_2D_BOX
    out = np.empty((0, 2))
    while len(out) < n:
        candidates = rng.uniform((x0, y0), (x1, y1), size=(2 * n, 2))
        out = np.concatenate([out, candidates[toy_2d_inside(candidates)]])
    return out[:n]


def make_gaussian_ring(
    n: int = 1000, n_modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``n`` points from ``n_modes`` Gaussians evenly spaced on a circle; returns ``(points, mode)``.

    ``points`` is ``(n, 2)`` float32 and ``mode`` ``(n,)`` int64, the index of the mode each point came from.
    """
    if n_modes < 1:
        raise ValueError(f"n_modes must be at least 1, got {n_modes}")
    g = torch.Generator().manual_seed(seed)
    mode = torch.randint(n_modes, (n,), generator=g)
    angle = 2 * np.pi * mode.float() / n_modes
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return centres + std * torch.randn(n, 2, generator=g), mode


def gaussian_ring_centres(n_modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The ``(n_modes, 2)`` mode centres used by :func:`make_gaussian_ring`."""
    angle = 2 * np.pi * torch.arange(n_modes).float() / n_modes
    return radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
