"""Dehazing: the dark channel prior (He, Sun & Tang, CVPR 2009 / TPAMI 2011) with the
transmission refined by a guided filter (He et al. 2010/2013) instead of soft matting.

In a haze-free outdoor patch at least one colour channel is nearly black; haze lifts that dark
channel, so ``t = 1 - omega * dark(I / A)`` estimates the transmission, and the scene radiance is
``J = (I - A) / max(t, t0) + A``. The atmospheric light A is global (brightest input pixels among
the 0.1 % haziest), so it is computed once on the whole image before tiling.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from restora.experts.base import Expert
from restora.experts.classical._common import guided_filter
from restora.quality.statistics import luma


def dark_channel(image: np.ndarray, patch: int) -> np.ndarray:
    """Minimum over colours, then over a ``patch`` x ``patch`` window (grey erosion)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch))
    return cv2.erode(image.min(axis=2), kernel, borderType=cv2.BORDER_REFLECT)


def atmospheric_light(image: np.ndarray, patch: int = 15, fraction: float = 0.001) -> np.ndarray:
    """A: the brightest input pixel (by intensity) among the haziest ``fraction`` of pixels."""
    dark = dark_channel(image, patch).ravel()
    count = max(int(dark.size * fraction), 1)
    candidates = np.argpartition(dark, -count)[-count:]
    flat = image.reshape(-1, 3)
    brightest = candidates[np.argmax(flat[candidates].sum(axis=1))]
    # a pure-white A makes t = 1 - omega everywhere in white skies; averaging the candidates
    # (as many implementations do) is steadier than one pixel
    top = flat[candidates]
    return np.maximum(0.5 * (flat[brightest] + top.mean(axis=0)), 0.05).astype(np.float32)


def _prepare(image: np.ndarray, **params: Any) -> dict[str, Any]:
    out = dict(params)
    if out.get("airlight") is None:
        out["airlight"] = tuple(float(v) for v in atmospheric_light(image, int(out["patch"])))
    return out


def _dark_channel(
    image: np.ndarray,
    airlight: tuple[float, float, float] | None = None,
    omega: float = 0.95,
    patch: int = 15,
    t_min: float = 0.1,
    radius: int = 40,
    eps: float = 1e-3,
) -> np.ndarray:
    a = np.asarray(
        airlight if airlight is not None else atmospheric_light(image, patch), np.float32
    )
    transmission = 1.0 - omega * dark_channel(image / a, patch)
    transmission = guided_filter(luma(image), transmission, radius, eps)
    transmission = np.clip(transmission, t_min, 1.0)[..., None]
    return (image - a) / transmission + a


def dark_channel_expert() -> Expert:
    return Expert(
        name="dark_channel",
        task="dehaze",
        backend="classical",
        run=_dark_channel,
        prepare=_prepare,
        params={
            "airlight": None,
            "omega": 0.95,
            "patch": 15,
            "t_min": 0.1,
            "radius": 40,
            "eps": 1e-3,
        },
        # context: the erosion (patch/2) plus the guided filter's two box passes (2*radius)
        tile_size=1024,
        tile_overlap=384,
        description="Dark channel prior with guided-filter transmission refinement.",
        reference="He, Sun & Tang, CVPR 2009; guided filter, ECCV 2010",
        rank=20,
    )
