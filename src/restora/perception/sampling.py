"""How the analyzer looks at an image: native-resolution crops plus one small whole-image view.

The same functions serve training (random crop positions) and inference (an even grid), so the
model always sees crops the way it was trained to.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def _pad_to(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    if h >= size and w >= size:
        return image
    pad_h, pad_w = max(0, size - h), max(0, size - w)
    return np.pad(
        image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect" if min(h, w) > 1 else "edge"
    )


def grid_positions(height: int, width: int, size: int, count: int) -> list[tuple[int, int]]:
    """``count`` crop corners spread evenly over the image (deterministic)."""
    rows = max(1, round(math.sqrt(count * height / max(width, 1))))
    cols = max(1, math.ceil(count / rows))
    ys = np.linspace(0, height - size, rows).round().astype(int)
    xs = np.linspace(0, width - size, cols).round().astype(int)
    positions = [(int(y), int(x)) for y in ys for x in xs]
    if len(positions) > count:  # keep an even spread when the grid has spare cells
        keep = np.linspace(0, len(positions) - 1, count).round().astype(int)
        positions = [positions[i] for i in keep]
    return positions


def random_positions(
    height: int, width: int, size: int, count: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    ys = rng.integers(0, height - size + 1, count)
    xs = rng.integers(0, width - size + 1, count)
    return [(int(y), int(x)) for y, x in zip(ys, xs, strict=True)]


def crops_and_thumb(
    image: np.ndarray,
    crop_size: int,
    count: int,
    thumb_size: int,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(K, 3, c, c) float32 crops and (3, t, t) thumbnail from an (H, W, 3) float image."""
    padded = _pad_to(np.asarray(image, dtype=np.float32), crop_size)
    h, w = padded.shape[:2]
    positions = (
        grid_positions(h, w, crop_size, count)
        if rng is None
        else random_positions(h, w, crop_size, count, rng)
    )
    crops = np.stack([padded[y : y + crop_size, x : x + crop_size] for y, x in positions])
    # INTER_AREA averages whole pixels, the right filter for a large reduction.
    thumb = cv2.resize(image, (thumb_size, thumb_size), interpolation=cv2.INTER_AREA)
    return (
        np.ascontiguousarray(crops.transpose(0, 3, 1, 2)),
        np.ascontiguousarray(thumb.transpose(2, 0, 1)),
    )
