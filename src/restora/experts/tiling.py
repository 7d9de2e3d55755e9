"""Overlapping tiles blended without seams, with memory bounded by the tile size.

An expert that works on ``tile x tile`` pieces sees the whole image one piece at a time; every
output tile is multiplied by a blending window and added into one preallocated float32 output
(and a float32 weight plane), so the peak memory is the input, the output, the weights and one
tile's worth of the expert's own working memory, whatever the image size.

The window is 1 inside a tile, zero over the outer ``margin`` pixels on every side that has a
neighbouring tile (where the expert saw the artificial tile border instead of real context)
and a raised-cosine ramp between. Because the neighbour's window rises where this one falls and
the output is divided by the summed weights, an expert whose output depends only on pixels
within ``margin`` of each output pixel gives exactly the untiled result; anything with a wider
context blends smoothly (the ramp has no jumps in value or slope), so no seam appears.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

TileFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TileSpec:
    """How to cut an image: tile edge and overlap in input pixels; ``margin`` is the zero-weight
    border (default ``overlap // 4``), the context an expert may need on each side."""

    tile: int = 512
    overlap: int = 32
    margin: int | None = None

    def __post_init__(self) -> None:
        if self.tile < 8:
            raise ValueError(f"tile must be at least 8 pixels, got {self.tile}")
        if not 0 <= self.overlap < self.tile:
            raise ValueError(f"overlap must be in [0, tile), got {self.overlap}")
        if 2 * self.zero_margin >= max(self.overlap, 1) and self.overlap > 0:
            raise ValueError("margin must be less than half the overlap")

    @property
    def zero_margin(self) -> int:
        return self.overlap // 4 if self.margin is None else self.margin


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering ``[0, length)`` with tiles of ``tile`` overlapping by at least
    ``overlap``; the last tile is flush with the end (so it may overlap more)."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def ramp(length: int, overlap: int, margin: int, rise: bool, fall: bool) -> np.ndarray:
    """1-D window: zero over ``margin``, raised cosine up to 1 over the rest of ``overlap``."""
    window = np.ones(length, dtype=np.float32)
    width = max(overlap - 2 * margin, 1)
    edge = np.zeros(min(overlap, length), dtype=np.float32)
    t = (np.arange(edge.size, dtype=np.float32) - margin + 0.5) / width
    edge = (0.5 - 0.5 * np.cos(np.pi * np.clip(t, 0.0, 1.0))).astype(np.float32)
    if rise and overlap > 0:
        window[: edge.size] *= edge
    if fall and overlap > 0:
        window[length - edge.size :] *= edge[::-1]
    return window


def iter_tiles(height: int, width: int, spec: TileSpec) -> Iterator[tuple[int, int, int, int]]:
    """(top, left, tile_height, tile_width) for every tile, row by row."""
    for top in tile_starts(height, spec.tile, spec.overlap):
        for left in tile_starts(width, spec.tile, spec.overlap):
            yield top, left, min(spec.tile, height - top), min(spec.tile, width - left)


def process_tiled(
    image: np.ndarray,
    function: TileFunction,
    spec: TileSpec,
    scale: int = 1,
    out_channels: int | None = None,
) -> np.ndarray:
    """Run ``function`` over overlapping tiles of ``image`` (H, W[, C]) and blend the results.

    ``function`` maps an (h, w, C) tile to an (h*scale, w*scale, C') array. The output is
    written into a preallocated float32 array; only one tile is alive at a time.
    """
    height, width = image.shape[:2]
    channels = out_channels or (image.shape[2] if image.ndim == 3 else 1)
    out_shape: tuple[int, ...] = (height * scale, width * scale)
    if image.ndim == 3:
        out_shape = (*out_shape, channels)
    output = np.zeros(out_shape, dtype=np.float32)
    weight = np.zeros((height * scale, width * scale), dtype=np.float32)
    tops = tile_starts(height, spec.tile, spec.overlap)
    lefts = tile_starts(width, spec.tile, spec.overlap)
    overlap, margin = spec.overlap * scale, spec.zero_margin * scale
    for row, top in enumerate(tops):
        th = min(spec.tile, height - top)
        wy = ramp(th * scale, overlap, margin, rise=row > 0, fall=row < len(tops) - 1)
        for col, left in enumerate(lefts):
            tw = min(spec.tile, width - left)
            wx = ramp(tw * scale, overlap, margin, rise=col > 0, fall=col < len(lefts) - 1)
            result = np.asarray(function(image[top : top + th, left : left + tw]), np.float32)
            expected = (th * scale, tw * scale)
            if result.shape[:2] != expected:
                raise ValueError(f"tile function returned {result.shape[:2]}, expected {expected}")
            window = np.outer(wy, wx)
            ys = slice(top * scale, (top + th) * scale)
            xs = slice(left * scale, (left + tw) * scale)
            output[ys, xs] += result * (window[..., None] if result.ndim == 3 else window)
            weight[ys, xs] += window
    np.maximum(weight, 1e-8, out=weight)
    output /= weight[..., None] if output.ndim == 3 else weight
    return output
