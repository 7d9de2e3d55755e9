"""Blind estimates the experts need when the analyzer gives none: blur kernels (the noise level
and the JPEG quality are pixel statistics of :mod:`restora.quality.statistics`).

- Gaussian / defocus blur: re-blur gradient ratio at edges (Elder & Zucker 1998; Zhuo & Sim
  2011, "Defocus map estimation from a single image"): an ideal step edge blurred by sigma has a
  gradient peak proportional to 1/sigma; re-blurring with sigma0 gives 1/sqrt(sigma^2+sigma0^2),
  so the ratio R of the two gives sigma = sigma0 / sqrt(R^2 - 1). The median over strong edges
  is robust to texture; real edges that are not steps make it over-estimate a little.
- Motion blur (best effort): the cepstrum of a linearly motion-blurred image has a negative peak
  at the blur length along the blur direction (Rom 1977; Moghaddam & Jamzad 2007); we search
  angle and length for the most negative cepstral value.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from restora.quality.statistics import luma


def gaussian_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """Normalised 2-D Gaussian PSF (odd size, default 2*ceil(3 sigma)+1)."""
    sigma = max(float(sigma), 1e-3)
    size = size or 2 * math.ceil(3.0 * sigma) + 1
    k1 = cv2.getGaussianKernel(size, sigma).astype(np.float64)
    kernel = k1 @ k1.T
    return (kernel / kernel.sum()).astype(np.float32)


def motion_kernel(length: float, angle_degrees: float) -> np.ndarray:
    """Normalised linear motion PSF of ``length`` pixels at ``angle_degrees`` (counter-clockwise
    from the x axis), drawn anti-aliased."""
    length = max(float(length), 1.0)
    size = 2 * math.ceil(length / 2.0) + 1
    kernel = np.zeros((size, size), dtype=np.float32)
    centre = size // 2
    theta = math.radians(angle_degrees)
    dx, dy = math.cos(theta) * (length - 1) / 2.0, -math.sin(theta) * (length - 1) / 2.0
    samples = max(int(length * 8), 2)
    for t in np.linspace(-1.0, 1.0, samples):
        x, y = centre + t * dx, centre + t * dy
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        for yy, xx, wgt in (
            (y0, x0, (1 - fx) * (1 - fy)),
            (y0, x0 + 1, fx * (1 - fy)),
            (y0 + 1, x0, (1 - fx) * fy),
            (y0 + 1, x0 + 1, fx * fy),
        ):
            if 0 <= yy < size and 0 <= xx < size:
                kernel[yy, xx] += wgt
    return kernel / kernel.sum()


def estimate_gaussian_blur_sigma(
    image: np.ndarray, reblur_sigma: float = 1.5, max_sigma: float = 8.0
) -> float:
    """Sigma (pixels) of a Gaussian/defocus blur from the re-blur gradient ratio at edges."""
    grey = luma(image)
    # a light denoise first: noise inflates the gradient of the sharp image far more than of
    # the re-blurred one and would bias the ratio towards "sharp"
    grey = cv2.GaussianBlur(grey, (0, 0), 0.5)
    reblurred = cv2.GaussianBlur(grey, (0, 0), reblur_sigma)

    def gradient(plane: np.ndarray) -> np.ndarray:
        return np.hypot(cv2.Sobel(plane, cv2.CV_32F, 1, 0), cv2.Sobel(plane, cv2.CV_32F, 0, 1))

    g0, g1 = gradient(grey), gradient(reblurred)
    edges = cv2.Canny(np.clip(grey * 255.0, 0, 255).astype(np.uint8), 30, 90) > 0
    edges &= g1 > 1e-3
    if edges.sum() < 50:
        return 0.0
    ratio = g0[edges] / g1[edges]
    ratio = ratio[ratio > 1.0 + 1e-3]
    if ratio.size == 0:
        return max_sigma
    sigmas = reblur_sigma / np.sqrt(ratio**2 - 1.0)
    # 0.5 accounts for the pre-smoothing above (variances add)
    sigma = math.sqrt(max(float(np.median(sigmas)) ** 2 - 0.25, 0.0))
    return float(min(sigma, max_sigma))


def estimate_motion_blur(
    image: np.ndarray, max_length: int = 40, min_length: int = 3
) -> tuple[float, float]:
    """(length, angle in degrees) of a linear motion blur from the cepstrum (best effort)."""
    grey = luma(image)
    size = 2 ** math.ceil(math.log2(max(grey.shape)))
    size = min(size, 1024)
    crop = grey[: min(grey.shape[0], size), : min(grey.shape[1], size)]
    window = np.outer(np.hanning(crop.shape[0]), np.hanning(crop.shape[1])).astype(np.float32)
    spectrum = np.abs(np.fft.fft2((crop - crop.mean()) * window, s=(size, size)))
    cepstrum = np.fft.fftshift(np.real(np.fft.ifft2(np.log1p(spectrum))))
    centre = size // 2
    best = (0.0, 0.0, np.inf)
    lengths = np.arange(min_length, max_length + 1, dtype=np.float32)
    for angle in np.arange(0.0, 180.0, 1.0):
        theta = math.radians(angle)
        xs = centre + lengths * math.cos(theta)
        ys = centre - lengths * math.sin(theta)
        values = cv2.remap(
            cepstrum.astype(np.float32),
            xs.reshape(1, -1).astype(np.float32),
            ys.reshape(1, -1).astype(np.float32),
            cv2.INTER_LINEAR,
        ).ravel()
        index = int(np.argmin(values))
        if values[index] < best[2]:
            best = (float(lengths[index]), float(angle), float(values[index]))
    # the cepstral dip sits at the distance between the two ends of the path, which is one
    # pixel less than the kernel length in motion_kernel's convention
    return best[0] + 1.0, best[1]
