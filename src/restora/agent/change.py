"""What a restoration step changed: measurements of the pair (input, output) that predict
whether the output is closer to the unseen clean photo.

A step's **residual** ``r = input - output`` is what it removed. A faithful denoiser removes
noise: ``r`` is white (its patch-PCA noise level equals its RMS), about as strong as the noise
measured in the input, and uncorrelated with the output's edges ("method noise", Buades et al.
2005). A step that removes content, rings or invents structure leaves a residual that follows the
edges; a brightening or dehazing step changes the low frequencies and the clipping; a colour
cast shows in the channels' mean change. :func:`change_features` measures these on at most
:data:`VIEW_SIDE` x :data:`VIEW_SIDE` pixels (the centre; decisions are made on crops of this
order) in a fixed order (:data:`CHANGE_NAMES`), for the learned judge
(``restora.agent.learned_judge``), which maps them with the state's analysis to a predicted PSNR
gain. Written here rather than taken from a library because no IQA package measures a pair of
images without the reference; the pieces are OpenCV and the restora noise estimators.
"""

from __future__ import annotations

import cv2
import numpy as np

VIEW_SIDE = 384
PCA_PATCHES = 4000
"""Patches the noise estimates sample (the full 20 000 of the analyzer's estimate take ~4x as
long and change these features by a few per cent)."""

CHANGE_NAMES: tuple[str, ...] = (
    "mean_abs_change",
    "log_rms_change",
    "log_sigma_before",
    "log_sigma_after",
    "log_cell_sigma_before",
    "log_cell_sigma_after",
    "residual_whiteness",
    "residual_vs_noise",
    "residual_edge_correlation",
    "residual_edge_ratio",
    "residual_input_detail_correlation",
    "residual_output_detail_correlation",
    "residual_lag1_correlation",
    "log_band1_ratio",
    "log_band2_ratio",
    "log_band3_ratio",
    "luma_mean_change",
    "log_luma_std_ratio",
    "colour_shift",
    "log_saturation_ratio",
    "clipped_change",
    "low_frequency_fidelity",
    "blockiness_before",
    "blockiness_after",
)
"""The measurements of :func:`change_features`, in order."""


def view(image: np.ndarray, side: int = VIEW_SIDE) -> np.ndarray:
    """The centre ``side`` x ``side`` window of ``image`` (all of it when smaller), float32 RGB."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    height, width = array.shape[:2]
    top, left = max(0, (height - side) // 2), max(0, (width - side) // 2)
    return np.ascontiguousarray(array[top : top + side, left : left + side, :3])


def _luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb @ np.array([0.299, 0.587, 0.114], np.float32), dtype=np.float32)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel().astype(np.float64) - float(a.mean())
    b = b.ravel().astype(np.float64) - float(b.mean())
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm > 1e-12 else 0.0


def _band_energy(grey: np.ndarray, low: float, high: float) -> float:
    """Mean squared difference of Gaussians (sigma ``low`` minus sigma ``high``)."""
    band = cv2.GaussianBlur(grey, (0, 0), low) - cv2.GaussianBlur(grey, (0, 0), high)
    return float(np.mean(band * band))


def _detail(grey: np.ndarray) -> np.ndarray:
    return np.asarray(grey - cv2.GaussianBlur(grey, (0, 0), 1.5), dtype=np.float32)


def noise_levels(rgb: np.ndarray) -> tuple[float, float]:
    """(white-noise sigma on weak-texture patches, sigma on 2x2 cells without the texture
    filter) in 8-bit units, by patch PCA (:func:`restora.quality.statistics.
    estimate_noise_sigma_pca`) on :data:`PCA_PATCHES` patches."""
    from restora.quality.statistics import estimate_noise_sigma_pca

    values = (
        estimate_noise_sigma_pca(rgb, max_patches=PCA_PATCHES),
        estimate_noise_sigma_pca(rgb, scale=2, weak_texture=False, max_patches=PCA_PATCHES),
    )
    return tuple(float(v) if np.isfinite(v) else 0.0 for v in values)  # type: ignore[return-value]


def _gradient_energy(grey: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return np.asarray(cv2.GaussianBlur(gx * gx + gy * gy, (0, 0), 2.0), dtype=np.float32)


def change_features(
    before: np.ndarray,
    after: np.ndarray,
    before_noise: tuple[float, float] | None = None,
) -> np.ndarray:
    """The :data:`CHANGE_NAMES` vector (float32) for a step from ``before`` to ``after`` (same
    shape, RGB or grey, values in [0, 1]). ``before_noise`` is :func:`noise_levels` of
    ``before``'s :func:`view` when known (one input, many candidates)."""
    from restora.agent.judge import low_frequency_fidelity
    from restora.quality.statistics import blockiness

    if np.shape(before) != np.shape(after):
        raise ValueError(f"shapes differ: {np.shape(before)} and {np.shape(after)}")
    b, a = view(before), view(after)
    a = np.clip(a, 0.0, 1.0)
    residual = b - a
    grey_b, grey_a, grey_r = _luma(b), _luma(a), _luma(residual)
    rms = float(np.sqrt(np.mean(residual * residual))) * 255.0
    sigma_b, cell_b = before_noise if before_noise is not None else noise_levels(b)
    sigma_a, cell_a = noise_levels(a)
    from restora.quality.statistics import estimate_noise_sigma_pca

    residual_sigma = estimate_noise_sigma_pca(
        residual + np.float32(0.5), weak_texture=False, max_patches=PCA_PATCHES
    )
    residual_sigma = float(residual_sigma) if np.isfinite(residual_sigma) else 0.0
    local = cv2.GaussianBlur(grey_r * grey_r, (0, 0), 2.0)
    edges = _gradient_energy(grey_b)
    strong = edges >= np.quantile(edges, 0.9)
    flat = edges <= np.quantile(edges, 0.5)
    edge_ratio = (float(local[strong].mean()) + 1e-7) / (float(local[flat].mean()) + 1e-7)
    lag = 0.5 * (_corr(grey_r[:, 1:], grey_r[:, :-1]) + _corr(grey_r[1:, :], grey_r[:-1, :]))
    bands = [
        np.log((_band_energy(grey_a, lo, hi) + 1e-9) / (_band_energy(grey_b, lo, hi) + 1e-9))
        for lo, hi in ((0.5, 1.0), (1.0, 2.0), (2.0, 4.0))
    ]
    channel_shift = residual.reshape(-1, 3).mean(axis=0)
    colour_shift = float(np.abs(channel_shift - channel_shift.mean()).mean()) * 255.0
    saturation_b = float(np.mean(b.max(axis=2) - b.min(axis=2)))
    saturation_a = float(np.mean(a.max(axis=2) - a.min(axis=2)))

    def clipped(x: np.ndarray) -> float:
        return float(np.mean((x <= 1.0 / 255) | (x >= 254.0 / 255)))

    values = [
        float(np.mean(np.abs(residual))) * 10.0,
        np.log1p(rms),
        np.log1p(sigma_b),
        np.log1p(sigma_a),
        np.log1p(cell_b),
        np.log1p(cell_a),
        np.log1p(residual_sigma) - np.log1p(rms),
        np.log1p(rms) - np.log1p(max(sigma_b, cell_b)),
        _corr(local, edges),
        float(np.log(edge_ratio)),
        _corr(grey_r, _detail(grey_b)),
        _corr(grey_r, _detail(grey_a)),
        lag,
        *bands,
        float(grey_a.mean() - grey_b.mean()) * 10.0,
        float(np.log((grey_a.std() + 1e-4) / (grey_b.std() + 1e-4))),
        colour_shift,
        float(np.log((saturation_a + 1e-4) / (saturation_b + 1e-4))),
        (clipped(a) - clipped(b)) * 10.0,
        low_frequency_fidelity(b, a),
        blockiness(b),
        blockiness(a),
    ]
    return np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=10.0, neginf=-10.0)


__all__ = ["CHANGE_NAMES", "VIEW_SIDE", "change_features", "noise_levels", "view"]
