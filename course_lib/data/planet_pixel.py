"""Planet Pixel: avatars rendered from known attributes, and the unpaired translation task built on them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np
import pandas as pd
import torch


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
