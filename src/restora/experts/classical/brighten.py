"""Brightening low-light images: LIME (Guo, Li & Ling, TIP 2017) and CLAHE + gamma.

LIME estimates the illumination T as the per-pixel maximum over colours, refines it with the
structure-aware smoothing of the paper (weighted least squares with weights 1/(|grad T0|+eps),
"strategy II"), and divides it out: R = I / T^gamma. The WLS is a sparse linear system solved
with scipy; it is solved at up to ~0.25 MP and upsampled (the illumination is smooth), which
keeps any image size fast. CLAHE (Zuiderveld 1994, OpenCV) equalises the L channel of Lab in
local tiles, and an adaptive gamma then moves the mean luminance towards mid-grey.
"""

from __future__ import annotations

import math
import warnings

import cv2
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from restora.experts.base import Expert
from restora.experts.classical._common import on_8bit_levels

_WLS_MAX_PIXELS = 250_000


def refine_illumination(initial: np.ndarray, alpha: float, eps: float = 1e-3) -> np.ndarray:
    """LIME's WLS smoothing of an illumination map (solved exactly by sparse Cholesky/LU)."""
    h, w = initial.shape
    factor = math.sqrt(_WLS_MAX_PIXELS / (h * w)) if h * w > _WLS_MAX_PIXELS else 1.0
    small = (
        cv2.resize(
            initial,
            (max(int(w * factor), 1), max(int(h * factor), 1)),
            interpolation=cv2.INTER_AREA,
        )
        if factor < 1.0
        else initial
    )
    sh, sw = small.shape
    gx = np.diff(small, axis=1, append=small[:, -1:])
    gy = np.diff(small, axis=0, append=small[-1:, :])
    # strategy II of the paper: Gaussian-weighted gradient magnitude of the initial map
    wx = 1.0 / (np.abs(cv2.GaussianBlur(gx, (5, 5), 2.0)) + eps) / (np.abs(gx) + eps)
    wy = 1.0 / (np.abs(cv2.GaussianBlur(gy, (5, 5), 2.0)) + eps) / (np.abs(gy) + eps)
    wx[:, -1] = 0.0
    wy[-1, :] = 0.0
    wx, wy = (alpha * wx).ravel(), (alpha * wy).ravel()
    # 5-point weighted Laplacian: (I + sum_d D_d^T W_d D_d) t = t0
    diag = 1.0 + wx + wy + np.roll(wx, 1) + np.roll(wy, sw)
    matrix = scipy.sparse.diags(
        [diag, -wx[:-1], -wx[:-1], -wy[:-sw], -wy[:-sw]], [0, 1, -1, sw, -sw], format="csc"
    )
    refined = scipy.sparse.linalg.spsolve(matrix, small.ravel().astype(np.float64))
    refined = refined.reshape(sh, sw).astype(np.float32)
    if factor < 1.0:
        refined = cv2.resize(refined, (w, h), interpolation=cv2.INTER_CUBIC)
    return refined


def _lime(
    image: np.ndarray, gamma: float = 0.8, alpha: float = 0.15, strength: float = 1.0
) -> np.ndarray:
    initial = image.max(axis=2)
    illumination = np.clip(refine_illumination(initial, alpha), 1e-3, 1.0)
    illumination = illumination ** (gamma * strength)
    return image / np.maximum(illumination, 0.05)[..., None]


def _clahe_gamma(image: np.ndarray, clip_limit: float = 2.0, grid: int = 8) -> np.ndarray:
    from skimage.color import lab2rgb, rgb2lab

    # scikit-image's exact sRGB <-> CIELAB in float32: OpenCV's float conversion works in
    # steps of about 0.2 L, which would turn a 16-bit photo's gradients into bands
    lab = rgb2lab(np.clip(image, 0.0, 1.0).astype(np.float32, copy=False))
    clahe = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(int(grid), int(grid)))
    # OpenCV's CLAHE takes 8-bit levels: its change goes onto the full-precision lightness
    equalised = np.clip(on_8bit_levels(lab[..., 0] / 100.0, clahe.apply), 0.0, 1.0)
    mean = float(np.clip(equalised.mean(), 1e-3, 0.999))
    # adaptive gamma: brighten a dark image until its mean lightness is mid-grey, never darken
    gamma = min(math.log(0.5) / math.log(mean), 1.0)
    lab[..., 0] = 100.0 * equalised**gamma
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # out-of-gamut colours are clipped, as OpenCV does
        return np.asarray(lab2rgb(lab), dtype=np.float32)


def lime() -> Expert:
    return Expert(
        name="lime",
        task="brighten",
        backend="classical",
        run=_lime,
        params={"gamma": 0.8, "alpha": 0.15, "strength": 1.0},
        tile_size=None,
        description="LIME: structure-aware illumination map, Retinex-style division.",
        reference="Guo, Li & Ling, TIP 2017",
        rank=20,  # keeps colour better than CLAHE
        min_size=2,  # the WLS refinement's sparse system needs two pixels each way
    )


def clahe_gamma() -> Expert:
    return Expert(
        name="clahe_gamma",
        task="brighten",
        backend="classical",
        run=_clahe_gamma,
        params={"clip_limit": 2.0, "grid": 8},
        # CLAHE's tile grid is relative to the whole image: tiling would change the method
        tile_size=None,
        description="CLAHE on Lab lightness, then an adaptive gamma towards mid-grey.",
        reference="Zuiderveld 1994",
        rank=30,
        precision="uint8",
    )
