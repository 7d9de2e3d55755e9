"""Pixel statistics shared by quality cues, experts and the agent: each written once, here.

- :func:`luma`: BT.601 luma of an RGB image (grey images unchanged).
- Noise, two estimators that answer different questions (both Immerkaer 1996, "Fast noise
  variance estimation", CVIU 64(2): a mask that cancels locally planar structure leaves mostly
  noise, and ``sigma = sqrt(pi/2) / 6 * mean|I * M|``):

  * :func:`estimate_noise_sigma`: the blind sigma of additive white noise that denoisers and
    deconvolution need. Per channel (independent noise shrinks in a weighted mean) and averaged;
    pixels on strong Sobel edges (Tai & Yang 2008) and clipped pixels are left out. The wavelet
    MAD estimate of Donoho & Johnstone (1994) from scikit-image is ``method="wavelet"``. Used by
    the classical experts (``restora.experts``) and the agent.
  * :func:`estimate_flat_area_noise_sigma`: how much noise a viewer sees in the flattest 40 % of
    the luma. Used for the quality words (``restora.quality.levels.measure_cues``).

- :func:`blockiness` (8x8 JPEG block borders) and :func:`estimate_jpeg_quality`, a rough JPEG
  quality from pixels. The exact quality of a JPEG *file* comes from its quantisation tables:
  :func:`restora.degradations.jpeg.jpeg_quality_from_quantization_tables`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np
from scipy import ndimage

from restora.quality.strips import budget_or_default, percentile_of_chunks, row_strips, with_halo

BT601_WEIGHTS = (0.299, 0.587, 0.114)
IMMERKAER_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


def luma(image: np.ndarray, dtype: type[np.floating] = np.float32) -> np.ndarray:
    """BT.601 luma of an RGB (H, W, 3) image in [0, 1], computed in ``dtype``; a grey (H, W)
    image is returned as is (in ``dtype``)."""
    array = np.asarray(image, dtype=dtype)
    if array.ndim == 2:
        return array
    return np.asarray(array @ np.array(BT601_WEIGHTS, dtype=dtype), dtype=dtype)


# ------------------------------------------------------------------------------------- noise


def _immerkaer_plane(plane: np.ndarray, edge_quantile: float) -> float:
    h, w = plane.shape
    if h < 3 or w < 3:
        return 0.0
    response = cv2.filter2D(plane, cv2.CV_32F, IMMERKAER_KERNEL, borderType=cv2.BORDER_REFLECT)
    response = np.abs(response[1:-1, 1:-1])
    gx = cv2.Sobel(plane, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1]
    gy = cv2.Sobel(plane, cv2.CV_32F, 0, 1, ksize=3)[1:-1, 1:-1]
    magnitude = np.hypot(gx, gy)
    keep = magnitude <= np.quantile(magnitude, edge_quantile)
    # clipped pixels (0 or 1 in the 3x3 window) carry less noise than the rest; leave them out
    kernel = np.ones((3, 3), np.uint8)
    unclipped = (cv2.erode(plane, kernel) > 0.0) & (cv2.dilate(plane, kernel) < 1.0)
    keep &= unclipped[1:-1, 1:-1]
    values = response[keep] if keep.sum() > 64 else response.ravel()
    return float(math.sqrt(math.pi / 2.0) * values.mean() / 6.0)


def estimate_noise_sigma(
    image: np.ndarray, method: str = "immerkaer", edge_quantile: float = 0.9
) -> float:
    """Standard deviation of additive white noise, in 8-bit units (0-255).

    ``method``: ``"immerkaer"`` (default; edge-excluded, Tai & Yang 2008) or ``"wavelet"``
    (Donoho MAD of the finest diagonal wavelet band, scikit-image). Colour images are estimated
    per channel and averaged.
    """
    array = np.asarray(image, dtype=np.float32)
    if method == "wavelet":
        from skimage.restoration import estimate_sigma

        axis = 2 if array.ndim == 3 else None
        return float(estimate_sigma(array, average_sigmas=True, channel_axis=axis)) * 255.0
    if method != "immerkaer":
        raise ValueError(f"unknown noise estimation method {method!r}; use immerkaer or wavelet")
    planes = [array[..., c] for c in range(array.shape[2])] if array.ndim == 3 else [array]
    return 255.0 * float(np.mean([_immerkaer_plane(p, edge_quantile) for p in planes]))


def estimate_flat_area_noise_sigma(
    image: np.ndarray, flat_share: float = 0.4, strip_pixels: int | None = None
) -> float:
    """Noise standard deviation of the luma in 8-bit units, measured in the flattest
    ``flat_share`` of the image (the "noise in flat areas" a viewer notices).

    Flat pixels are picked on a smoothed copy, so that the noise itself does not pick them;
    restricting the Immerkaer response to them keeps texture from being counted as noise.
    Images over ``strip_pixels`` are measured strip by strip (the same number, in bounded
    memory: the percentile that picks the flat pixels comes from
    :func:`restora.quality.strips.percentile_of_chunks`).
    """
    height, width = image.shape[:2]
    if min(height, width) < 8:
        return 0.0
    strip_pixels = budget_or_default(strip_pixels)
    if height * width > strip_pixels:
        return _flat_area_noise_in_strips(image, flat_share, strip_pixels)
    grey = luma(image, np.float64) * 255.0
    mask = IMMERKAER_KERNEL.astype(np.float64)
    residual = np.abs(ndimage.correlate(grey, mask, mode="reflect"))[1:-1, 1:-1]
    smooth = ndimage.gaussian_filter(grey, 2.0)
    gradient = np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1))[1:-1, 1:-1]
    flat = gradient <= np.percentile(gradient, 100.0 * flat_share)
    return float(np.sqrt(np.pi / 2.0) / 6.0 * residual[flat].mean())


_FLAT_HALO = 10  # the Gaussian's radius (4 sigma = 8), Sobel's 1, and a spare row


def _flat_area_noise_in_strips(image: np.ndarray, flat_share: float, strip_pixels: int) -> float:
    height, width = image.shape[:2]
    mask = IMMERKAER_KERNEL.astype(np.float64)
    strips = row_strips(height, width, budget=strip_pixels)

    def slabs(with_residual: bool) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        for start, stop in strips:
            lo, hi, _ = with_halo(start, stop, height, _FLAT_HALO)
            grey = luma(image[lo:hi], np.float64) * 255.0
            # rows 1 .. height-2 of the whole image, as the [1:-1] crop takes them
            first, last = max(start, 1) - lo, min(stop, height - 1) - lo
            if last <= first:
                continue
            smooth = ndimage.gaussian_filter(grey, 2.0)
            gradient = np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1))
            residual = None
            if with_residual:
                response = ndimage.correlate(grey, mask, mode="reflect")
                residual = np.abs(response[first:last, 1:-1])
            yield gradient[first:last, 1:-1], residual

    # luma is a convex mix of the channels and Sobel's weights sum to 4 per axis
    spread = 255.0 * (float(np.max(image)) - float(np.min(image)))
    bound = 4.0 * math.sqrt(2.0) * spread * 1.01 + 1e-9
    threshold = percentile_of_chunks(
        lambda: (gradient for gradient, _ in slabs(False)), 100.0 * flat_share, (0.0, bound)
    )
    total, count = 0.0, 0
    for gradient, residual in slabs(True):
        assert residual is not None
        flat = gradient <= threshold
        total += float(residual[flat].sum())
        count += int(flat.sum())
    return float(np.sqrt(np.pi / 2.0) / 6.0 * total / max(count, 1))


# -------------------------------------------------------------------------------------- JPEG


def blockiness(image: np.ndarray, block: int = 8, strip_pixels: int | None = None) -> float:
    """Mean absolute step across the ``block`` x ``block`` borders over the mean step elsewhere
    (after Wang, Bovik & Evans, ICIP 2000): ~1 for an unblocked image, 2-4 at JPEG quality 10;
    1 for images under two blocks. Images over ``strip_pixels`` are measured strip by strip."""
    height, width = image.shape[:2]
    if min(height, width) < 2 * block:
        return 1.0
    strip_pixels = budget_or_default(strip_pixels)
    if height * width > strip_pixels:
        return _blockiness_in_strips(image, block, strip_pixels)
    grey = luma(image)
    dx, dy = np.abs(np.diff(grey, axis=1)), np.abs(np.diff(grey, axis=0))
    border = np.s_[block - 1 :: block]
    across = dx[:, border].mean() + dy[border, :].mean()
    inside = np.delete(dx, border, axis=1).mean() + np.delete(dy, border, axis=0).mean()
    return float(across / max(inside, 1e-6))


def _blockiness_in_strips(image: np.ndarray, block: int, strip_pixels: int) -> float:
    height, width = image.shape[:2]
    # sums and counts of |dx| on / off the block borders, then of |dy|
    sums = np.zeros(4)
    counts = np.zeros(4)
    border_cols = np.zeros(width - 1, dtype=bool)
    border_cols[block - 1 :: block] = True
    for start, stop in row_strips(height, width, budget=strip_pixels):
        grey = luma(image[start : min(stop + 1, height)])  # one more row for the last dy
        dx = np.abs(np.diff(grey[: stop - start], axis=1))
        sums[0] += float(dx[:, border_cols].sum(dtype=np.float64))
        sums[1] += float(dx[:, ~border_cols].sum(dtype=np.float64))
        counts[0] += dx[:, border_cols].size
        counts[1] += dx[:, ~border_cols].size
        dy = np.abs(np.diff(grey, axis=0))  # differences of rows start .. stop-1 with the next
        on_border = (np.arange(start, start + dy.shape[0]) % block) == block - 1
        sums[2] += float(dy[on_border].sum(dtype=np.float64))
        sums[3] += float(dy[~on_border].sum(dtype=np.float64))
        counts[2] += dy[on_border].size
        counts[3] += dy[~on_border].size
    means = sums / np.maximum(counts, 1)
    across = means[0] + means[2]
    inside = means[1] + means[3]
    return float(across / max(inside, 1e-6))


def estimate_jpeg_quality(image: np.ndarray) -> float:
    """A rough JPEG quality (1-100) from the pixels' blockiness; 100 when no blocking is seen.

    Fitted on BSDS500 *train* images re-compressed with Pillow at quality 5-95: blockiness - 1
    falls as about 1.67 * (10 / quality)^0.8; the spread between images is ~25 %, so treat the
    result as a severity, not the true quality setting.
    """
    excess = blockiness(image) - 1.0
    if excess <= 0.02:
        return 100.0
    return float(np.clip(10.0 * (1.67 / excess) ** 1.25, 1.0, 100.0))
