"""Optical blur: isotropic and anisotropic Gaussian kernels, and defocus (disk) kernels.

Severity -> physical parameter: the kernel's standard deviation in pixels is
``sigma = 0.3 + 3.7 * severity`` (0.3 px: barely visible, 4 px: very soft). An anisotropic
kernel has that sigma along its long axis and ``ratio * sigma`` (0.3-1) across it, at a random
angle. A defocus disk has radius ``2 * sigma`` (a uniform disk of radius r has standard
deviation r / 2 per axis), so the three kinds blur about equally at one severity.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity, filter2d, finish, rounded

KINDS: tuple[str, ...] = ("gaussian", "anisotropic", "defocus")


def sigma_for_severity(severity: float) -> float:
    """Kernel standard deviation in pixels for a severity in [0, 1]."""
    return 0.3 + 3.7 * check_severity(severity)


def severity_for_sigma(sigma_px: float) -> float:
    """Inverse of :func:`sigma_for_severity`, clipped to [0, 1]."""
    return float(np.clip((sigma_px - 0.3) / 3.7, 0.0, 1.0))


def gaussian_kernel(sigma_x: float, sigma_y: float, angle: float = 0.0) -> np.ndarray:
    """A normalised 2-D Gaussian with axis sigmas ``sigma_x``, ``sigma_y`` rotated by ``angle``
    (radians). Written here because OpenCV and scikit-image only build axis-aligned ones."""
    radius = max(1, math.ceil(3.0 * max(sigma_x, sigma_y)))
    ax = np.arange(-radius, radius + 1, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)
    cos, sin = math.cos(angle), math.sin(angle)
    u = cos * xx + sin * yy
    v = -sin * xx + cos * yy
    kernel = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (kernel / kernel.sum()).astype(np.float32)


def disk_kernel(radius: float, supersample: int = 8) -> np.ndarray:
    """A normalised defocus disk of ``radius`` pixels with anti-aliased edges (each pixel's
    weight is the fraction of it inside the circle, estimated on a supersampled grid)."""
    half = max(1, math.ceil(radius))
    n = (2 * half + 1) * supersample
    ax = (np.arange(n, dtype=np.float64) + 0.5) / supersample - (half + 0.5)
    inside = (ax[None, :] ** 2 + ax[:, None] ** 2) <= max(radius, 0.5) ** 2
    kernel = inside.reshape(2 * half + 1, supersample, 2 * half + 1, supersample).mean(axis=(1, 3))
    return (kernel / kernel.sum()).astype(np.float32)


def add_blur(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    kind: str | None = None,
    sigma: float | None = None,
    ratio: float | None = None,
    angle: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Blur with a Gaussian (isotropic or anisotropic) or defocus-disk kernel.

    ``sigma`` (pixels) defaults to ``0.3 + 3.7 * severity``; ``kind`` is drawn uniformly from
    :data:`KINDS`; ``ratio`` (0.3-1) and ``angle`` (degrees) shape anisotropic kernels. Random
    draws do not depend on severity, so sharpness falls monotonically with severity for a seed.
    Isotropic Gaussian blur uses ``cv2.GaussianBlur`` (separable); the others ``cv2.filter2D``.
    """
    import cv2

    img = check_image(image)
    severity = check_severity(severity)
    draws = rng.random(3)
    kind = KINDS[int(draws[0] * len(KINDS))] if kind is None else kind
    if kind not in KINDS:
        raise ValueError(f"unknown blur kind {kind!r}; choose one of: {', '.join(KINDS)}")
    sigma_px = sigma_for_severity(severity) if sigma is None else float(sigma)
    params: dict[str, Any] = {"kind": kind, "sigma": rounded(sigma_px, 3)}
    if kind == "gaussian":
        out = cv2.GaussianBlur(
            img, (0, 0), sigmaX=sigma_px, sigmaY=sigma_px, borderType=cv2.BORDER_REFLECT_101
        )
    elif kind == "anisotropic":
        axis_ratio = 0.3 + 0.7 * draws[1] if ratio is None else float(ratio)
        degrees = 180.0 * draws[2] if angle is None else float(angle)
        kernel = gaussian_kernel(sigma_px, max(0.2, axis_ratio * sigma_px), math.radians(degrees))
        out = filter2d(img, kernel)
        params.update(ratio=rounded(axis_ratio, 3), angle=rounded(degrees, 1))
    else:
        radius = 2.0 * sigma_px
        out = filter2d(img, disk_kernel(radius))
        params["radius"] = rounded(radius, 3)
    return finish(out), params
