"""How the agent judges an image state, and the fidelity guard against hallucinated change.

A state's **score** (0-100, higher is better) for a step that targets some degradation types is

    100 * (w_r * (1 - p_target) + w_o * (1 - mean p_other) + w_q * NR / 100)

where ``p_target`` is the analyzer's probability that the target degradation is still there (the
largest over the step's target types), ``mean p_other`` the mean probability of every other type
(a step that cures noise by blurring raises ``p_blur`` and pays for it) and ``NR`` the
no-reference quality of :func:`restora.quality.assess_nr` (NIQE-led; a registered learned model
plugs in there). A step is kept only when its best candidate scores above the state before it.

**Fidelity** is the Pearson correlation between the low-pass luma of the step's input and its
output (Gaussian sigma ~2 px at 0.15 MP, then area-reduced to at most 128 px): noise, rain,
block edges and sharpening live above that band and do not lower it; global brightness and
contrast changes (brightening, dehazing) do not lower a correlation either; what does is content
that moved, appeared or vanished, which is what a restorer must not invent. Candidates under
``AgentConfig.fidelity_floor`` are rejected whatever their score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from restora.types import Analysis
from restora.vocabulary import DEGRADATION_TYPES

FIDELITY_SIDE = 128


@dataclass(frozen=True)
class StateScore:
    """The parts of a state's score, kept for the trace."""

    score: float
    residual: float
    others: float
    quality: float

    def to_dict(self) -> dict[str, float]:
        return {
            "score": round(self.score, 3),
            "residual": round(self.residual, 4),
            "others": round(self.others, 4),
            "quality": round(self.quality, 3),
        }


def state_score(
    probabilities: Mapping[str, float],
    targets: Sequence[str],
    quality: float,
    weights: tuple[float, float, float] = (0.5, 0.25, 0.25),
) -> StateScore:
    """The score of the module docstring from analyzer probabilities and a 0-100 NR quality."""
    w_residual, w_others, w_quality = weights
    residual = max((float(probabilities.get(t, 0.0)) for t in targets), default=0.0)
    other_values = [float(probabilities.get(t, 0.0)) for t in DEGRADATION_TYPES if t not in targets]
    others = float(np.mean(other_values)) if other_values else 0.0
    total = w_residual + w_others + w_quality
    score = (
        100.0
        * (w_residual * (1.0 - residual) + w_others * (1.0 - others) + w_quality * quality / 100.0)
        / total
    )
    return StateScore(score, residual, others, quality)


def analysis_probabilities(analysis: Analysis) -> dict[str, float]:
    """Per-type presence probabilities (the analyzer's ``scores``; degradations as a fallback)."""
    if analysis.scores:
        return {t: float(analysis.scores.get(t, 0.0)) for t in DEGRADATION_TYPES}
    found = {d.type: d.confidence for d in analysis.degradations}
    return {t: float(found.get(t, 0.0)) for t in DEGRADATION_TYPES}


def _low_pass_luma(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    pixels = np.asarray(image, dtype=np.float32)
    luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32) if pixels.ndim == 3 else pixels
    luma = np.asarray(luma, dtype=np.float32)
    if luma.shape != shape:
        luma = np.asarray(cv2.resize(luma, (shape[1], shape[0]), interpolation=cv2.INTER_AREA))
    sigma = max(1.0, 2.0 * (shape[0] * shape[1] / 150_000.0) ** 0.5)
    blurred = cv2.GaussianBlur(luma, (0, 0), sigma)
    scale = FIDELITY_SIDE / max(shape)
    if scale < 1.0:
        size = (max(8, round(shape[1] * scale)), max(8, round(shape[0] * scale)))
        blurred = cv2.resize(blurred, size, interpolation=cv2.INTER_AREA)
    return np.asarray(blurred, dtype=np.float64)


def low_frequency_fidelity(before: np.ndarray, after: np.ndarray) -> float:
    """Correlation in [-1, 1] of the low-pass luma of ``before`` and ``after`` (``after`` may be
    larger: it is area-reduced to ``before``'s size first). Flat images give 1."""
    shape = (int(before.shape[0]), int(before.shape[1]))
    a = _low_pass_luma(before, shape).ravel()
    b = _low_pass_luma(after, shape).ravel()
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if norm < 1e-12:
        # a flat input: any flat output is faithful, anything with structure is invented
        return 1.0 if float((b * b).sum()) < 1e-8 * b.size else 0.0
    return float((a * b).sum() / norm)
