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

from functools import lru_cache

import numpy as np
from scipy import ndimage

from restora.paths import WEIGHTS_DIR
from restora.quality.matlab import rgb2gray

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
    """``vifsub_est_M`` for one subband: gain g and noise variance vv on the M-step grid."""
    m = NEIGHBOURHOOD
    area = winsize * winsize

    def local_mean(x: np.ndarray) -> np.ndarray:
        # corrDn(x, win/sum(win), 'reflect1', [M M], [2 2], size - 1) with a box window
        return ndimage.uniform_filter(x, winsize, mode="mirror")[1:-1:m, 1:-1:m]

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
    negative = g < 0
    vv[negative] = ss_y[negative]
    g[negative] = 0.0
    vv[vv < TOL] = TOL
    return g, vv


def _gsm_params(ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``refparams_vecgsm`` for one subband: the GSM multiplier field s^2 and the eigenvalues
    of the neighbourhood covariance."""
    m = NEIGHBOURHOOD
    h, w = ref.shape
    shifted = [
        ref[k : h - (m - k) + 1, j : w - (m - j) + 1].ravel() for j in range(m) for k in range(m)
    ]
    samples = np.stack(shifted, axis=1)
    centred = samples - samples.mean(axis=0)
    cu = centred.T @ centred / samples.shape[0]
    blocks = np.stack([ref[k::m, j::m].ravel() for j in range(m) for k in range(m)], axis=0)
    ss = np.sum((np.linalg.inv(cu) @ blocks) * blocks, axis=0) / (m * m)
    return ss.reshape(h // m, w // m), np.linalg.eigvalsh(cu)


def vif_grey(dist: np.ndarray, ref: np.ndarray) -> float:
    """VIF of two grey images on the 0..255 scale."""
    ref_bands = steerable_pyramid(ref)
    dist_bands = steerable_pyramid(dist)
    num = den = 0.0
    for sub in SUBBANDS:
        y, yn = _crop(ref_bands[sub - 1]), _crop(dist_bands[sub - 1])
        winsize = _window_size(sub)
        g, vv = _channel_params(y, yn, winsize)
        ss, eigenvalues = _gsm_params(y)
        offset = int(np.ceil((winsize - 1) / 2 / NEIGHBOURHOOD))
        inner = (slice(offset, g.shape[0] - offset), slice(offset, g.shape[1] - offset))
        g, vv, ss = g[inner], vv[inner], ss[inner]
        for lam in eigenvalues:
            num += float(np.sum(np.log2(1 + g * g * ss * lam / (vv + SIGMA_NSQ))))
            den += float(np.sum(np.log2(1 + ss * lam / SIGMA_NSQ)))
    return num / den


def vif(img: np.ndarray, ref: np.ndarray) -> float:
    """VIF of ``img`` against ``ref`` on MATLAB ``rgb2gray`` input (1 for identical images)."""
    return vif_grey(rgb2gray(img), rgb2gray(ref))
