"""Rain streak removal by guided-filter decomposition with a streak prior.

Following the decomposition idea of Kang, Lin & Fu (TIP 2012) and the guided-filter variant of
Xu et al. (2012), the image is split into a low-frequency base (an edge-preserving guided filter
of the image with itself) and a high-frequency detail layer, where the streaks live. A streak is
(1) brighter than its surround (rain adds light), (2) nearly achromatic (the same in R, G and B),
and (3) oriented along the dominant rain direction, which we take from the structure tensor of
the detail layer. The part of the detail layer that satisfies all three is subtracted; the rest
of the texture stays. This is a clear, cheap baseline, much weaker than learned deraining
(PReNet is benchmarked side by side); it helps on light rain (Rain100L) more than heavy rain.
"""

from __future__ import annotations

import cv2
import numpy as np

from restora.experts.base import Expert
from restora.experts.classical._common import guided_filter
from restora.quality.statistics import luma


def dominant_orientation(detail: np.ndarray) -> float:
    """Angle (radians) of the dominant edge normal from the image-wide structure tensor."""
    gx = cv2.Sobel(detail, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(detail, cv2.CV_32F, 0, 1)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    return 0.5 * float(np.arctan2(2.0 * jxy, jxx - jyy))


def _guided_derain(
    image: np.ndarray, radius: int = 6, eps: float = 0.02, strength: float = 1.0
) -> np.ndarray:
    guide = luma(image)
    base = guided_filter(guide, image, radius, eps)
    detail = image - base
    # achromatic positive part: the smallest positive excess over all three channels
    streak = np.clip(detail.min(axis=2), 0.0, None)
    # orientation agreement: local gradient normal against the dominant normal
    normal = dominant_orientation(streak)
    gx = cv2.Sobel(streak, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(streak, cv2.CV_32F, 0, 1)
    magnitude = np.hypot(gx, gy) + 1e-6
    agreement = np.abs(gx * np.cos(normal) + gy * np.sin(normal)) / magnitude
    agreement = cv2.GaussianBlur(agreement, (0, 0), 1.5)
    rain = strength * streak * np.clip((agreement - 0.5) * 2.0, 0.0, 1.0)
    return image - rain[..., None]


def guided_derain() -> Expert:
    return Expert(
        name="guided_derain",
        task="derain",
        backend="classical",
        run=_guided_derain,
        params={"radius": 6, "eps": 0.02, "strength": 1.0},
        tile_size=1024,
        tile_overlap=64,
        description="Guided-filter base/detail split; removes bright, achromatic, oriented "
        "detail (rain streaks). A light baseline.",
        reference="after Kang, Lin & Fu 2012; Xu et al. 2012",
        rank=20,
        side_effects=frozenset({"blur", "reflection"}),  # smoothing reads as blur and veil
    )
