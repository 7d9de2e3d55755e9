"""Low resolution: downscaling by 2, 3 or 4 with several kernels.

Severity -> physical parameter: the scale factor is 2 for severity < 1/3, 3 below 2/3, else 4.
Kernels: ``bicubic`` (OpenCV, no antialiasing, so it aliases), ``bilinear`` (OpenCV),
``area`` (OpenCV box average) and ``matlab_bicubic`` (antialiased, as the SR benchmarks; see
:mod:`restora.degradations.resize`). An optional Gaussian anti-alias blur (sigma 0.3-0.5 x scale
px) comes first, as a camera's optical low-pass filter would.

Size convention: by default the output keeps the low-resolution size, ``ceil(H / scale)`` x
``ceil(W / scale)`` (the super-resolution convention: the input of an x-scale upscaler).
``resize_back=True`` resizes the result back to the input size with bicubic interpolation (what
an image shown at its original size after a low-resolution capture looks like), for fixed-size
training crops.

``realistic=True`` is a small camera's low-resolution photo: the lens and sensor blur
(Gaussian, sd 0.4-0.8 x scale px: a low-resolution capture is never aliased-sharp), then
sampling with area, bilinear or bicubic interpolation, then a low-ISO photograph saved as JPEG
at the low resolution (:func:`restora.degradations.camera.finish_capture`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity, finish, rounded

SCALES: tuple[int, ...] = (2, 3, 4)
KERNELS: tuple[str, ...] = ("bicubic", "bilinear", "area", "matlab_bicubic")


def scale_for_severity(severity: float) -> int:
    """Downscale factor (2, 3 or 4) for a severity in [0, 1]."""
    return SCALES[min(len(SCALES) - 1, int(check_severity(severity) * len(SCALES)))]


def severity_for_scale(scale: float) -> float:
    """A representative severity for a scale factor (the middle of its severity bin)."""
    index = int(np.argmin([abs(s - scale) for s in SCALES]))
    return (index + 0.5) / len(SCALES)


def resize_to(image: np.ndarray, height: int, width: int, kernel: str) -> np.ndarray:
    """Resize float pixels to (height, width) with one of :data:`KERNELS`."""
    import cv2

    if kernel == "matlab_bicubic":
        from restora.degradations.resize import imresize

        return imresize(image, output_shape=(height, width))
    flags = {"bicubic": cv2.INTER_CUBIC, "bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}
    if kernel not in flags:
        raise ValueError(f"unknown resize kernel {kernel!r}; choose one of: {', '.join(KERNELS)}")
    return cv2.resize(image, (width, height), interpolation=flags[kernel])


def add_low_resolution(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    scale: int | None = None,
    kernel: str | None = None,
    antialias: bool | None = None,
    resize_back: bool = False,
    realistic: bool = False,
    camera: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Downscale by ``scale`` (default from severity) with ``kernel`` (random when not given).

    ``antialias`` (random, 50 %) blurs with a Gaussian first. The output is the LR image unless
    ``resize_back`` (see the module docstring). ``realistic``: a camera's low-resolution
    photo (``camera=False`` leaves out the photograph and JPEG).
    """
    import cv2

    img = check_image(image)
    severity = check_severity(severity)
    if realistic:
        factor = scale_for_severity(severity) if scale is None else int(scale)
        return _small_camera(img, factor, rng, kernel, resize_back, camera)
    draws = rng.random(3)
    factor = scale_for_severity(severity) if scale is None else int(scale)
    if factor < 1:
        raise ValueError(f"scale must be >= 1, got {factor}")
    kernel = KERNELS[int(draws[0] * len(KERNELS))] if kernel is None else kernel
    pre_blur = bool(draws[1] < 0.5) if antialias is None else bool(antialias)
    height, width = img.shape[:2]
    params: dict[str, Any] = {"scale": factor, "kernel": kernel, "antialias": pre_blur}
    if pre_blur:
        sigma = (0.3 + 0.2 * draws[2]) * factor
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101)
        params["antialias_sigma"] = rounded(sigma, 3)
    low = resize_to(img, math.ceil(height / factor), math.ceil(width / factor), kernel)
    if resize_back:
        low = cv2.resize(np.clip(low, 0, 1), (width, height), interpolation=cv2.INTER_CUBIC)
        params["resized_back"] = True
    params["size"] = [int(low.shape[0]), int(low.shape[1])]
    return finish(low), params


REALISTIC_KERNELS: tuple[str, ...] = ("area", "bilinear", "bicubic")


def _small_camera(
    img: np.ndarray,
    factor: int,
    rng: np.random.Generator,
    kernel: str | None,
    resize_back: bool,
    camera: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    import cv2

    from restora.degradations.camera import finish_capture

    if factor < 1:
        raise ValueError(f"scale must be >= 1, got {factor}")
    u = rng.random(2)
    height, width = img.shape[:2]
    kernel = REALISTIC_KERNELS[int(u[0] * len(REALISTIC_KERNELS))] if kernel is None else kernel
    sigma = (0.4 + 0.4 * float(u[1])) * factor
    soft = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101)
    low = finish(resize_to(soft, math.ceil(height / factor), math.ceil(width / factor), kernel))
    params: dict[str, Any] = {
        "variant": "realistic",
        "scale": factor,
        "kernel": kernel,
        "psf_sigma": rounded(sigma, 3),
    }
    if camera:
        low, captured = finish_capture(low, rng)
        params.update(captured)
    if resize_back:
        low = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
        params["resized_back"] = True
    params["size"] = [int(low.shape[0]), int(low.shape[1])]
    return finish(low), params
