"""PIQE (Venkatanath et al. 2015), as MATLAB's ``piqe`` (Image Processing Toolbox, 2018).

Needs no trained weights: the image is split into 16x16 blocks of MSCN coefficients; blocks
with enough activity are checked for noticeable artefacts (a flat 6-pixel segment along a block
edge, i.e. blockiness or blur) and for noise (block deviation versus centre-surround deviation).
Score 0 (best) to 100 (worst). Vectorised over blocks; the per-block MATLAB loop is kept only
in the comments. The masks are returned by :func:`piqe_maps` and feed the quality descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from restora.quality.matlab import RGB2GRAY_WEIGHTS, to_uint8_levels
from restora.quality.niqe import mscn, to_blocks
from restora.quality.strips import budget_or_default, row_strips, strip_memory, with_halo

BLOCK_SIZE = 16
ACTIVITY_THRESHOLD = 0.1
IMPAIRED_THRESHOLD = 0.1
SEGMENT_LENGTH = 6


@dataclass(frozen=True)
class PiqeResult:
    """PIQE score and per-block masks (grid of blocks, row-major)."""

    score: float
    active: np.ndarray
    artefact: np.ndarray
    noise: np.ndarray

    @property
    def artefact_fraction(self) -> float:
        """Share of active blocks with noticeable artefacts (blockiness, blur edges)."""
        return float(self.artefact[self.active].mean()) if self.active.any() else 0.0

    @property
    def noise_fraction(self) -> float:
        """Share of active blocks judged noisy."""
        return float(self.noise[self.active].mean()) if self.active.any() else 0.0


def _grey_padded(image: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Replicate-pad the 8-bit image to whole blocks (MATLAB pads before rgb2gray), then grey:
    rows ``[start, stop)`` of that padded grey image (all of them by default)."""
    height, width = image.shape[:2]
    padded_h = height + (-height) % BLOCK_SIZE
    stop = padded_h if stop is None else stop
    if start == 0 and stop == padded_h:
        levels = to_uint8_levels(image)
        pad_r = padded_h - height
    else:  # rows past the bottom repeat the last row, as the padding does
        rows = np.minimum(np.arange(start, stop), height - 1)
        levels = to_uint8_levels(image[rows])
        pad_r = 0
    pad_c = (-width) % BLOCK_SIZE
    pad = [(0, pad_r), (0, pad_c)] + ([(0, 0)] if levels.ndim == 3 else [])
    levels = np.pad(levels, pad, mode="edge")
    if levels.ndim == 3:
        return np.floor(levels @ RGB2GRAY_WEIGHTS + 0.5)
    return levels


@dataclass(frozen=True)
class _BlockMaps:
    scores: np.ndarray
    active: np.ndarray
    artefact: np.ndarray
    noise: np.ndarray


def _block_maps(normalised: np.ndarray) -> _BlockMaps:
    """PIQE's per-block decisions on MSCN coefficients of whole 16x16 blocks."""
    blocks = to_blocks(normalised, BLOCK_SIZE, BLOCK_SIZE)
    n = blocks.shape[0]
    block_var = blocks.reshape(n, -1).var(axis=1, ddof=1)
    active = block_var > ACTIVITY_THRESHOLD

    # Noticeable distortion: any 6-pixel segment on any of the four edges with std < 0.1.
    edges = np.stack([blocks[:, 0, :], blocks[:, :, -1], blocks[:, -1, :], blocks[:, :, 0]], axis=1)
    segment_std = sliding_window_view(edges, SEGMENT_LENGTH, axis=2).std(axis=3, ddof=1)
    artefact = (segment_std < IMPAIRED_THRESHOLD).any(axis=(1, 2))

    # Noise: centre columns 8 and 9 (1-based) against the surround. MATLAB deletes column 8 and
    # then column 9 of the shrunk block, i.e. original column 10: reproduce that quirk.
    centre = blocks[:, :, 7:9].reshape(n, -1)
    surround = np.delete(blocks, [7, 9], axis=2).reshape(n, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cen_sur_dev = np.nan_to_num(centre.std(axis=1, ddof=1) / surround.std(axis=1, ddof=1))
        block_sigma = np.sqrt(block_var)
        block_beta = np.abs(block_sigma - cen_sur_dev) / np.maximum(block_sigma, cen_sur_dev)
    noise = block_sigma > 2 * block_beta
    scores = active * (artefact * (1 - block_var) + noise * block_var)
    return _BlockMaps(scores, active, artefact, noise)


MSCN_HALO = 3
"""Rows of context of the 7x7 MSCN window."""


def piqe_maps(image: np.ndarray, strip_pixels: int | None = None) -> PiqeResult:
    """PIQE score with its activity, artefact and noise block masks.

    Computed on strips of whole block rows (with the MSCN window's rows of context), which
    gives exactly the whole image's numbers in bounded memory; an image within
    ``strip_pixels`` is one strip."""
    height, width = image.shape[:2]
    padded_h = height + (-height) % BLOCK_SIZE
    padded_w = width + (-width) % BLOCK_SIZE
    rows, cols = padded_h // BLOCK_SIZE, padded_w // BLOCK_SIZE
    strip_pixels = budget_or_default(strip_pixels)
    parts: list[_BlockMaps] = []
    for start, stop in row_strips(padded_h, padded_w, unit=BLOCK_SIZE, budget=strip_pixels):
        if start == 0 and stop == padded_h:
            normalised, _ = mscn(_grey_padded(image))
        else:
            lo, hi, offset = with_halo(start, stop, padded_h, MSCN_HALO)
            normalised, _ = mscn(_grey_padded(image, lo, hi))
            normalised = normalised[offset : offset + stop - start]
        parts.append(_block_maps(normalised))
    scores = np.concatenate([p.scores for p in parts])
    active = np.concatenate([p.active for p in parts])
    artefact = np.concatenate([p.artefact for p in parts])
    noise = np.concatenate([p.noise for p in parts])
    score = (scores.sum() + 1.0) / (1.0 + active.sum()) * 100.0
    shape = (rows, cols)
    return PiqeResult(
        float(score),
        active.reshape(shape),
        (artefact & active).reshape(shape),
        (noise & active).reshape(shape),
    )


def piqe(image: np.ndarray) -> float:
    """PIQE score of an image (float in [0, 1], RGB or grey): 0 best, 100 worst."""
    return piqe_maps(image).score


def working_memory(height: int, width: int) -> float:
    """Peak working bytes of :func:`piqe` beyond the image: ~120 bytes per strip pixel
    measured (12 and 24 MP), 150 with headroom."""
    return strip_memory(height, width, 150.0, BLOCK_SIZE + 2 * MSCN_HALO)
