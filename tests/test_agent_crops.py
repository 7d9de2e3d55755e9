"""Deciding on a crop of a large photo, then running the kept chain once on the whole photo."""

from __future__ import annotations

import numpy as np
import pytest

from restora.agent import AgentConfig, DefaultJudge, restore
from restora.agent.crops import Crop, choose_decision_crop, needs_crop
from restora.types import Analysis, Degradation, QualityScore
from restora.vocabulary import DEGRADATION_TYPES


class NoiseByEstimate:
    """Noise probability from the blind noise estimate, so it is local to what it is shown."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def analysis(self, image: np.ndarray) -> Analysis:
        from restora.quality.statistics import estimate_noise_sigma

        self.shapes.append(image.shape)
        sigma = estimate_noise_sigma(image)
        p = float(np.clip((sigma - 3.0) / 12.0, 0.0, 1.0))
        scores = {t: 0.0 for t in DEGRADATION_TYPES}
        scores["noise"] = p
        found = (Degradation("noise", sigma / 50.0, p),) if p >= 0.5 else ()
        return Analysis(found, "test", QualityScore(50.0, "fair"), scores)


def half_noisy(height: int, width: int) -> np.ndarray:
    """Left half a clean smooth ramp, right half the same texture with strong noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.5 + 0.25 * np.sin(x / 9.0) * np.cos(y / 13.0)
    image = np.repeat(base[..., None], 3, axis=2)
    image[:, width // 2 :] += rng.normal(0, 0.12, (height, width - width // 2, 3))
    return np.clip(image, 0, 1).astype(np.float32)


@pytest.fixture()
def fast_denoiser() -> object:
    """A cheap smoothing denoiser ranked first, so these tests time the mechanism, not a net."""
    import cv2

    from restora.experts import Expert, register, unregister

    def smooth(image: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.GaussianBlur(image, (0, 0), 1.5), np.float32)

    register("toy_smoother", Expert("toy_smoother", "denoise", "classical", run=smooth,
                                    rank=-10, seconds_per_mp=0.1))  # fmt: skip
    yield "toy_smoother"
    unregister("toy_smoother")


FAST = AgentConfig(decision_side=160, max_candidates=1)


def test_only_photos_larger_than_two_crops_are_decided_on_a_crop() -> None:
    assert not needs_crop((481, 321, 3), 384)  # a CBSD68 photo: decided whole, as before
    assert needs_crop((1000, 1000, 3), 384)
    assert not needs_crop((4000, 3000, 3), 0)  # 0 turns it off


def test_the_crop_is_where_the_damage_is() -> None:
    image = half_noisy(600, 1200)
    analyzer = NoiseByEstimate()
    whole = analyzer.analysis(image)
    assert [d.type for d in whole.degradations] == ["noise"]
    crop = choose_decision_crop(image, analyzer, whole, 384)
    assert (crop.height, crop.width) == (384, 384)
    assert crop.left >= 600 - 384 // 4  # mostly in the noisy right half
    assert analyzer.shapes[-1][:2] == (384, 384)  # the analyzer saw crops, not the photo


class Saturated:
    """Every window shows noise at probability 1."""

    def __init__(self) -> None:
        self.calls = 0

    def analysis(self, image: np.ndarray) -> Analysis:
        self.calls += 1
        scores = {t: 0.0 for t in DEGRADATION_TYPES}
        scores["noise"] = 1.0
        return Analysis((Degradation("noise", 0.5, 1.0),), "test", QualityScore(50.0, "fair"),
                        scores)  # fmt: skip


def test_the_crop_search_stops_when_no_window_can_win() -> None:
    image = half_noisy(600, 1200)
    image[:, :300] = 0.5  # flat: less detail than the rest, so no tie for the first window
    saturated = Saturated()
    whole = saturated.analysis(image)
    crop = choose_decision_crop(image, saturated, whole, 384)
    assert saturated.calls == 2  # the whole photo, then the most detailed window only
    # the most detailed window (what a photo with nothing found is decided on)
    nothing = Analysis((), "test", QualityScore(50.0, "fair"), {})
    first = choose_decision_crop(image, saturated, nothing, 384)
    assert (crop.top, crop.left) == (first.top, first.left) and crop.analysis is not None


def test_a_large_photo_is_decided_on_a_crop_and_restored_whole(fast_denoiser: str) -> None:
    image = half_noisy(400, 640)
    analyzer = NoiseByEstimate()
    judge = DefaultJudge(analyzer=analyzer, weight_residual=1.0, weight_others=0.0,
                         weight_quality=0.0)  # fmt: skip
    result = restore(image, judge=judge, config=FAST)
    assert any("decided on a 160x160 crop" in n for n in result.trace.notes)
    kept = result.trace.kept
    assert kept and kept[0].task == "denoise"
    out = result.rgb
    assert out.shape == image.shape
    # the whole right half was denoised, not only the crop
    right = out[:, 320:] - image[:, 320:]
    assert float(np.abs(right).mean()) > 0.02
    for top, left in ((0, 320), (240, 480)):
        assert not np.allclose(out[top : top + 160, left : left + 160],
                               image[top : top + 160, left : left + 160])  # fmt: skip
    # judge calls stayed at crop size (the whole photo is only analysed, before and after)
    sizes = {s[:2] for s in analyzer.shapes}
    assert sizes <= {(160, 160), (400, 640)}
    assert sum(s[:2] == (400, 640) for s in analyzer.shapes) == 2


def test_the_budget_keeps_time_for_the_run_on_the_whole_photo() -> None:
    from restora.experts import Expert, register, unregister

    def identity(image: np.ndarray) -> np.ndarray:
        return image

    register(
        "toy_costly_denoiser",
        Expert("toy_costly_denoiser", "denoise", "classical", run=identity, rank=-5,
               seconds_per_mp=20.0),
    )  # fmt: skip
    try:
        # 1 MP: 20 s on the whole photo (never fits the 20 s budget), 3 s on the crop; NLM
        # (1.6 s/MP) fits even while judging is slow on a loaded machine
        image = half_noisy(1000, 1000)
        judge = DefaultJudge(analyzer=NoiseByEstimate())
        result = restore(image, judge=judge, config=AgentConfig(time_budget_s=20))
    finally:
        unregister("toy_costly_denoiser")
    attempts = [a for s in result.trace.steps for a in s.attempts]
    tried = [a.expert for a in attempts if not a.note.startswith("not tried")]
    assert "toy_costly_denoiser" not in tried  # ranked first, but its full-size run overruns
    assert any(a.expert == "toy_costly_denoiser" and "s needed" in a.note for a in attempts)
    assert any("toy_costly_denoiser left out, over the time budget" in n
               for n in result.trace.notes)  # fmt: skip


def test_an_asked_step_over_the_time_budget_runs_its_fastest_candidate() -> None:
    """Asked to denoise a photo whose every candidate overruns the budget, the agent still
    denoises it, with its fastest candidate, and says so."""
    from restora.agent.planning import AgentConfig, plan
    from restora.experts import Expert, register, unregister
    from restora.types import Intent

    def identity(image: np.ndarray) -> np.ndarray:
        return image

    for name, cost in (("toy_slow_denoiser", 50.0), ("toy_slower_denoiser", 80.0)):
        register(name, Expert(name, "denoise", "classical", run=identity, rank=-5,
                              seconds_per_mp=cost))  # fmt: skip
    try:
        image = half_noisy(1000, 1000)
        judge = DefaultJudge(analyzer=NoiseByEstimate())
        config = AgentConfig(time_budget_s=5, max_seconds_per_mp=100)
        steps = plan(judge.analysis(image), Intent(tasks=("denoise",)), config, image.shape)
        assert {c.name for c in steps.steps[0].candidates} == {
            "toy_slow_denoiser", "toy_slower_denoiser"
        }  # fmt: skip
        result = restore(image, "remove the noise", judge=judge, config=config)
    finally:
        unregister("toy_slow_denoiser")
        unregister("toy_slower_denoiser")
    (step,) = [s for s in result.trace.steps if s.task == "denoise"]
    tried = [a.expert for a in step.attempts if not a.note.startswith("not tried")]
    assert tried and tried[0] == "toy_slow_denoiser"
    assert any("run because it was asked: toy_slow_denoiser" in n for n in result.trace.notes)


def test_crop_of_an_image() -> None:
    image = np.arange(5 * 7 * 3, dtype=np.float32).reshape(5, 7, 3)
    crop = Crop(1, 2, 3, 4)
    assert crop.of(image).shape == (3, 4, 3) and crop.megapixels == pytest.approx(12e-6)
    assert crop.of(image)[0, 0, 0] == image[1, 2, 0]


def test_progress_reports_every_stage_with_an_estimate_for_the_whole_photo(
    fast_denoiser: str,
) -> None:
    heard: list[tuple[str, float | None, float | None]] = []
    image = half_noisy(400, 640)
    judge = DefaultJudge(analyzer=NoiseByEstimate(), weight_residual=1.0, weight_others=0.0,
                         weight_quality=0.0)  # fmt: skip
    restore(image, judge=judge, config=FAST,
            progress=lambda m, f, e: heard.append((m, f, e)))  # fmt: skip
    messages = [m for m, _, _ in heard]
    assert messages[0].startswith("analysing the 640x400 photo")
    assert any(m.startswith("step 1: denoise") for m in messages)
    whole = [(m, e) for m, _, e in heard if "on the whole photo" in m]
    assert whole and all(e is not None and e > 0 for _, e in whole)
    assert messages[-1].startswith("done") and heard[-1][1] == 1.0
    fractions = [f for _, f, _ in heard if f is not None]
    assert fractions == sorted(fractions)


def test_the_crop_holds_what_the_whole_photo_found() -> None:
    from restora.agent.crops import with_photo_findings

    def analysis(found: dict[str, float]) -> Analysis:
        scores = {t: found.get(t, 0.0) for t in DEGRADATION_TYPES}
        degradations = tuple(Degradation(t, 0.5, p) for t, p in found.items() if p >= 0.5)
        return Analysis(degradations, "test", QualityScore(50.0, "fair"), scores)

    whole = analysis({"haze": 0.9, "jpeg": 0.8})
    crop = analysis({"haze": 0.2, "noise": 0.7, "jpeg": 0.95})
    merged = with_photo_findings(crop, whole)
    assert {d.type for d in merged.degradations} == {"haze", "noise", "jpeg"}
    assert merged.scores["haze"] == 0.9  # raised to the photo's
    assert merged.scores["jpeg"] == 0.95 and merged.scores["noise"] == 0.7  # the crop's own
    assert [d.confidence for d in merged.degradations] == sorted(
        (d.confidence for d in merged.degradations), reverse=True
    )
    nothing = analysis({})
    assert with_photo_findings(crop, nothing) is crop
