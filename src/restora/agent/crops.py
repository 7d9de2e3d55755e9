"""Deciding on a crop: where on a large photo the agent explores its candidates.

Trying every candidate, half step and order on a 12 MP photo costs minutes; the decisions do not
need the whole frame. For a photo larger than about two decision crops, the agent picks one
``AgentConfig.decision_side`` square crop, explores on it (every judge call at crop size), and
then runs the chain it kept once on the full image, tiled by the experts
(``restora.agent.api.restore``).

The crop is chosen by content and by where the analyzer sees the damage: a grid of windows is
ranked by detail (mean gradient magnitude of the luma: flat sky tells the judge little about
sharpening or denoising), the most detailed few are analysed, and the one where the
degradations found on the whole photo are most visible wins (the sum of their probabilities,
plus detail as a tie-breaker). Windows are analysed in order of detail, and the search stops when
no further window could win (each probability is at most 1), so the same crop is found with
fewer analyzer passes when the most detailed window already shows the damage clearly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from restora.types import Analysis


@dataclass(frozen=True)
class Crop:
    """A window of the photo: top, left, height, width in pixels, and the analyzer's analysis of
    it when choosing the crop computed one (so it is not analysed twice)."""

    top: int
    left: int
    height: int
    width: int
    analysis: Analysis | None = field(default=None, compare=False, repr=False)

    def of(self, image: np.ndarray) -> np.ndarray:
        return image[self.top : self.top + self.height, self.left : self.left + self.width]

    @property
    def megapixels(self) -> float:
        return self.height * self.width / 1e6

    def describe(self) -> str:
        return f"{self.width}x{self.height} crop at ({self.left}, {self.top})"


def needs_crop(shape: tuple[int, ...], side: int) -> bool:
    """True when the photo is worth deciding on a crop: more than two crops' worth of pixels."""
    height, width = int(shape[0]), int(shape[1])
    return side > 0 and height * width > 2 * side * side and min(height, width) >= side // 2


def _detail_map(image: np.ndarray, scale: float) -> np.ndarray:
    from restora.quality.statistics import luma

    small = cv2.resize(
        luma(image),
        (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
        interpolation=cv2.INTER_AREA,
    )
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    return np.asarray(np.sqrt(gx * gx + gy * gy), dtype=np.float32)


def with_photo_findings(seen: Analysis, whole: Analysis) -> Analysis:
    """The crop's analysis ``seen`` holding what the whole photo's analysis ``whole`` found:
    each degradation found on the photo and missing on the crop is added (the photo's
    severity and confidence), and its score is raised to the photo's. Global damage (haze,
    low light, a colour cast of rain) reads weaker on a part of the photo than on all of it,
    and the crop stands in for the photo: without this a hazy photo decided on a crop lost its
    dehazing step as "no longer found" before any step ran, and the judge, which takes these
    probabilities as inputs, doubted every dehazing candidate."""
    if not whole.degradations:
        return seen
    found = {d.type: d for d in seen.degradations}
    scores = dict(seen.scores)
    for degradation in whole.degradations:
        found.setdefault(degradation.type, degradation)
        if degradation.type in whole.scores:
            scores[degradation.type] = max(
                float(scores.get(degradation.type, 0.0)), float(whole.scores[degradation.type])
            )
    degradations = tuple(sorted(found.values(), key=lambda d: -d.confidence))
    return replace(seen, degradations=degradations, scores=scores)


def choose_decision_crop(
    image: np.ndarray,
    analyzer: Any,
    analysis: Analysis,
    side: int,
    grid: int = 4,
    analysed: int = 4,
) -> Crop:
    """The decision crop of ``image`` (module docstring). ``analyzer`` has ``.analysis(image)``;
    ``analysis`` is the whole photo's; ``grid`` x ``grid`` window positions are ranked by
    detail and the ``analysed`` most detailed are analysed."""
    height, width = image.shape[:2]
    crop_h, crop_w = min(side, height), min(side, width)
    scale = min(1.0, 256.0 / max(height, width))
    detail = _detail_map(image, scale)
    tops = np.linspace(0, height - crop_h, grid).round().astype(int)
    lefts = np.linspace(0, width - crop_w, grid).round().astype(int)
    windows: list[tuple[float, Crop]] = []
    for top in sorted(set(tops.tolist())):
        for left in sorted(set(lefts.tolist())):
            y0, x0 = int(top * scale), int(left * scale)
            y1 = max(y0 + 1, int((top + crop_h) * scale))
            x1 = max(x0 + 1, int((left + crop_w) * scale))
            windows.append((float(detail[y0:y1, x0:x1].mean()), Crop(top, left, crop_h, crop_w)))
    windows.sort(key=lambda pair: -pair[0])
    found = [d.type for d in analysis.degradations]
    if not found:
        return windows[0][1]
    top_detail = max(windows[0][0], 1e-6)
    best: tuple[float, Crop] | None = None
    for value, crop in windows[:analysed]:
        if best is not None and best[0] >= len(found) + 0.25 * value / top_detail:
            break  # no window of this detail or less can rank higher: not analysed
        seen = analyzer.analysis(np.ascontiguousarray(crop.of(image)))
        scores = seen.scores or {}
        visible = sum(float(scores.get(t, 0.0)) for t in found)
        rank = visible + 0.25 * value / top_detail
        if best is None or rank > best[0]:
            best = (rank, replace(crop, analysis=seen))
    assert best is not None
    return best[1]
