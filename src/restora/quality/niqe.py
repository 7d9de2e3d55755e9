"""NIQE (Mittal, Soundararajan & Bovik 2013), exactly as the released MATLAB code.

Steps of ``computequality.m``: MATLAB ``rgb2gray``; crop to whole 96x96 blocks; at each of two
scales compute MSCN coefficients with a 7x7 Gaussian window (sigma 7/6, replicate borders),
fit 18 AGGD features per block (the coefficients themselves and their products with four
neighbours), then shrink the image with MATLAB ``imresize(im, 0.5)`` (bicubic, antialiased); fit
a multivariate Gaussian to the block features and report its distance to the pristine model:
``sqrt((mu_p - mu_d) pinv((S_p + S_d) / 2) (mu_p - mu_d)')``.

Everything is vectorised over blocks, so a 512x512 image takes a few tens of milliseconds.
The pristine model that ships (``weights/quality/niqe_pristine.npz``) is fitted by
:mod:`restora.quality.fit_niqe` on restora's clean training images.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import gamma as gamma_fn

from restora.errors import NotAvailableError
from restora.paths import WEIGHTS_DIR
from restora.quality.matlab import fspecial_gaussian, imfilter_replicate, imresize, rgb2gray
from restora.quality.strips import budget_or_default, row_strips, strip_memory, with_halo

BLOCK_SIZE = 96
FEATURES_PER_SCALE = 18
PRISTINE_MODEL_PATH = WEIGHTS_DIR / "quality" / "niqe_pristine.npz"

# MATLAB's gam = 0.2:0.001:10 and the generalised-Gaussian ratio table over it.
_GAM = np.round(np.arange(9801) * 0.001 + 0.2, 3)
_R_GAM = gamma_fn(2.0 / _GAM) ** 2 / (gamma_fn(1.0 / _GAM) * gamma_fn(3.0 / _GAM))
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


@dataclass(frozen=True)
class PristineModel:
    """The multivariate Gaussian of pristine-patch features (36 means, 36x36 covariance)."""

    mu: np.ndarray
    cov: np.ndarray

    @classmethod
    def load(cls, path: str | Path) -> PristineModel:
        """Read an .npz with ``mu``/``cov`` (restora) or ``mu_pris_param``/``cov_pris_param``
        (the official parameters as distributed with the calibration data)."""
        with np.load(path) as data:
            mu_key = "mu" if "mu" in data else "mu_pris_param"
            cov_key = "cov" if "cov" in data else "cov_pris_param"
            return cls(np.ravel(data[mu_key]).astype(np.float64), data[cov_key].astype(np.float64))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> PristineModel:
    return PristineModel.load(path)


def default_model() -> PristineModel:
    """The shipped pristine model fitted by restora."""
    if not PRISTINE_MODEL_PATH.is_file():
        raise NotAvailableError(
            f"NIQE pristine model missing ({PRISTINE_MODEL_PATH}); fit it with "
            "`python -m restora.quality.fit_niqe --data ../shared/data`"
        )
    return _load_cached(str(PRISTINE_MODEL_PATH))


def mscn(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean-subtracted contrast-normalised coefficients and the local sigma (MATLAB formula)."""
    window = fspecial_gaussian(7, 7.0 / 6.0)
    mu = imfilter_replicate(grey, window)
    sigma = np.sqrt(np.abs(imfilter_replicate(grey * grey, window) - mu * mu))
    return (grey - mu) / (sigma + 1.0), sigma


def to_blocks(image: np.ndarray, block_h: int, block_w: int) -> np.ndarray:
    """Non-overlapping blocks (n, block_h, block_w) of an image cropped to whole blocks."""
    rows, cols = image.shape[0] // block_h, image.shape[1] // block_w
    cropped = image[: rows * block_h, : cols * block_w]
    return (
        cropped.reshape(rows, block_h, cols, block_w).swapaxes(1, 2).reshape(-1, block_h, block_w)
    )


def estimate_aggd(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``estimateaggdparam.m`` for each row of ``values`` (n, samples): alpha, beta_l, beta_r.

    A block with no negative (or positive) sample gives NaN betas, as in MATLAB; such blocks
    are dropped by the NaN-aware covariance.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        left = values < 0
        right = values > 0
        left_std = np.sqrt(np.sum(np.where(left, values * values, 0.0), 1) / left.sum(1))
        right_std = np.sqrt(np.sum(np.where(right, values * values, 0.0), 1) / right.sum(1))
        gammahat = left_std / right_std
        rhat = np.mean(np.abs(values), 1) ** 2 / np.mean(values * values, 1)
        rhatnorm = rhat * (gammahat**3 + 1) * (gammahat + 1) / (gammahat**2 + 1) ** 2
        position = np.argmin((_R_GAM[None, :] - rhatnorm[:, None]) ** 2, axis=1)
        # With NaN ratios MATLAB's min() returns index 1, so alpha becomes 0.2 (not NaN);
        # np.argmin also returns the first NaN position, 0. Keeping that matters for nanmean.
        alpha = _GAM[position]
        ratio = np.sqrt(gamma_fn(1.0 / alpha) / gamma_fn(3.0 / alpha))
    return alpha, left_std * ratio, right_std * ratio


STRUCTURE_TOL = 1e-6
"""An MSCN block whose coefficients all stay within this of 0 has no structure (a flat area,
or a linear gradient, which the local mean follows exactly): what MATLAB fits there is
rounding noise, so such a block's features are NaN and the block is skipped."""

FEATURELESS_NIQE = 100.0
"""NIQE of an image with no block of structure at all (flat, a pure gradient): far worse than
any photo or distortion measured (heavy noise or blur stay under 30), finite so that tables,
averages and JSON keep a number; documented in docs/quality.md."""


def block_features(blocks: np.ndarray) -> np.ndarray:
    """``computefeature.m`` for each MSCN block: (n, 18) features; NaN for a block with no
    structure (see :data:`STRUCTURE_TOL`)."""
    n = blocks.shape[0]
    flat = blocks.reshape(n, -1)
    alpha, beta_l, beta_r = estimate_aggd(flat)
    feats = [alpha, (beta_l + beta_r) / 2.0]
    for shift in _SHIFTS:
        # circshift(structdis, shift) inside each block
        shifted = np.roll(blocks, shift, axis=(1, 2)).reshape(n, -1)
        alpha, beta_l, beta_r = estimate_aggd(flat * shifted)
        with np.errstate(invalid="ignore"):
            mean = (beta_r - beta_l) * (gamma_fn(2.0 / alpha) / gamma_fn(1.0 / alpha))
        feats.extend([alpha, mean, beta_l, beta_r])
    features = np.stack(feats, axis=1)
    features[np.abs(flat).max(axis=1) <= STRUCTURE_TOL] = np.nan
    return features


def niqe_features(grey: np.ndarray, block_size: int = BLOCK_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Per-block NIQE features (n, 36) of a 0..255 grey image, and each block's sharpness
    (mean local sigma at the first scale, used to select pristine patches)."""
    rows, cols = grey.shape[0] // block_size, grey.shape[1] // block_size
    if rows == 0 or cols == 0:
        raise ValueError(f"NIQE needs at least one {block_size}x{block_size} block")
    image = np.asarray(grey, dtype=np.float64)[: rows * block_size, : cols * block_size]
    per_scale = []
    sharpness = np.empty(0)
    for scale in (1, 2):
        structdis, sigma = mscn(image)
        size = block_size // scale
        per_scale.append(block_features(to_blocks(structdis, size, size)))
        if scale == 1:
            sharpness = to_blocks(sigma, size, size).mean(axis=(1, 2))
            image = imresize(image, 0.5)
    return np.concatenate(per_scale, axis=1), sharpness


STRIP_HALO = 16
"""Rows of context a strip of block rows needs: 3 for the 7x7 MSCN window at full size, and
at half size 3 for MSCN plus the 10 taps of ``imresize(0.5)`` (14 full-size rows); even, so
that a strip's half-size rows fall on the whole image's."""


def image_niqe_features(
    image: np.ndarray, block_size: int = BLOCK_SIZE, strip_pixels: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`niqe_features` of ``rgb2gray(image)`` (float in [0, 1], RGB or grey), computed
    on strips of whole block rows so that memory stays bounded on large images.

    Every step is local (MSCN, the half-size resize) or per block, so a strip with
    :data:`STRIP_HALO` rows of context gives exactly the whole image's numbers; an image
    within ``strip_pixels`` is one strip."""
    height, width = image.shape[:2]
    rows, cols = height // block_size, width // block_size
    if rows == 0 or cols == 0:
        raise ValueError(f"NIQE needs at least one {block_size}x{block_size} block")
    cropped_h, cropped_w = rows * block_size, cols * block_size
    strip_pixels = budget_or_default(strip_pixels)
    if cropped_h * cropped_w <= strip_pixels or block_size % 2:
        return niqe_features(rgb2gray(image[:cropped_h, :cropped_w]), block_size)
    half = block_size // 2
    features: list[np.ndarray] = []
    sharpness: list[np.ndarray] = []
    for start, stop in row_strips(cropped_h, cropped_w, unit=block_size, budget=strip_pixels):
        lo, hi, offset = with_halo(start, stop, cropped_h, STRIP_HALO)
        slab = rgb2gray(image[lo:hi, :cropped_w])
        structdis, sigma = mscn(slab)
        inner = slice(offset, offset + stop - start)
        first = block_features(to_blocks(structdis[inner], block_size, block_size))
        sharpness.append(to_blocks(sigma[inner], block_size, block_size).mean(axis=(1, 2)))
        small = imresize(slab, 0.5)  # slab rows start on an even row: half-size rows align
        structdis, _ = mscn(small)
        inner = slice(offset // 2, (offset + stop - start) // 2)
        second = block_features(to_blocks(structdis[inner], half, half))
        features.append(np.concatenate([first, second], axis=1))
    return np.concatenate(features, axis=0), np.concatenate(sharpness)


def nan_mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``nanmean`` (per column) and ``nancov`` (complete rows, N - 1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mu = np.nanmean(features, axis=0)
    complete = features[~np.isnan(features).any(axis=1)]
    if complete.shape[0] < 2:
        cov = np.zeros((features.shape[1], features.shape[1]))
    else:
        cov = np.cov(complete, rowvar=False)
    return mu, cov


def niqe_distance(features: np.ndarray, model: PristineModel) -> float:
    """Eq. 10 of the paper with MATLAB's ``pinv`` tolerance.

    Features that no block defines (an image whose only structure is one edge has no
    negative products in some directions) are left out: the distance is that of the
    pristine Gaussian's marginal over the features measured. With no block of structure at
    all, :data:`FEATURELESS_NIQE`."""
    mu_d, cov_d = nan_mean_cov(features)
    measured = ~np.isnan(mu_d)
    if not measured.any():
        return FEATURELESS_NIQE
    mu_p, cov_p = model.mu, model.cov
    if not measured.all():
        mu_d, cov_d = nan_mean_cov(features[:, measured])
        mu_p, cov_p = mu_p[measured], cov_p[np.ix_(measured, measured)]
    pooled = (cov_p + cov_d) / 2.0
    inv = np.linalg.pinv(pooled, rcond=max(pooled.shape) * np.finfo(np.float64).eps)
    diff = mu_p - mu_d
    return float(np.sqrt(max(float(diff @ inv @ diff), 0.0)))


def niqe(image: np.ndarray, model: PristineModel | str | Path | None = None) -> float:
    """NIQE of an image (float in [0, 1], RGB or grey); lower is better.

    ``model`` is a :class:`PristineModel`, a path to one, or None for the shipped model.
    """
    if model is None:
        pristine = default_model()
    elif isinstance(model, PristineModel):
        pristine = model
    else:
        pristine = _load_cached(str(model))
    features, _ = image_niqe_features(image)
    return niqe_distance(features, pristine)


def working_memory(height: int, width: int) -> float:
    """Peak working bytes of :func:`niqe` on a ``height`` x ``width`` image beyond the image
    itself: about 100 bytes per strip pixel measured (``getrusage``, 12 and 24 MP), so ~130
    with headroom; a strip is at least one block row and its context."""
    return strip_memory(height, width, 130.0, BLOCK_SIZE + 2 * STRIP_HALO)
