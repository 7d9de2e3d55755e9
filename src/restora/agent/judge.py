"""The judge: one object that scores image states, guards against invented content, and decides
whether a step is kept or rolled back.

The agent asks the judge three things (the :class:`Judge` protocol): ``assess(image)`` (the
analysis and a no-reference quality), ``verdict(before, after, targets)`` (the candidate's score
and whether it passes the guards) and ``keeps(gain, asked)`` (is the gain over the state before
the step enough). :class:`DefaultJudge` owns everything those answers depend on: the analyzer,
the score weights, the no-reference model (by name from the metric registry), the guards and the
keep/rollback margin. ``restora.restore(..., judge=...)`` takes it (like a diffusers pipeline
takes its scheduler) and the tuner (``python -m restora.bench.agent --tune``) replays the same
object, with other weights, over cached decisions.

A state's **score** (0-100, higher is better) for a step that targets some degradation types is

    100 * (w_r * (1 - p_target) + w_o * (1 - mean p_other) + w_q * NR / 100) / (w_r + w_o + w_q)

where ``p_target`` is the analyzer's probability that the target degradation is still there (the
largest over the step's target types), ``mean p_other`` the mean probability of every other type
(a step that cures noise by blurring raises ``p_blur`` and pays for it) and ``NR`` the
no-reference quality. A step is kept only when its best candidate scores above the state before
it by more than the margin (an asked step needs no margin).

**Fidelity** is the Pearson correlation between the low-pass luma of the step's input and its
output (Gaussian sigma ~2 px at 0.15 MP, then area-reduced to at most 128 px): noise, rain,
block edges and sharpening live above that band and do not lower it; global brightness and
contrast changes (brightening, dehazing) do not lower a correlation either; what does is content
that moved, appeared or vanished, which is what a restorer must not invent. Candidates under
the fidelity floor, or whose no-reference quality fell by more than ``max_quality_drop``, are
rejected whatever their score.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
    weights: tuple[float, float, float],
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
    from restora.quality.statistics import luma as bt601_luma

    luma = bt601_luma(image)
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


@dataclass(frozen=True)
class Assessment:
    """What the judge knows about one image state: the analysis and a 0-100 NR quality."""

    analysis: Analysis
    quality: float
    seconds: float = 0.0
    partial: bool = False
    """A candidate's assessment without its own analysis (a judge that needs only the quality
    score, :class:`restora.agent.learned_judge.LearnedJudge`); the kept one is assessed again."""

    @property
    def probabilities(self) -> dict[str, float]:
        return analysis_probabilities(self.analysis)


@dataclass(frozen=True)
class Verdict:
    """The judge's answer for one candidate output."""

    score: StateScore
    fidelity: float
    accepted: bool
    note: str = ""
    confidence: float | None = None
    """The judge's probability that the candidate is better than the state before (None: the
    judge does not say)."""
    needed: float | None = None
    """The gain an automatic step with this candidate needs (None: the judge's margin)."""


class Judge(Protocol):
    """What the agent asks of a judge (module docstring)."""

    def analysis(self, image: np.ndarray) -> Analysis: ...

    def assess(self, image: np.ndarray, analysis: Analysis | None = None) -> Assessment: ...

    def score(self, state: Assessment, targets: Sequence[str]) -> StateScore: ...

    def verdict(
        self,
        before_image: np.ndarray,
        before: Assessment,
        after_image: np.ndarray,
        after: Assessment,
        targets: Sequence[str],
    ) -> Verdict: ...

    def keeps(
        self,
        gain: float,
        asked: bool,
        confidence: float | None = None,
        needed: float | None = None,
    ) -> bool: ...

    def margin(self, asked: bool) -> float: ...


@dataclass(frozen=True)
class DefaultJudge:
    """The shipped judge. ``analyzer`` is anything with ``.analysis(image) -> Analysis`` (the
    shipped analyzer from ``analyzer_weights`` on ``device`` when None, loaded on first use);
    ``quality_model`` names a no-reference model of the metric registry
    (:func:`restora.quality.registry.quality_models`).

    The weights, margin and guards were chosen by ``python -m restora.bench.agent --tune 48``
    (mixed items from train/BSDS500, shipped analyzer): +1.90 dB per step against +1.62 for
    always keeping the first expert (docs/agent.md)."""

    analyzer: Any = field(default=None, compare=False)
    weight_residual: float = 0.25
    weight_others: float = 0.25
    weight_quality: float = 1.0
    quality_model: str = "quality"
    fidelity_floor: float = 0.6
    max_quality_drop: float = 20.0
    improve_margin: float = 0.5
    final_margin: float = 1.0
    """Points of the state score an automatic result must gain over the photo received, for
    the types found in it, to be returned instead of it (:meth:`improves`)."""
    analyzer_weights: str | Path | None = None
    device: str | None = None
    _loaded: list[Any] = field(default_factory=list, repr=False, compare=False)
    _warm: list[bool] = field(default_factory=list, repr=False, compare=False)

    @property
    def weights(self) -> tuple[float, float, float]:
        return (self.weight_residual, self.weight_others, self.weight_quality)

    def analysis(self, image: np.ndarray) -> Analysis:
        """The analyzer's analysis of ``image``."""
        return self.get_analyzer().analysis(image)

    def get_analyzer(self) -> Any:
        if self.analyzer is not None:
            return self.analyzer
        if not self._loaded:
            from restora.perception import get_analyzer

            self._loaded.append(get_analyzer(self.analyzer_weights, self.device))
        return self._loaded[0]

    def no_reference_quality(self, image: np.ndarray) -> float:
        """0-100, higher is better, from the registry's ``quality_model`` (the score only: the
        words :func:`restora.quality.assess_nr` adds are not needed here)."""
        from restora.quality.levels import nr_score

        return nr_score(image, self.quality_model)

    def assess(self, image: np.ndarray, analysis: Analysis | None = None) -> Assessment:
        if not self._warm:  # models load outside the timing the budget predictions read
            tiny = np.full((16, 16, 3), 0.5, np.float32)
            self.no_reference_quality(tiny)
            if analysis is None:
                self.analysis(tiny)
            self._warm.append(True)
        start = time.perf_counter()
        found = analysis if analysis is not None else self.analysis(image)
        if found.quality.source == self.quality_model:
            quality = float(found.quality.score)  # the analyzer read it from the same pass
        else:
            quality = self.no_reference_quality(image)
        return Assessment(found, quality, time.perf_counter() - start)

    def combine(self, residual: float, others: float, quality: float) -> float:
        """The score of the module docstring from its parts."""
        w_r, w_o, w_q = self.weights
        total = w_r + w_o + w_q
        return 100.0 * (w_r * (1 - residual) + w_o * (1 - others) + w_q * quality / 100) / total

    def score(self, state: Assessment, targets: Sequence[str]) -> StateScore:
        return state_score(state.probabilities, targets, state.quality, self.weights)

    def admits(self, fidelity: float, quality_drop: float) -> tuple[bool, str]:
        """The guards: (passed, why not)."""
        if fidelity < self.fidelity_floor:
            return False, f"fidelity {fidelity:.2f} < {self.fidelity_floor}"
        if quality_drop > self.max_quality_drop:
            return False, f"no-reference quality fell by {quality_drop:.0f}"
        return True, ""

    def verdict(
        self,
        before_image: np.ndarray,
        before: Assessment,
        after_image: np.ndarray,
        after: Assessment,
        targets: Sequence[str],
    ) -> Verdict:
        fidelity, accepted, note = self.guard(before_image, before, after_image, after)
        return Verdict(self.score(after, targets), fidelity, accepted, note)

    def guard(
        self,
        before_image: np.ndarray,
        before: Assessment,
        after_image: np.ndarray,
        after: Assessment,
    ) -> tuple[float, bool, str]:
        """(fidelity, passed, why not) of a candidate: :meth:`admits` on its low-frequency
        fidelity and on its fall in no-reference quality."""
        fidelity = low_frequency_fidelity(before_image, after_image)
        reference = before.quality
        if after_image.shape[:2] != before_image.shape[:2]:
            # a change of size (upscaling): no-reference quality depends on the size and an
            # enlarged photo always scores lower than its source, so the expert is held to
            # what plain bicubic interpolation to the same size scores
            height, width = after_image.shape[:2]
            interpolated = cv2.resize(before_image, (width, height), interpolation=cv2.INTER_CUBIC)
            reference = self.no_reference_quality(np.clip(interpolated, 0.0, 1.0))
        accepted, note = self.admits(fidelity, reference - after.quality)
        return fidelity, accepted, note

    def improves(
        self,
        received: np.ndarray,
        before: Assessment,
        result: np.ndarray,
        after: Assessment,
        targets: Sequence[str],
        tasks: Sequence[str] = (),
    ) -> tuple[bool, str]:
        """Do no harm: is the result of automatic steps confidently better than the photo
        received? It must pass the guards against that photo and its score for ``targets``
        (the types found in the photo received) must gain ``final_margin``; otherwise the photo
        is returned as it came, with the reason. (``tasks``, the kept steps' tasks, are for
        judges that judge the chain as one step.)"""
        if result.shape != received.shape:
            return True, ""  # an upscale is judged against interpolation by the step guard
        _, passed, why = self.guard(received, before, result, after)
        if not passed:
            return False, why
        first, last = self.score(before, targets).score, self.score(after, targets).score
        if last - first < self.final_margin:
            return False, (
                f"score {first:.1f} -> {last:.1f}, not the +{self.final_margin:g} a change needs"
            )
        return True, ""

    def margin(self, asked: bool) -> float:
        """The score gain a step needs to be kept: none for an asked step (it is kept unless
        it scores worse), ``improve_margin`` for one the analyzer proposed."""
        return 0.0 if asked else self.improve_margin

    def keeps(
        self,
        gain: float,
        asked: bool,
        confidence: float | None = None,
        needed: float | None = None,
    ) -> bool:
        """Whether a step whose best candidate gained ``gain`` is kept (``confidence`` and
        ``needed``: the verdict's, unused by this judge)."""
        return gain >= 0.0 if asked else gain > self.improve_margin
