"""VIF (Sheikh & Bovik 2006), as the official ``vifvec.m`` (wavelet-domain GSM model).

The reference and distorted grey images are decomposed with a 4-level, 6-orientation steerable
pyramid (Simoncelli's ``sp5Filters``, 'reflect1' edges); in eight subbands a Gaussian scale
mixture of 3x3 neighbourhoods models the reference, a gain-plus-noise channel models the
distortion, and VIF is the ratio of the information the distorted image keeps to the
information in the reference (sigma_n^2 = 0.4).

No maintained library implements the wavelet-domain VIF (scikit-image has none; pyrtools would
add matplotlib to the dependencies just for its filter table), so the pyramid is built here with
scipy. The sp5 filter coefficients are data: ``weights/quality/sp5_filters.npz``, exported from
pyrtools 1.1.1 (MIT), the Python port of Simoncelli's matlabPyrTools.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np
from scipy import ndimage

from restora.paths import WEIGHTS_DIR
from restora.quality import strips
from restora.quality.matlab import rgb2gray
from restora.quality.strips import row_strips, strip_memory

SP5_FILTERS_PATH = WEIGHTS_DIR / "quality" / "sp5_filters.npz"
LEVELS = 4
ORIENTATIONS = 6
NEIGHBOURHOOD = 3  # M: GSM neighbourhoods are M x M
SUBBANDS = (4, 7, 10, 13, 16, 19, 22, 25)  # 1-based indices into vifvec's wtree order
SIGMA_NSQ = 0.4
TOL = 1e-12


@lru_cache(maxsize=1)
def _filters() -> dict[str, np.ndarray]:
    with np.load(SP5_FILTERS_PATH) as data:
        return {key: data[key] for key in data.files}


def _corr(image: np.ndarray, filt: np.ndarray) -> np.ndarray:
    """matlabPyrTools ``corrDn(image, filt, 'reflect1')``: correlation, mirror without edge
    repetition (scipy's 'mirror' mode), same size."""
    return ndimage.correlate(image, filt, mode="mirror")


def steerable_pyramid(image: np.ndarray) -> list[np.ndarray]:
    """Subbands in vifvec's ``ind2wtree`` order: low-pass, coarsest bands ... finest, high-pass."""
    f = _filters()
    bands: list[np.ndarray] = [_corr(image, f["hi0filt"])]
    low = _corr(image, f["lo0filt"])
    size = int(np.sqrt(f["bfilts"].shape[0]))
    for _ in range(LEVELS):
        for b in range(ORIENTATIONS):
            bands.append(_corr(low, f["bfilts"][:, b].reshape(size, size).T))
        low = _corr(low, f["lofilt"])[::2, ::2]
    bands.append(low)
    return bands[::-1]


def _crop(band: np.ndarray) -> np.ndarray:
    m = NEIGHBOURHOOD
    return band[: band.shape[0] // m * m, : band.shape[1] // m * m]


def _window_size(sub: int) -> int:
    return int(2 ** np.ceil((sub - 1) / 6) + 1)


def _channel_params(ref: np.ndarray, dist: np.ndarray, winsize: int) -> tuple[np.ndarray, ...]:
    """``vifsub_est_M`` for one subband: gain g and noise variance vv on the M-step grid.

    Large subbands go strip by strip (the box window is local; only the grid is kept)."""
    m = NEIGHBOURHOOD
    height, width = ref.shape
    if height * width <= strips.STRIP_PIXELS:
        return _gain_and_noise(ref, dist, winsize, slice(1, -1))
    grid_rows = len(range(1, height - 1, m))
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for first, last in row_strips(grid_rows, m * width):
        top, bottom = 1 + m * first, 1 + m * (last - 1) + 1  # subband rows of these grid rows
        lo, hi = max(top - winsize, 0), min(bottom + winsize, height)
        rows = slice(top - lo, bottom - lo)
        parts.append(_gain_and_noise(ref[lo:hi], dist[lo:hi], winsize, rows))
    return np.concatenate([g for g, _ in parts]), np.concatenate([vv for _, vv in parts])


def _gain_and_noise(
    ref: np.ndarray, dist: np.ndarray, winsize: int, rows: slice
) -> tuple[np.ndarray, np.ndarray]:
    """g and vv at the grid points of ``rows`` (every M-th, from their first)."""
    m = NEIGHBOURHOOD
    area = winsize * winsize

    def local_mean(x: np.ndarray) -> np.ndarray:
        # corrDn(x, win/sum(win), 'reflect1', [M M], [2 2], size - 1) with a box window
        return ndimage.uniform_filter(x, winsize, mode="mirror")[rows, 1:-1][::m, ::m]

    mean_x, mean_y = local_mean(ref), local_mean(dist)
    cov_xy = area * local_mean(ref * dist) - area * mean_x * mean_y
    ss_x = np.maximum(area * local_mean(ref * ref) - area * mean_x**2, 0.0)
    ss_y = np.maximum(area * local_mean(dist * dist) - area * mean_y**2, 0.0)
    g = cov_xy / (ss_x + TOL)
    vv = (ss_y - g * cov_xy) / area
    flat_x = ss_x < TOL
    g[flat_x] = 0.0
    vv[flat_x] = ss_y[flat_x]
    flat_y = ss_y < TOL
    g[flat_y] = 0.0
    vv[flat_y] = 0.0
    # Both windows constant but not zero (a linear gradient seen by an oriented filter):
    # vifvec's gain of 0 would count the identical coefficients as lost; the gain is then
    # the ratio of the local means (1 for identical images).
    offset = flat_x & flat_y & (np.abs(mean_x) > np.sqrt(TOL))
    g[offset] = mean_y[offset] / mean_x[offset]
    negative = g < 0
    vv[negative] = ss_y[negative]
    g[negative] = 0.0
    vv[vv < TOL] = TOL
    return g, vv


def _neighbourhood_covariance(ref: np.ndarray) -> np.ndarray:
    """The 9x9 covariance of all 3x3 neighbourhoods of a subband (``refparams_vecgsm``'s
    ``cu``): at once on small subbands, strip by strip on large ones (the same matrix to
    rounding), so the 9 shifted copies never exist at full size."""
    m = NEIGHBOURHOOD
    h, w = ref.shape
    views = [ref[k : h - (m - k) + 1, j : w - (m - j) + 1] for j in range(m) for k in range(m)]
    rows, cols = views[0].shape
    if rows * cols <= strips.STRIP_PIXELS:
        samples = np.stack([v.ravel() for v in views], axis=1)
        centred = samples - samples.mean(axis=0)
        return np.asarray(centred.T @ centred / samples.shape[0])
    means = np.array([float(v.mean()) for v in views])
    cu = np.zeros((m * m, m * m))
    for start, stop in row_strips(rows, cols):
        centred = np.stack([v[start:stop].ravel() for v in views], axis=0) - means[:, None]
        cu += centred @ centred.T
    return cu / (rows * cols)


EIGENVALUE_TOL = 1e-8
"""Eigenvalues of a neighbourhood covariance (0..255 scale) at or below this are zero: the
subband has no energy in that direction (a flat, linear-gradient or two-tone reference), and
the rounding noise left there must not be inverted."""

NO_INFORMATION = 1e-6
"""A reference whose subbands carry less information than this (bits, summed over every
coefficient; a photo has ~1e5) has no detail for VIF to measure, see :func:`vif_grey`."""


def _gsm_params(ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``refparams_vecgsm`` for one subband: the GSM multiplier field s^2 and the eigenvalues
    of the neighbourhood covariance.

    ``vifvec.m`` sets negative eigenvalues to zero and inverts; a singular covariance (a
    reference with no energy in some directions) is pseudo-inverted over the directions that
    have energy instead, so those directions add nothing to either sum of VIF."""
    m = NEIGHBOURHOOD
    h, w = ref.shape
    cu = _neighbourhood_covariance(ref)
    blocks = np.stack([ref[k::m, j::m].ravel() for j in range(m) for k in range(m)], axis=0)
    eigenvalues = np.linalg.eigvalsh(cu)
    if eigenvalues.min() > EIGENVALUE_TOL:
        inverse = np.linalg.inv(cu)
    else:
        eigenvalues, vectors = np.linalg.eigh(cu)
        kept = eigenvalues > EIGENVALUE_TOL
        eigenvalues = np.where(kept, eigenvalues, 0.0)
        inverse = (vectors[:, kept] / eigenvalues[kept]) @ vectors[:, kept].T
    ss = np.sum((inverse @ blocks) * blocks, axis=0) / (m * m)
    return ss.reshape(h // m, w // m), eigenvalues


def _needed_bands(
    ref: np.ndarray, dist: np.ndarray
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(sub, reference band, distorted band)`` for each of :data:`SUBBANDS`, finest level
    first, computed level by level: the pyramid's other bands (high-pass, low-pass and four of
    the six orientations) are never built, and a level is dropped once it is used."""
    f = _filters()
    size = int(np.sqrt(f["bfilts"].shape[0]))
    total = LEVELS * ORIENTATIONS + 2  # bands in steerable_pyramid's list
    # sub (1-based, coarsest first) -> (level, orientation) of steerable_pyramid's building
    wanted: dict[tuple[int, int], int] = {}
    for sub in SUBBANDS:
        index = total - sub  # position in the finest-first order the pyramid is built in
        wanted[((index - 1) // ORIENTATIONS, (index - 1) % ORIENTATIONS)] = sub
    low_ref, low_dist = _corr(ref, f["lo0filt"]), _corr(dist, f["lo0filt"])
    for level in range(LEVELS):
        for b in range(ORIENTATIONS):
            if (level, b) in wanted:
                filt = f["bfilts"][:, b].reshape(size, size).T
                yield wanted[(level, b)], _corr(low_ref, filt), _corr(low_dist, filt)
        low_ref = _corr(low_ref, f["lofilt"])[::2, ::2]
        low_dist = _corr(low_dist, f["lofilt"])[::2, ::2]


def vif_grey(dist: np.ndarray, ref: np.ndarray) -> float:
    """VIF of two grey images on the 0..255 scale.

    Only the eight subbands VIF uses are built, one level at a time; their terms are summed
    in vifvec's order (coarsest first), so the number is the same as over the whole pyramid.

    A reference with no detail in these subbands (flat) has no information to keep, where
    ``vifvec.m`` divides 0 by 0: VIF is then 1 when the distorted image has no detail there
    either (nothing lost, nothing added: identical images give 1), and 0 otherwise."""
    terms: dict[int, list[tuple[float, float]]] = {}
    dist_detail = 0.0
    for sub, ref_band, dist_band in _needed_bands(ref, dist):
        y, yn = _crop(ref_band), _crop(dist_band)
        dist_detail = max(dist_detail, float(np.abs(yn).max(initial=0.0)))
        winsize = _window_size(sub)
        g, vv = _channel_params(y, yn, winsize)
        ss, eigenvalues = _gsm_params(y)
        del ref_band, dist_band, y, yn
        offset = int(np.ceil((winsize - 1) / 2 / NEIGHBOURHOOD))
        inner = (slice(offset, g.shape[0] - offset), slice(offset, g.shape[1] - offset))
        g, vv, ss = g[inner], vv[inner], ss[inner]
        terms[sub] = [
            (
                float(np.sum(np.log2(1 + g * g * ss * lam / (vv + SIGMA_NSQ)))),
                float(np.sum(np.log2(1 + ss * lam / SIGMA_NSQ))),
            )
            for lam in eigenvalues
        ]
    num = den = 0.0
    for sub in SUBBANDS:
        for num_term, den_term in terms[sub]:
            num += num_term
            den += den_term
    if den < NO_INFORMATION:
        return 1.0 if dist_detail <= np.sqrt(EIGENVALUE_TOL) else 0.0
    return num / den


def vif(img: np.ndarray, ref: np.ndarray) -> float:
    """VIF of ``img`` against ``ref`` on MATLAB ``rgb2gray`` input (1 for identical images)."""
    return vif_grey(rgb2gray(img), rgb2gray(ref))


def working_memory(height: int, width: int) -> float:
    """Peak working bytes of :func:`vif` beyond the two images: the grey images, the first
    level's low-pass and subbands and the GSM fields stay whole, ~62 bytes per pixel, plus
    ~180 MB of strips (measured at 12 and 24 MP; 75 and 220 with headroom)."""
    return 75.0 * height * width + strip_memory(height, width, 220.0, 40)
