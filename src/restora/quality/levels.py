"""Quality levels and words: a 0-100 no-reference score, its level, and a short description.

The score comes from a *quality model*: a no-reference metric of the one metric registry
(:mod:`restora.quality.registry`) scored 0-100, higher is better. restora's ``"quality"`` is
the mean opinion score learned from people (:mod:`restora.quality.learned`);
``"quality_classic"`` (:func:`quality_score`: NIQE and PIQE mapped to 0-100, weighted 3:1)
stays selectable; another plugs in with :func:`~restora.quality.registry.register_metric` and
:func:`assess_nr` picks it by name (``model=...``). The description does not depend on
the model: it names the defects that simple measurements find (noise in flat areas, soft edges,
8x8 blocking, low contrast, under/over-exposure), so it stays interpretable whatever the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from restora.quality.statistics import blockiness, estimate_flat_area_noise_sigma, luma
from restora.quality.strips import budget_or_default, row_strips, strip_memory, with_halo
from restora.types import QualityScore
from restora.vocabulary import QUALITY_LEVELS

LEVEL_THRESHOLDS: tuple[tuple[float, str], ...] = (
    (80.0, "excellent"),
    (60.0, "good"),
    (40.0, "fair"),
    (20.0, "poor"),
    (-np.inf, "bad"),
)
"""Lower bound of each level's score band, best first (levels of vocabulary.QUALITY_LEVELS)."""

# NIQE (restora's pristine model) of clean training photos is about 2.5-4; heavily distorted
# photos reach 10 and more. The classical score maps that span linearly onto 100..0.
NIQE_BEST, NIQE_WORST = 3.0, 11.0

# Cue thresholds (8-bit noise sigma; blur effect of Crete et al. in [0, 1]; blockiness ratio;
# luminance statistics in [0, 1]).
NOISE_NOTICEABLE, NOISE_HEAVY = 3.5, 10.0
BLUR_SOFT, BLUR_STRONG = 0.48, 0.62
BLOCKINESS_VISIBLE = 1.35
CONTRAST_LOW = 0.09
BRIGHTNESS_DARK, BRIGHTNESS_BRIGHT = 0.22, 0.82


def level_for(score: float) -> str:
    """The quality level of a 0-100 score (excellent >= 80, good >= 60, fair >= 40,
    poor >= 20, bad below)."""
    for bound, level in LEVEL_THRESHOLDS:
        if score >= bound:
            return level
    return QUALITY_LEVELS[-1]  # NaN scores


# ---------------------------------------------------------------------------- measurable cues


BLUR_WINDOW = 11
"""The re-blur filter of Crete et al. (scikit-image's ``h_size``)."""


def blur_amount(image: np.ndarray, strip_pixels: int | None = None) -> float:
    """Perceptual blur of Crete et al. (2007) via scikit-image: 0 sharp .. 1 very blurred.

    Images over ``strip_pixels`` are measured strip by strip with scikit-image's filters (the
    measure is two sums over the image, so the number is the same in bounded memory)."""
    from skimage.measure import blur_effect

    height, width = image.shape[:2]
    if min(height, width) < 8:
        return 0.0
    strip_pixels = budget_or_default(strip_pixels)
    if height * width <= strip_pixels:
        return float(blur_effect(luma(image, np.float64), h_size=BLUR_WINDOW))
    return _blur_in_strips(image, strip_pixels)


def _blur_in_strips(image: np.ndarray, strip_pixels: int) -> float:
    """``skimage.measure.blur_effect`` (its sums over ``[2:-1]`` of each axis), strip-wise."""
    from scipy import ndimage
    from skimage.filters import sobel

    epsilon = float(np.finfo(np.float64).eps)  # scikit-image's _EPSILON
    height, width = image.shape[:2]
    sharp_sums, excess_sums = np.zeros(2), np.zeros(2)
    halo = BLUR_WINDOW // 2 + 3  # the box filter, Sobel's row of context, a spare row
    for start, stop in row_strips(height, width, budget=strip_pixels):
        lo, hi, _ = with_halo(start, stop, height, halo)
        grey = luma(image[lo:hi], np.float64)
        rows = slice(max(start, 2) - lo, min(stop, height - 1) - lo)
        if rows.stop <= rows.start:
            continue
        for axis in (0, 1):
            reblurred = ndimage.uniform_filter1d(grey, BLUR_WINDOW, axis=axis)
            sharp = np.maximum(epsilon, np.abs(sobel(grey, axis=axis)))
            blurred = np.maximum(epsilon, np.abs(sobel(reblurred, axis=axis)))
            excess = np.maximum(0, sharp - blurred)
            sharp_sums[axis] += float(np.sum(sharp[rows, 2 : width - 1]))
            excess_sums[axis] += float(np.sum(excess[rows, 2 : width - 1]))
    ratios = np.abs(sharp_sums - excess_sums) / sharp_sums
    return float(np.max(ratios))


@dataclass(frozen=True)
class QualityCues:
    """Simple measurements behind the quality description."""

    noise_sigma: float
    blur: float
    blockiness: float
    contrast: float
    brightness: float

    def defects(self) -> list[str]:
        """Phrases for what looks wrong, worst first."""
        found: list[tuple[float, str]] = []
        if self.noise_sigma >= NOISE_HEAVY:
            found.append((3.0, "heavy noise"))
        elif self.noise_sigma >= NOISE_NOTICEABLE:
            found.append((2.0, "noticeable noise in flat areas"))
        if self.blockiness >= BLOCKINESS_VISIBLE:
            found.append((2.5, "visible compression blocks"))
        if self.blur >= BLUR_STRONG:
            found.append((2.8, "strongly blurred"))
        elif self.blur >= BLUR_SOFT:
            found.append((1.9, "edges are soft"))
        if self.brightness <= BRIGHTNESS_DARK:
            found.append((2.2, "dark, underexposed"))
        elif self.brightness >= BRIGHTNESS_BRIGHT:
            found.append((1.5, "very bright, highlights may be clipped"))
        if self.contrast <= CONTRAST_LOW:
            found.append((1.8, "low contrast (flat or hazy)"))
        return [text for _, text in sorted(found, key=lambda item: -item[0])]

    def to_dict(self) -> dict[str, float]:
        return {
            "noise_sigma": round(self.noise_sigma, 3),
            "blur": round(self.blur, 4),
            "blockiness": round(self.blockiness, 4),
            "contrast": round(self.contrast, 4),
            "brightness": round(self.brightness, 4),
        }


def measure_cues(image: np.ndarray) -> QualityCues:
    """The measurements behind the description; bounded memory on large images (each one
    works strip by strip there, with the same numbers)."""
    contrast, brightness = _luma_std_mean(image)
    return QualityCues(
        noise_sigma=estimate_flat_area_noise_sigma(image),
        blur=blur_amount(image),
        blockiness=blockiness(image),
        contrast=contrast,
        brightness=brightness,
    )


def _luma_std_mean(image: np.ndarray, strip_pixels: int | None = None) -> tuple[float, float]:
    height, width = image.shape[:2]
    strip_pixels = budget_or_default(strip_pixels)
    if height * width <= strip_pixels:
        grey = luma(image, np.float64)
        return float(grey.std()), float(grey.mean())
    strips = row_strips(height, width, budget=strip_pixels)
    mean = sum(float(luma(image[a:b], np.float64).sum()) for a, b in strips) / (height * width)
    squares = sum(float(((luma(image[a:b], np.float64) - mean) ** 2).sum()) for a, b in strips)
    return float(np.sqrt(squares / (height * width))), float(mean)


def describe(score: float, cues: QualityCues) -> str:
    """``"fair quality: noticeable noise in flat areas, edges are soft"``."""
    level = level_for(score)
    defects = cues.defects()
    if defects:
        return f"{level} quality: {', '.join(defects[:3])}"
    if level in ("excellent", "good"):
        return f"{level} quality: no obvious defects"
    return f"{level} quality: no single dominant defect"


# ------------------------------------------------------------------------------ quality models


def niqe_to_score(niqe_value: float) -> float:
    """NIQE (lower is better) to 0-100 (higher is better), linear between NIQE_BEST/WORST."""
    if not np.isfinite(niqe_value):
        return 0.0
    return float(100.0 * np.clip((NIQE_WORST - niqe_value) / (NIQE_WORST - NIQE_BEST), 0, 1))


# Weights follow the published evidence, not restora's benchmark: on authentic distortions
# (LIVE Challenge) NIQE reaches SRCC about 0.45 while PIQE stays near 0.1-0.2, so NIQE leads and
# PIQE adds its sensitivity to blocking and noise.
NIQE_WEIGHT = 0.75


def quality_score(image: np.ndarray) -> float:
    """The classical quality model: 0.75 x the NIQE mapping + 0.25 x (100 - PIQE); PIQE alone
    on images too small for NIQE's 96x96 blocks."""
    from restora.quality.niqe import BLOCK_SIZE, niqe
    from restora.quality.piqe import piqe

    piqe_part = 100.0 - piqe(image)
    if min(image.shape[:2]) < BLOCK_SIZE:
        return float(np.clip(piqe_part, 0.0, 100.0))
    niqe_part = niqe_to_score(niqe(image))
    score = NIQE_WEIGHT * niqe_part + (1.0 - NIQE_WEIGHT) * piqe_part
    return float(np.clip(score, 0.0, 100.0))


PERCENTILE_BYTES = 32e6
"""The flat-area noise cue's percentile bookkeeping (up to ``DISTINCT_LIMIT`` values with
their counts while they merge), whatever the strip size."""


def working_memory(height: int, width: int) -> float:
    """Peak working bytes of :func:`quality_score` and :func:`assess_nr` beyond the image
    (NIQE, PIQE and the cues one after the other, each strip by strip): ~130 MB measured at
    12 and 24 MP, about 100 bytes per strip pixel plus the percentile's bookkeeping."""
    return strip_memory(height, width, 130.0, 128) + PERCENTILE_BYTES


DEFAULT_QUALITY_MODEL = "quality"
"""The metric :func:`assess_nr` uses unless told otherwise (the learned mean opinion score of
:mod:`restora.quality.learned`)."""


def nr_score(image: np.ndarray, model: str = DEFAULT_QUALITY_MODEL) -> float:
    """The 0-100 score of quality model ``model`` alone (no level, no words): what the
    analyzer's quality field and the agent's judge read; a non-finite value counts as 0."""
    from restora.quality.registry import as_metric_array, get_quality_model

    metric = get_quality_model(model)
    value = float(metric.function()(as_metric_array(image, "image"), **metric.options))
    return float(np.clip(value, 0.0, 100.0)) if np.isfinite(value) else 0.0


def assess_nr(image: np.ndarray, model: str = DEFAULT_QUALITY_MODEL) -> QualityScore:
    """No-reference judgement: 0-100 score, level and a short description.

    ``model`` names a quality model of the metric registry: a registered no-reference metric
    scored 0-100, higher is better (:func:`restora.quality.registry.quality_models`; default
    ``"quality"``, the learned mean opinion score). Plug another in with
    :func:`restora.quality.registry.register_metric`. Unlike :func:`~restora.quality.compute`,
    no image is refused for its size: the model scores what it gets.
    """
    from restora.quality.registry import as_metric_array

    arr = as_metric_array(image, "image")
    score = nr_score(arr, model)
    return QualityScore(
        score=score,
        level=level_for(score),
        description=describe(score, measure_cues(arr)),
        source=model,
    )
