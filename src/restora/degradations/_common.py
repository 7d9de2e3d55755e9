"""Small helpers shared by the degradation functions: input checks, filtering, sRGB curves."""

from __future__ import annotations

from typing import Any

import numpy as np

from restora.errors import InvalidValueError


def check_image(image: np.ndarray) -> np.ndarray:
    """Float32 RGB (H, W, 3) in [0, 1], C-contiguous (a copy only when needed).

    A grey (H, W) array is accepted and repeated to three channels, because every function
    here models colour physics (haze airlight, colour noise) on RGB.
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InvalidValueError(f"expected an RGB image of shape (H, W, 3), got {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise InvalidValueError(
            f"the image is {arr.shape[1]}x{arr.shape[0]} pixels; degradations need at least 2x2"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise InvalidValueError(f"expected float pixels in [0, 1], got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def check_severity(severity: float) -> float:
    value = float(severity)
    if not 0.0 <= value <= 1.0 or value != value:
        raise InvalidValueError(f"severity must be a number in [0, 1], got {severity!r}")
    return value


def finish(image: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and return float32 (every degradation's output contract)."""
    return np.clip(image, 0.0, 1.0, out=None).astype(np.float32, copy=False)


def filter2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate every channel with ``kernel`` (OpenCV; switches to a DFT for big kernels).

    Reflect-101 borders avoid the dark frame a zero border would leave around blurred images.
    """
    import cv2

    return cv2.filter2D(
        image, cv2.CV_32F, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101
    )


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """The sRGB decoding curve (IEC 61966-2-1), exact piecewise form."""
    x = np.asarray(image, dtype=np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(image: np.ndarray) -> np.ndarray:
    """The sRGB encoding curve, inverse of :func:`srgb_to_linear` (input clipped at 0)."""
    x = np.maximum(np.asarray(image, dtype=np.float32), 0.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1.0 / 2.4) - 0.055).astype(np.float32)


def rounded(value: Any, digits: int = 4) -> Any:
    """Plain Python numbers for JSON params (numpy scalars, arrays and tuples converted)."""
    if isinstance(value, (np.floating, float)):
        return round(float(value), digits)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (np.ndarray, list, tuple)):
        return [rounded(v, digits) for v in np.asarray(value).tolist()]
    return value


def smooth_field(
    height: int, width: int, rng: np.random.Generator, cells: int = 4, octaves: int = 2
) -> np.ndarray:
    """A smooth random field in [0, 1], (height, width) float32: coarse uniform noise on a
    ``cells``-wide grid (aspect kept), bicubic-upsampled, plus ``octaves - 1`` finer grids at
    half the amplitude each, min-max normalised. Draws a fixed number of numbers for a size."""
    import cv2

    total = np.zeros((height, width), dtype=np.float32)
    amplitude = 1.0
    for octave in range(octaves):
        across = cells * 2**octave
        down = max(2, round(across * height / max(width, 1)))
        coarse = rng.random((down, across)).astype(np.float32)
        total += amplitude * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        amplitude *= 0.5
    low, high = float(total.min()), float(total.max())
    return ((total - low) / max(high - low, 1e-6)).astype(np.float32)
