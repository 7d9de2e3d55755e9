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

from restora.quality import strips
from restora.quality.matlab import (
    average_downsample,
    filter2_valid,
    fspecial_gaussian,
    rgb2gray,
    to_uint8_levels,
)
from restora.quality.strips import row_strips, strip_memory

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
    if _pixels(img) > strips.STRIP_PIXELS:
        img, ref = _cropped(img, crop_border), _cropped(ref, crop_border)
        squares = sum(
            float(np.sum((_basicsr_levels(img[a:b], 0, y_channel)
                          - _basicsr_levels(ref[a:b], 0, y_channel)) ** 2))
            for a, b in row_strips(img.shape[0], img.shape[1])
        )  # fmt: skip
        channels = 1 if y_channel or img.ndim == 2 else img.shape[2]
        mse = squares / (img.shape[0] * img.shape[1] * channels)
    else:
        a = _basicsr_levels(img, crop_border, y_channel)
        b = _basicsr_levels(ref, crop_border, y_channel)
        mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return math.inf
    return float(10.0 * np.log10(255.0 * 255.0 / mse))


def _pixels(image: np.ndarray) -> int:
    return int(image.shape[0]) * int(image.shape[1])


def _cropped(image: np.ndarray, crop_border: int) -> np.ndarray:
    if not crop_border:
        return image
    return image[crop_border:-crop_border, crop_border:-crop_border, ...]


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
    if _pixels(img) > strips.STRIP_PIXELS and img.shape[0] > 2 * (SSIM_HALO + crop_border):
        return _basicsr_ssim_in_strips(
            _cropped(img, crop_border), _cropped(ref, crop_border), y_channel
        )
    a = _basicsr_levels(img, crop_border, y_channel)
    b = _basicsr_levels(ref, crop_border, y_channel)
    return float(np.mean([_basicsr_ssim_channel(a[..., i], b[..., i]) for i in range(a.shape[2])]))


SSIM_HALO = 5  # the 11x11 window's reach; BasicSR and ssim_index.m keep only full windows


def _basicsr_ssim_in_strips(img: np.ndarray, ref: np.ndarray, y_channel: bool) -> float:
    """:func:`ssim` strip by strip: the map of the valid region is local, its mean a sum."""
    height, width = img.shape[:2]
    channels = 1 if y_channel or img.ndim == 2 else img.shape[2]
    sums = np.zeros(channels)
    # rows of the valid map are image rows 5 .. height-6; a strip of them needs 5 rows around
    for start, stop in row_strips(height - 2 * SSIM_HALO, width):
        lo, hi = start, stop + 2 * SSIM_HALO
        a = _basicsr_levels(img[lo:hi], 0, y_channel)
        b = _basicsr_levels(ref[lo:hi], 0, y_channel)
        for c in range(channels):
            sums[c] += _basicsr_ssim_channel(a[..., c], b[..., c]) * (stop - start)
    return float(np.mean(sums / (height - 2 * SSIM_HALO)))


def psnr_y(img: np.ndarray, ref: np.ndarray, crop_border: int = 0) -> float:
    """Registry entry ``psnr_y``: BasicSR PSNR on the BT.601 Y channel."""
    return psnr(img, ref, crop_border=crop_border, y_channel=True)


def ssim_y(img: np.ndarray, ref: np.ndarray, crop_border: int = 0) -> float:
    """Registry entry ``ssim_y``: BasicSR SSIM on the BT.601 Y channel."""
    return ssim(img, ref, crop_border=crop_border, y_channel=True)


# ------------------------------------------------------------------------------- IQA convention


def psnr_rgb(img: np.ndarray, ref: np.ndarray) -> float:
    """PSNR over all channels of the 8-bit images with peak 255 (inf when identical)."""
    if _pixels(img) > strips.STRIP_PIXELS:
        squares = sum(
            float(np.sum((to_uint8_levels(img[a:b]) - to_uint8_levels(ref[a:b])) ** 2))
            for a, b in row_strips(img.shape[0], img.shape[1])
        )
        mse = squares / img.size
    else:
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


def _ssim_cs_means(x: np.ndarray, y: np.ndarray, grey: bool = False) -> tuple[float, float]:
    """Means of the SSIM and contrast-structure maps of two images (MATLAB ``rgb2gray`` of
    them first unless ``grey``), strip by strip on large images: the 'valid' maps are local
    (each value sees an 11x11 window), so only their sums cross strips."""
    to_grey = (lambda a: a) if grey else rgb2gray
    height, width = x.shape[:2]
    valid_h, valid_w = height - 2 * SSIM_HALO, width - 2 * SSIM_HALO
    if height * width <= strips.STRIP_PIXELS or valid_h <= 0 or valid_w <= 0:
        ssim_map, cs_map = _ssim_maps(to_grey(x), to_grey(y))
        return float(ssim_map.mean()), float(cs_map.mean())
    ssim_sum = cs_sum = 0.0
    for start, stop in row_strips(valid_h, width):
        rows = slice(start, stop + 2 * SSIM_HALO)
        ssim_map, cs_map = _ssim_maps(to_grey(x[rows]), to_grey(y[rows]))
        ssim_sum += float(ssim_map.sum())
        cs_sum += float(cs_map.sum())
    count = valid_h * valid_w
    return ssim_sum / count, cs_sum / count


def ssim_grey(img: np.ndarray, ref: np.ndarray) -> float:
    """SSIM of the official ``ssim_index.m`` on MATLAB ``rgb2gray`` input (no downsampling)."""
    return _ssim_cs_means(img, ref)[0]


def _halve_symmetric(x: np.ndarray) -> np.ndarray:
    """``imfilter(x, ones(2)/4, 'symmetric', 'same')`` then ``x(1:2:end, 1:2:end)``.

    MATLAB anchors an even kernel at its first element, so each output averages a pixel with
    its right/lower neighbours, the last row/column mirrored for odd sizes.
    """
    padded = np.pad(x, ((0, 1), (0, 1)), mode="symmetric")
    avg = (padded[:-1, :-1] + padded[1:, :-1] + padded[:-1, 1:] + padded[1:, 1:]) / 4.0
    return avg[::2, ::2]


def _halve_in_strips(image: np.ndarray, grey: bool) -> np.ndarray:
    """:func:`_halve_symmetric` of ``image`` (of its MATLAB ``rgb2gray`` unless ``grey``),
    strip by strip: each half-size row averages two rows, so even strip starts line up."""
    to_grey = (lambda a: a) if grey else rgb2gray
    height, width = image.shape[:2]
    if height * width <= strips.STRIP_PIXELS:
        return _halve_symmetric(to_grey(image))
    out = np.empty(((height + 1) // 2, (width + 1) // 2))
    for start, stop in row_strips(height, width, unit=2):
        out[start // 2 : (stop + 1) // 2] = _halve_symmetric(to_grey(image[start:stop]))
    return out


def ms_ssim(img: np.ndarray, ref: np.ndarray) -> float:
    """MS-SSIM of the official ``msssim.m`` (five scales, product form) on grey input.

    Large images are worked on strip by strip (the maps are local, the halving pairs rows):
    only the half-size grey images are kept whole."""
    x, y, grey = img, ref, False
    cs_values: list[float] = []
    ssim_value = 0.0
    for level in range(len(MS_SSIM_WEIGHTS)):
        ssim_value, cs_value = _ssim_cs_means(x, y, grey)
        cs_values.append(cs_value)
        if level < len(MS_SSIM_WEIGHTS) - 1:
            x, y, grey = _halve_in_strips(x, grey), _halve_in_strips(y, grey), True
    weights = np.asarray(MS_SSIM_WEIGHTS)
    # Negative contrast terms (anti-correlated structure) have no real power; clamp like pyiqa.
    cs = np.maximum(np.asarray(cs_values[:-1]), 0.0)
    return float(np.prod(cs ** weights[:-1]) * max(ssim_value, 0.0) ** weights[-1])


def gmsd(img: np.ndarray, ref: np.ndarray) -> float:
    """GMSD of the official ``GMSD.m`` (Xue et al. 2014) on grey input, T = 170."""
    t_const = 170.0

    if _pixels(img) > strips.STRIP_PIXELS:
        return _gmsd_in_strips(img, ref, t_const)
    g1 = _prewitt_magnitude(np.pad(average_downsample(rgb2gray(img), 2), 1))
    g2 = _prewitt_magnitude(np.pad(average_downsample(rgb2gray(ref), 2), 1))
    quality_map = (2 * g1 * g2 + t_const) / (g1 * g1 + g2 * g2 + t_const)
    return float(np.std(quality_map, ddof=1))


def _prewitt_magnitude(p: np.ndarray) -> np.ndarray:
    """GMSD's ``conv2(Y, dx, 'same')`` magnitude with the Prewitt-like dx = [1 0 -1]/3 (x3
    rows) of an image ``p`` that already has its one row/column of zero padding."""
    cols = (p[:, 2:] - p[:, :-2]) / 3.0  # horizontal difference, still padded rows
    rows = (p[2:, :] - p[:-2, :]) / 3.0
    ix = cols[:-2] + cols[1:-1] + cols[2:]
    iy = rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]
    return np.sqrt(ix * ix + iy * iy)


def _gmsd_in_strips(img: np.ndarray, ref: np.ndarray, t_const: float) -> float:
    """:func:`gmsd` keeping only the half-size images and the quality map whole."""

    def half_size(image: np.ndarray) -> np.ndarray:
        # conv2(Y, ones(2)/4, 'same'), every 2nd pixel: half-size row i averages rows 2i, 2i+1
        height, width = image.shape[:2]
        out = np.empty(((height + 1) // 2, (width + 1) // 2))
        for start, stop in row_strips(height, width, unit=2):
            out[start // 2 : (stop + 1) // 2] = average_downsample(
                rgb2gray(image[start : min(stop + 1, height)]), 2
            )[: (stop - start + 1) // 2]
        return out

    small1, small2 = half_size(img), half_size(ref)
    height, width = small1.shape
    quality_map = np.empty_like(small1)
    for start, stop in row_strips(height, width):
        # one real row of context each side, the zero padding only at the image's borders
        lo, hi = max(start - 1, 0), min(stop + 1, height)
        pad = ((1 if start == 0 else 0, 1 if stop == height else 0), (1, 1))
        g1 = _prewitt_magnitude(np.pad(small1[lo:hi], pad))
        g2 = _prewitt_magnitude(np.pad(small2[lo:hi], pad))
        quality_map[start:stop] = (2 * g1 * g2 + t_const) / (g1 * g1 + g2 * g2 + t_const)
    return float(np.std(quality_map, ddof=1))


# ------------------------------------------------------------------------ working memory
# Peak bytes beyond the two images, measured with getrusage at 12 and 24 MP (docs/quality.md)
# and rounded up by about a quarter.


def psnr_memory(height: int, width: int) -> float:
    """PSNR (both conventions): ~75 bytes per strip pixel."""
    return strip_memory(height, width, 100.0)


def ssim_memory(height: int, width: int) -> float:
    """SSIM (both conventions): ~140 bytes per strip pixel."""
    return strip_memory(height, width, 170.0, 2 * SSIM_HALO + 1)


def ms_ssim_memory(height: int, width: int) -> float:
    """MS-SSIM: the half-size grey images stay whole (~4 bytes per pixel), plus strips."""
    return 5.0 * height * width + strip_memory(height, width, 150.0, 2 * SSIM_HALO + 1)


def gmsd_memory(height: int, width: int) -> float:
    """GMSD: the half-size images and the quality map stay whole (~10 bytes per pixel)."""
    return 12.0 * height * width + strip_memory(height, width, 60.0, 3)
