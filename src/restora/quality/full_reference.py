"""Weight-free full-reference metrics, in two named conventions.

* Restoration-paper convention (BasicSR ``calculate_psnr`` / ``calculate_ssim``):
  :func:`psnr` and :func:`ssim` with ``crop_border`` and ``y_channel``. Every restoration
  benchmark in restora uses these, so its numbers compare with published tables.
* IQA convention (official MATLAB code on 8-bit input, grey via MATLAB ``rgb2gray``):
  :func:`psnr_rgb`, :func:`ssim_grey`, :func:`ms_ssim`, :func:`gmsd`, checked against
  ``TID2013_calibration/results_official.csv``.

scikit-image's ``structural_similarity`` and kornia's ``ssim`` pad the borders ('same' output)
and kornia has no MS-SSIM or GMSD, so their numbers differ from both conventions by up to a few
1e-3; the formulas are therefore written here with OpenCV/scipy filtering in 'valid' mode.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from restora.quality.matlab import (
    average_downsample,
    filter2_valid,
    fspecial_gaussian,
    rgb2gray,
    to_uint8_levels,
)

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

# --------------------------------------------------------------- restoration (BasicSR) convention


def _basicsr_levels(image: np.ndarray, crop_border: int, y_channel: bool) -> np.ndarray:
    """What BasicSR's metrics see: tensor2img's 8-bit rounding, crop, then Y (16-235) if asked.

    Mirrors ``to_y_channel`` / ``bgr2ycbcr(img, y_only=True)`` step by step (float32 division,
    BGR weights applied to our RGB in reversed order), returning (H, W, C) float64 in 0..255.
    """
    img = to_uint8_levels(image)
    if img.ndim == 2:
        img = img[..., None]
    if crop_border:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
    if y_channel and img.shape[2] == 3:
        unit = img.astype(np.float32) / 255.0
        luma = np.dot(unit, [65.481, 128.553, 24.966]) + 16.0  # RGB order of BGR's [24.966, ...]
        img = (luma / 255.0 * 255.0)[..., None]
    return img.astype(np.float64)


def psnr(img: np.ndarray, ref: np.ndarray, crop_border: int = 0, y_channel: bool = False) -> float:
    """PSNR exactly as BasicSR's ``calculate_psnr`` (peak 255 on the 8-bit image).

    ``img`` and ``ref`` are float in [0, 1], (H, W, 3) RGB or (H, W) grey.
    """
    a = _basicsr_levels(img, crop_border, y_channel)
    b = _basicsr_levels(ref, crop_border, y_channel)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return math.inf
    return float(10.0 * np.log10(255.0 * 255.0 / mse))


def _basicsr_ssim_channel(img: np.ndarray, img2: np.ndarray) -> float:
    """BasicSR's ``_ssim``: cv2.filter2D with an 11x11 Gaussian (sigma 1.5), 'valid' region."""
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2
    kernel = cv2.getGaussianKernel(11, 1.5)
    window = np.outer(kernel, kernel.transpose())
    mu1 = cv2.filter2D(img, -1, window)[5:-5, 5:-5]
    mu2 = cv2.filter2D(img2, -1, window)[5:-5, 5:-5]
    mu1_sq, mu2_sq, mu1_mu2 = mu1**2, mu2**2, mu1 * mu2
    sigma1_sq = cv2.filter2D(img**2, -1, window)[5:-5, 5:-5] - mu1_sq
    sigma2_sq = cv2.filter2D(img2**2, -1, window)[5:-5, 5:-5] - mu2_sq
    sigma12 = cv2.filter2D(img * img2, -1, window)[5:-5, 5:-5] - mu1_mu2
    ssim_map = ((2 * mu1_mu2 + c1) * (2 * sigma12 + c2)) / (
        (mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2)
    )
    return float(ssim_map.mean())


def ssim(img: np.ndarray, ref: np.ndarray, crop_border: int = 0, y_channel: bool = False) -> float:
    """SSIM exactly as BasicSR's ``calculate_ssim`` (per channel, then averaged)."""
    a = _basicsr_levels(img, crop_border, y_channel)
    b = _basicsr_levels(ref, crop_border, y_channel)
    return float(np.mean([_basicsr_ssim_channel(a[..., i], b[..., i]) for i in range(a.shape[2])]))


def psnr_y(img: np.ndarray, ref: np.ndarray, crop_border: int = 0) -> float:
    """Registry entry ``psnr_y``: BasicSR PSNR on the BT.601 Y channel."""
    return psnr(img, ref, crop_border=crop_border, y_channel=True)


def ssim_y(img: np.ndarray, ref: np.ndarray, crop_border: int = 0) -> float:
    """Registry entry ``ssim_y``: BasicSR SSIM on the BT.601 Y channel."""
    return ssim(img, ref, crop_border=crop_border, y_channel=True)


# ------------------------------------------------------------------------------- IQA convention


def psnr_rgb(img: np.ndarray, ref: np.ndarray) -> float:
    """PSNR over all channels of the 8-bit images with peak 255 (inf when identical)."""
    mse = float(np.mean((to_uint8_levels(img) - to_uint8_levels(ref)) ** 2))
    return math.inf if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def psnr_float(img: np.ndarray, ref: np.ndarray, peak: float = 1.0) -> float:
    """PSNR of the float values as they are (no 8-bit rounding, no clipping), in dB for a
    signal peak of ``peak`` (inf when identical). For checks on unrounded data, such as a
    resampling port or a denoiser's output before it is saved; benchmarks use :func:`psnr`."""
    diff = np.asarray(img, dtype=np.float64) - np.asarray(ref, dtype=np.float64)
    mse = float(np.mean(diff**2))
    return math.inf if mse == 0 else float(10.0 * math.log10(peak * peak / mse))


def _ssim_maps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SSIM and contrast-structure maps of Wang's ``ssim_index`` (K = 0.01, 0.03; L = 255)."""
    window = fspecial_gaussian(11, 1.5)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = filter2_valid(x, window), filter2_valid(y, window)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = filter2_valid(x * x, window) - mu1_sq
    sigma2_sq = filter2_valid(y * y, window) - mu2_sq
    sigma12 = filter2_valid(x * y, window) - mu1_mu2
    cs_map = (2 * sigma12 + c2) / (sigma1_sq + sigma2_sq + c2)
    ssim_map = (2 * mu1_mu2 + c1) / (mu1_sq + mu2_sq + c1) * cs_map
    return ssim_map, cs_map


def ssim_grey(img: np.ndarray, ref: np.ndarray) -> float:
    """SSIM of the official ``ssim_index.m`` on MATLAB ``rgb2gray`` input (no downsampling)."""
    ssim_map, _ = _ssim_maps(rgb2gray(img), rgb2gray(ref))
    return float(ssim_map.mean())


def _halve_symmetric(x: np.ndarray) -> np.ndarray:
    """``imfilter(x, ones(2)/4, 'symmetric', 'same')`` then ``x(1:2:end, 1:2:end)``.

    MATLAB anchors an even kernel at its first element, so each output averages a pixel with
    its right/lower neighbours, the last row/column mirrored for odd sizes.
    """
    padded = np.pad(x, ((0, 1), (0, 1)), mode="symmetric")
    avg = (padded[:-1, :-1] + padded[1:, :-1] + padded[:-1, 1:] + padded[1:, 1:]) / 4.0
    return avg[::2, ::2]


def ms_ssim(img: np.ndarray, ref: np.ndarray) -> float:
    """MS-SSIM of the official ``msssim.m`` (five scales, product form) on grey input."""
    x, y = rgb2gray(img), rgb2gray(ref)
    cs_values: list[float] = []
    ssim_value = 0.0
    for level in range(len(MS_SSIM_WEIGHTS)):
        ssim_map, cs_map = _ssim_maps(x, y)
        cs_values.append(float(cs_map.mean()))
        ssim_value = float(ssim_map.mean())
        if level < len(MS_SSIM_WEIGHTS) - 1:
            x, y = _halve_symmetric(x), _halve_symmetric(y)
    weights = np.asarray(MS_SSIM_WEIGHTS)
    # Negative contrast terms (anti-correlated structure) have no real power; clamp like pyiqa.
    cs = np.maximum(np.asarray(cs_values[:-1]), 0.0)
    return float(np.prod(cs ** weights[:-1]) * max(ssim_value, 0.0) ** weights[-1])


def gmsd(img: np.ndarray, ref: np.ndarray) -> float:
    """GMSD of the official ``GMSD.m`` (Xue et al. 2014) on grey input, T = 170."""
    t_const = 170.0

    def downsampled_gradient(grey: np.ndarray) -> np.ndarray:
        small = average_downsample(grey, 2)  # conv2(Y, ones(2)/4, 'same'), every 2nd pixel
        # conv2(Y, dx, 'same') with the Prewitt-like dx = [1 0 -1]/3 (x3 rows), zero padding.
        p = np.pad(small, 1)
        cols = (p[:, 2:] - p[:, :-2]) / 3.0  # horizontal difference, still padded rows
        rows = (p[2:, :] - p[:-2, :]) / 3.0
        ix = cols[:-2] + cols[1:-1] + cols[2:]
        iy = rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]
        return np.sqrt(ix * ix + iy * iy)

    g1 = downsampled_gradient(rgb2gray(img))
    g2 = downsampled_gradient(rgb2gray(ref))
    quality_map = (2 * g1 * g2 + t_const) / (g1 * g1 + g2 * g2 + t_const)
    return float(np.std(quality_map, ddof=1))
