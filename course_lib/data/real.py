"""Real image datasets for online users: CIFAR-10, CelebA, Quick Draw and the CycleGAN zips.

Each raises :class:`DatasetUnavailable` (with what to do) when the files are neither on disk nor
downloadable, so the offline course never depends on them.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import pandas as pd
import torch

from .download import OFFLINE_ENV_VAR, DatasetUnavailable, _download, _offline_requested, _socket_timeout, default_data_dir

QUICKDRAW_URL = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap/{category}.npy"
CYCLEGAN_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
CYCLEGAN_DATASETS = ("apple2orange", "horse2zebra", "summer2winter_yosemite", "monet2photo")


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
