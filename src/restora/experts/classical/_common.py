"""Small helpers shared by the classical experts (written once, imported everywhere)."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from restora.quality.statistics import estimate_noise_sigma


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def on_8bit_levels(image: np.ndarray, method: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Run an 8-bit-only ``method`` (uint8 in, uint8 out, e.g. an OpenCV filter) and apply
    its change to the full-precision ``image``: ``x + (f(q(x)) - q(x)) / 255`` with ``q`` the
    8-bit quantisation. The result equals ``f``'s to within half a level, but the input's
    sub-8-bit detail (a 16-bit photo's smooth gradients) survives instead of turning into
    8-bit steps."""
    levels = to_uint8(image)
    change = method(levels).astype(np.float32) - levels.astype(np.float32)
    return image.astype(np.float32, copy=False) + change / 255.0


def box_mean(plane: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, reflect-padded; O(1) per pixel whatever the radius."""
    size = 2 * radius + 1
    return cv2.boxFilter(plane, cv2.CV_32F, (size, size), borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He, Sun & Tang, "Guided Image Filtering" (ECCV 2010 / TPAMI 2013), grey guide.

    Written with box filters because ``cv2.ximgproc.guidedFilter`` lives in
    opencv-contrib, which the headless OpenCV wheel we depend on does not include. The filter is
    a local linear model q = a*I + b fitted in every window, so it smooths ``source`` while
    keeping the edges of ``guide``; cost is O(1) per pixel.
    """
    guide = guide.astype(np.float32, copy=False)
    planes = source[..., None] if source.ndim == 2 else source
    mean_i = box_mean(guide, radius)
    var_i = box_mean(guide * guide, radius) - mean_i * mean_i
    out = np.empty(planes.shape, dtype=np.float32)
    for c in range(planes.shape[2]):
        p = planes[..., c].astype(np.float32, copy=False)
        mean_p = box_mean(p, radius)
        cov_ip = box_mean(guide * p, radius) - mean_i * mean_p
        a = cov_ip / (var_i + eps)
        b = mean_p - a * mean_i
        out[..., c] = box_mean(a, radius) * guide + box_mean(b, radius)
    return out[..., 0] if source.ndim == 2 else out


def prepare_noise_sigma(image: np.ndarray, **params: object) -> dict[str, object]:
    """Fill ``sigma`` (8-bit units) with a blind estimate on the whole image when not given."""
    out = dict(params)
    if out.get("sigma") is None:
        out["sigma"] = estimate_noise_sigma(image)
    return out
