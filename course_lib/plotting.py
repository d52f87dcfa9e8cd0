"""Figures used throughout the book: image grids and training curves."""
from __future__ import annotations

from typing import Iterable, Optional, Sequence, Tuple

import matplotlib.pyplot as plt
import pandas as pd
import torch


def image_grid(
    images: torch.Tensor, nrow: int = 8, value_range: Tuple[float, float] = (0.0, 1.0), padding: int = 2
) -> torch.Tensor:
    """Tile ``(N, C, H, W)`` images into one ``(H', W', 3)`` array for ``imshow``.

    ``value_range`` is the range the images live in: ``(0, 1)`` for sigmoid outputs and data,
    ``(-1, 1)`` for tanh generators; values are clipped into it.
    """
    if not torch.is_tensor(images):
        images = torch.as_tensor(images)
    if images.ndim == 3:  # (N, H, W): one channel
        images = images.unsqueeze(1)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    low, high = value_range
    images = ((images.detach().float().cpu() - low) / (high - low)).clamp(0, 1)
    from torchvision.utils import make_grid  # imported here: torchvision takes ~3 s to import

    grid = make_grid(images, nrow=nrow, padding=padding, pad_value=1.0)
    return grid.permute(1, 2, 0)


def show_images(
    images: torch.Tensor,
    nrow: int = 8,
    title: Optional[str] = None,
    ax: Optional[plt.Axes] = None,
    value_range: Tuple[float, float] = (0.0, 1.0),
    figsize: Optional[Tuple[float, float]] = None,
) -> plt.Axes:
    """Show a batch of images as one grid (greyscale images in grey, RGB as colour)."""
    grid = image_grid(images, nrow=nrow, value_range=value_range)
    if ax is None:
        n = len(images)
        rows = -(-n // nrow)
        _, ax = plt.subplots(figsize=figsize or (min(nrow, n) * 0.9 + 0.5, rows * 0.9 + 0.6))
    ax.imshow(grid.numpy(), cmap="gray" if images.shape[-3] == 1 else None, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_history(
    history: pd.DataFrame,
    columns: Optional[Sequence[str]] = None,
    x: Optional[str] = None,
    ax: Optional[plt.Axes] = None,
    title: Optional[str] = None,
    ylabel: str = "loss",
    smooth: int = 1,
) -> plt.Axes:
    """Plot training curves from a history table (one row per step or epoch).

    Args:
        history: DataFrame with one numeric column per tracked quantity.
        columns: which columns to plot (default: every numeric column except ``x``).
        x: column to use as the x axis (default: the index).
        smooth: width of a centred rolling mean, for noisy per-step curves.
    """
    if not isinstance(history, pd.DataFrame) or history.empty:
        raise ValueError("plot_history needs a non-empty pandas DataFrame (the history a training loop returns)")
    if columns is None:
        columns = [c for c in history.select_dtypes("number").columns if c != x]
    unknown = [c for c in columns if c not in history.columns]
    if unknown:
        raise KeyError(f"history has no columns {unknown}; it has {list(history.columns)}")
    xs = history[x] if x is not None else history.index
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for column in columns:
        values = history[column]
        if smooth > 1:
            values = values.rolling(smooth, min_periods=1, center=True).mean()
        ax.plot(xs, values, label=column)
    ax.set_xlabel(x or (history.index.name or "step"))
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(columns) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_latent_histograms(
    codes: dict,
    ncols: int = 4,
    bins: int = 40,
    titles: Optional[Sequence[str]] = None,
    value_range: Tuple[float, float] = (-4.0, 4.0),
    panel_size: Tuple[float, float] = (2.6, 1.9),
) -> plt.Figure:
    """One panel per latent dimension: density histograms of each set of codes against N(0, 1).

    Args:
        codes: ``{label: (N, D) tensor or array}``, e.g. ``{"encoder means": mu, "sampled z": z}``;
            every set must have the same ``D``.
        titles: one title per dimension (default ``z1``, ``z2``, ...).
        value_range: the x range of every panel (values outside it are not drawn).
    """
    import numpy as np

    arrays = {label: np.asarray(values.detach().cpu() if torch.is_tensor(values) else values)
              for label, values in codes.items()}
    dims = {a.shape[1] if a.ndim == 2 else None for a in arrays.values()}
    if len(dims) != 1 or None in dims:
        raise ValueError(f"expected (N, D) codes with one D for every set, got shapes "
                         f"{ {k: a.shape for k, a in arrays.items()} }")
    (dim,) = dims
    titles = list(titles) if titles is not None else [f"z{d + 1}" for d in range(dim)]
    if len(titles) != dim:
        raise ValueError(f"got {len(titles)} titles for {dim} dimensions")
    nrows = -(-dim // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                             sharex=True, squeeze=False)
    edges = np.linspace(*value_range, bins + 1)
    grid = np.linspace(*value_range, 200)
    for d, ax in enumerate(axes.ravel()):
        if d >= dim:
            ax.set_axis_off()
            continue
        for label, values in arrays.items():
            ax.hist(values[:, d], bins=edges, density=True, histtype="stepfilled", alpha=0.45, label=label)
        ax.plot(grid, np.exp(-grid ** 2 / 2) / np.sqrt(2 * np.pi), color="black", lw=1.2, label="N(0, 1)")
        ax.set_title(titles[d], fontsize=9)
        ax.set_yticks([])
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
