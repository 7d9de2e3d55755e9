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

from dataclasses import dataclass

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


def _saturation(rgb: np.ndarray) -> float:
    """Mean of max - min over the channels (elementwise: a reduction over a length-3 axis is
    several times slower in numpy, with the same values)."""
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    top = np.maximum(np.maximum(red, green), blue)
    bottom = np.minimum(np.minimum(red, green), blue)
    return float(np.mean(top - bottom))


def _clipped(rgb: np.ndarray) -> float:
    return float(np.mean((rgb <= 1.0 / 255) | (rgb >= 254.0 / 255)))


BANDS = ((0.5, 1.0), (1.0, 2.0), (2.0, 4.0))


@dataclass(frozen=True)
class InputMeasurements:
    """What :func:`change_features` measures on a step's input alone (:func:`measure_input`):
    the same for every candidate of the step, so the judge computes it once."""

    view: np.ndarray
    grey: np.ndarray
    noise: tuple[float, float]
    edges: np.ndarray
    strong: np.ndarray
    flat: np.ndarray
    detail: np.ndarray
    bands: tuple[float, ...]
    saturation: float
    clipped: float
    blockiness: float


def measure_input(
    before: np.ndarray, before_noise: tuple[float, float] | None = None
) -> InputMeasurements:
    """The input-only measurements of :func:`change_features` (``before_noise``:
    :func:`noise_levels` of ``before``'s :func:`view` when known)."""
    from restora.quality.statistics import blockiness

    b = view(before)
    grey = _luma(b)
    edges = _gradient_energy(grey)
    return InputMeasurements(
        view=b,
        grey=grey,
        noise=before_noise if before_noise is not None else noise_levels(b),
        edges=edges,
        strong=edges >= np.quantile(edges, 0.9),
        flat=edges <= np.quantile(edges, 0.5),
        detail=_detail(grey),
        bands=tuple(_band_energy(grey, low, high) for low, high in BANDS),
        saturation=_saturation(b),
        clipped=_clipped(b),
        blockiness=blockiness(b),
    )


def change_features(
    before: np.ndarray,
    after: np.ndarray,
    before_noise: tuple[float, float] | None = None,
    measured: InputMeasurements | None = None,
) -> np.ndarray:
    """The :data:`CHANGE_NAMES` vector (float32) for a step from ``before`` to ``after`` (same
    shape, RGB or grey, values in [0, 1]). ``before_noise`` is :func:`noise_levels` of
    ``before``'s :func:`view` when known, ``measured`` :func:`measure_input` of ``before``
    (one input, many candidates)."""
    from restora.agent.judge import low_frequency_fidelity
    from restora.quality.statistics import blockiness, estimate_noise_sigma_pca

    if np.shape(before) != np.shape(after):
        raise ValueError(f"shapes differ: {np.shape(before)} and {np.shape(after)}")
    m = measured if measured is not None else measure_input(before, before_noise)
    b, a = m.view, np.clip(view(after), 0.0, 1.0)
    residual = b - a
    grey_b, grey_a, grey_r = m.grey, _luma(a), _luma(residual)
    rms = float(np.sqrt(np.mean(residual * residual))) * 255.0
    sigma_b, cell_b = m.noise
    sigma_a, cell_a = noise_levels(a)
    residual_sigma = estimate_noise_sigma_pca(
        residual + np.float32(0.5), weak_texture=False, max_patches=PCA_PATCHES
    )
    residual_sigma = float(residual_sigma) if np.isfinite(residual_sigma) else 0.0
    local = cv2.GaussianBlur(grey_r * grey_r, (0, 0), 2.0)
    edge_ratio = (float(local[m.strong].mean()) + 1e-7) / (float(local[m.flat].mean()) + 1e-7)
    lag = 0.5 * (_corr(grey_r[:, 1:], grey_r[:, :-1]) + _corr(grey_r[1:, :], grey_r[:-1, :]))
    bands = [
        np.log((_band_energy(grey_a, low, high) + 1e-9) / (energy + 1e-9))
        for (low, high), energy in zip(BANDS, m.bands, strict=True)
    ]
    channel_shift = residual.reshape(-1, 3).mean(axis=0)
    colour_shift = float(np.abs(channel_shift - channel_shift.mean()).mean()) * 255.0
    values = [
        float(np.mean(np.abs(residual))) * 10.0,
        np.log1p(rms),
        np.log1p(sigma_b),
        np.log1p(sigma_a),
        np.log1p(cell_b),
        np.log1p(cell_a),
        np.log1p(residual_sigma) - np.log1p(rms),
        np.log1p(rms) - np.log1p(max(sigma_b, cell_b)),
        _corr(local, m.edges),
        float(np.log(edge_ratio)),
        _corr(grey_r, m.detail),
        _corr(grey_r, _detail(grey_a)),
        lag,
        *bands,
        float(grey_a.mean() - grey_b.mean()) * 10.0,
        float(np.log((grey_a.std() + 1e-4) / (grey_b.std() + 1e-4))),
        colour_shift,
        float(np.log((_saturation(a) + 1e-4) / (m.saturation + 1e-4))),
        (_clipped(a) - m.clipped) * 10.0,
        low_frequency_fidelity(b, a),
        m.blockiness,
        blockiness(a),
    ]
    return np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=10.0, neginf=-10.0)


__all__ = [
    "CHANGE_NAMES",
    "VIEW_SIDE",
    "InputMeasurements",
    "change_features",
    "measure_input",
    "noise_levels",
    "view",
]
