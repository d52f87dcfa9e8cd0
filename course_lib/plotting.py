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
