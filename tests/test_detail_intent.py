"""Faithful or detailed (docs/agent.md): the parser reads the look an instruction asks for, the
planner puts generative experts (``Expert.generative``) first only for the detailed look (and
offers one for a small damaged photo), and the trace says in words why a generative candidate
was chosen, not chosen or not tried. Tiny spy experts stand in for the GAN restorers, so
nothing here needs the published model wheels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from restora.agent import restore
from restora.agent.candidates import candidates_for
from restora.agent.execution import over_budget
from restora.agent.judge import Assessment, DefaultJudge, low_frequency_fidelity
from restora.agent.planning import AgentConfig, plan
from restora.agent.trace import StepRecord, Trace
from restora.experts import Expert, register, unregister
from restora.experts.base import CrossTask
from restora.language.parser import parse_instruction
from restora.types import Analysis, Degradation, Intent, QualityScore
from restora.vocabulary import DEGRADATION_TYPES

SIDE = 48
MEGAPIXELS = SIDE * SIDE / 1e6


def _texture(shape: tuple[int, ...]) -> np.ndarray:
    """A fine checkerboard: invented texture that lives far above the fidelity band."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (0.06 * np.where((yy + xx) % 2 == 0, 1.0, -1.0))[..., None].astype(np.float32)


def _spy_gan(image: np.ndarray, device: str = "auto", scale: int = 4) -> np.ndarray:
    """Bicubic to ``scale`` plus a fine texture, like a GAN's invented detail."""
    height, width = image.shape[:2]
    up = cv2.resize(image, (width * scale, height * scale), interpolation=cv2.INTER_CUBIC)
    return np.clip(up + _texture(up.shape), 0.0, 1.0).astype(np.float32)


def _spy_inventor(image: np.ndarray, device: str = "auto", scale: int = 4) -> np.ndarray:
    """A generative expert that moves the content (upside down): the guard must stop it."""
    return _spy_gan(image[::-1], device, scale)


def _spy_expert(name: str, run: Callable[..., np.ndarray], seconds_per_mp: float) -> Expert:
    return Expert(
        name,
        "upscale",
        "learned",
        run=run,
        scale=4,
        params={"device": "auto", "scale": 4},
        rank=69,  # behind every faithful upscaler, ahead of the published GAN restorers
        seconds_per_mp=seconds_per_mp,
        generative=True,
        also_serves=(CrossTask("deblur", rank=69, params={"scale": 1}),),
        tile_size=None,
        description="test spy GAN",
    )


@pytest.fixture()
def spy_gan() -> Iterator[Callable[..., str]]:
    """Registers generative spies: ``spy_gan(seconds=s)`` makes one that takes ``s`` seconds
    on the test image (by its declared cost), ``run`` replaces what it does."""
    added: list[str] = []

    def make(
        seconds: float = 0.5, name: str = "spy_gan", run: Callable[..., np.ndarray] = _spy_gan
    ) -> str:
        register(name, _spy_expert(name, run, seconds / MEGAPIXELS), replace=True)
        added.append(name)
        return name

    yield make
    for name in added:
        unregister(name)


def _analysis(damaged: bool) -> Analysis:
    scores = {t: 0.0 for t in DEGRADATION_TYPES}
    found: tuple[Degradation, ...] = ()
    if damaged:
        scores["jpeg"] = 0.9
        found = (Degradation("jpeg", 0.6, 0.9),)
    return Analysis(found, "a small photo", QualityScore(40, "poor"), scores)


class DamagedAnalyzer:
    """Reports JPEG damage whatever the image."""

    def analysis(self, image: np.ndarray) -> Analysis:
        return _analysis(True)


@dataclass(frozen=True)
class ToyJudge(DefaultJudge):
    """No models: quality is smoothness (``prefer_texture`` turns it round), and every
    assessment claims to take ``claimed_seconds`` (what the budget is predicted from)."""

    prefer_texture: bool = False
    claimed_seconds: float = 0.0

    def no_reference_quality(self, image: np.ndarray) -> float:
        roughness = 100.0 * float(np.abs(np.diff(np.asarray(image), axis=0)).mean())
        value = roughness if self.prefer_texture else 100.0 - roughness
        return float(np.clip(value, 0.0, 100.0))

    def assess(self, image: np.ndarray, analysis: Analysis | None = None) -> Assessment:
        found = analysis if analysis is not None else self.analysis(image)
        return Assessment(found, self.no_reference_quality(image), self.claimed_seconds)


@pytest.fixture()
def photo(small_rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(small_rgb[:SIDE, :SIDE])


# --- the parser ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "make it sharp",
        "more detail please",
        "I want it detailed",
        "make it crisp",
        "natural looking please",
        "it needs realistic texture",
        "make it 4x larger with natural detail",
        "enlarge it and bring out the details",
        "it isn't sharp enough",
    ],
)
def test_detail_requests_ask_for_the_detailed_look(text: str) -> None:
    intent = parse_instruction(text, use_semantic=False)
    assert intent.look == "detailed" and intent.to_dict()["look"] == "detailed"
    assert intent.tasks or intent.auto  # something to do, so the look has a step to act on


@pytest.mark.parametrize(
    "text",
    [
        "upscale 4x but don't invent detail",
        "make it sharper but keep it faithful",
        "I'd like it sharper but please don't make it look fake",
        "upscale it, no hallucinated details",
        "without losing detail, remove the noise",
        "don't sharpen or add detail",
        "keep it sharp and remove the noise",
        "not too sharp",
    ],
)
def test_negated_or_faithful_requests_keep_the_faithful_look(text: str) -> None:
    assert parse_instruction(text, use_semantic=False).look == "faithful"


@pytest.mark.parametrize(
    "text", ["make it 4x larger", "sharpen it", "denoise and sharpen", "remove the noise"]
)
def test_the_default_is_faithful_and_tasks_are_unchanged(text: str) -> None:
    intent = parse_instruction(text, use_semantic=False)
    assert intent.look == "faithful"
    assert Intent().look == "faithful" and "look" in Intent().to_dict()


def test_detail_does_not_change_tasks_scale_or_strength() -> None:
    detailed = parse_instruction("make it 4x larger with natural detail", use_semantic=False)
    plain = parse_instruction("make it 4x larger", use_semantic=False)
    assert (detailed.tasks, detailed.scale, detailed.strength) == (
        plain.tasks,
        plain.scale,
        plain.strength,
    )
    with pytest.raises(ValueError, match="look"):
        Intent(look="dreamy")


# --- candidates and planning --------------------------------------------------------------


def test_generative_experts_stay_behind_the_faithful_ones_without_detail(
    spy_gan: Callable[..., str],
) -> None:
    name = spy_gan()
    fast = [c.name for c in candidates_for("upscale", max_seconds_per_mp=20)]
    assert name not in fast  # too slow per megapixel for the faithful default
    every = candidates_for("upscale")
    position = [c.name for c in every].index(name)
    assert all(not c.generative for c in every[:position])
    assert [c.name for c in every[:position]]  # faithful experts come first


def test_detail_puts_generative_experts_first(spy_gan: Callable[..., str]) -> None:
    name = spy_gan()
    found = candidates_for("upscale", max_seconds_per_mp=20, look="detailed")
    assert found[0].name == name
    kinds = [c.generative for c in found]
    assert kinds == sorted(kinds, reverse=True)  # every generative one before every faithful one
    as_deblur = candidates_for("deblur", max_seconds_per_mp=20, look="detailed")
    assert as_deblur[0].name == name and dict(as_deblur[0].params) == {"scale": 1}
    assert name not in [c.name for c in candidates_for("deblur", max_seconds_per_mp=20)]


def test_a_detail_plan_tries_the_generative_expert_first_with_a_faithful_fallback(
    spy_gan: Callable[..., str], photo: np.ndarray
) -> None:
    name = spy_gan()
    asked = Intent(tasks=("upscale",), scale=2, look="detailed")
    (step,) = plan(_analysis(False), asked, image_shape=photo.shape).steps
    assert step.candidates[0].name == name
    assert not step.candidates[-1].generative  # the fallback when the GAN does not fit
    faithful = plan(_analysis(False), Intent(tasks=("upscale",), scale=2), None, photo.shape)
    assert not any(c.generative for c in faithful.steps[0].candidates)


def test_a_small_damaged_photo_offers_the_generative_expert(
    spy_gan: Callable[..., str], photo: np.ndarray
) -> None:
    name = spy_gan()
    damaged = plan(_analysis(True), Intent(auto=True, exclude=("dejpeg",)), None, photo.shape)
    (upscale,) = [s for s in damaged.steps if s.task == "upscale"]
    assert upscale.candidates[-1].name == name and not upscale.candidates[0].generative
    assert any(f"{name} offered too" in note for note in damaged.notes)
    clean = plan(_analysis(False), Intent(auto=True), None, photo.shape)
    assert not any(c.generative for s in clean.steps for c in s.candidates)


def test_a_generative_expert_over_the_whole_budget_is_not_offered_and_the_plan_says_why(
    spy_gan: Callable[..., str], photo: np.ndarray
) -> None:
    name = spy_gan(seconds=500.0)
    config = AgentConfig(time_budget_s=60)
    asked = Intent(tasks=("upscale",), scale=2, look="detailed")
    result = plan(_analysis(False), asked, config, photo.shape)
    assert name not in [c.name for s in result.steps for c in s.candidates]
    # "upscale: spy_gan not offered, about 500 s needed ..., over the 60 s time budget" when a
    # published GAN fits instead, else "no generative expert offered, none fits ..."
    (note,) = [n for n in result.notes if name in n]
    assert "not offered" in note or "no generative expert offered" in note
    assert "about 500 s" in note and "the 60 s time budget" in note


# --- the judge ----------------------------------------------------------------------------


def test_invented_texture_keeps_low_frequency_fidelity_but_moved_content_does_not(
    photo: np.ndarray,
) -> None:
    assert low_frequency_fidelity(photo, _spy_gan(photo)) > 0.95  # a larger output is fine
    assert low_frequency_fidelity(photo, _spy_inventor(photo)) < DefaultJudge().fidelity_floor


# --- execution, trace and report ----------------------------------------------------------


def _upscale_step(result: object) -> StepRecord:
    steps = [s for s in result.trace.steps if s.task == "upscale"]  # type: ignore[attr-defined]
    assert len(steps) == 1
    return steps[0]


def _attempt_note(step: StepRecord, name: str) -> str:
    (note,) = {a.note for a in step.attempts if a.expert == name}
    return note


AUTO_SMALL = Intent(auto=True, exclude=("dejpeg",))


def test_an_offered_generative_candidate_that_scores_lower_is_not_chosen_and_says_why(
    spy_gan: Callable[..., str], photo: np.ndarray
) -> None:
    from restora.reports.restoration import render_report

    name = spy_gan()
    result = restore(photo, AUTO_SMALL, judge=ToyJudge(analyzer=DamagedAnalyzer()))
    step = _upscale_step(result)
    assert step.expert != name
    note = _attempt_note(step, name)
    assert note.startswith("not chosen: scored") and f"against {step.label}'s" in note
    assert f"  {name}: not chosen, scored" in "\n".join(result.trace.lines())
    assert "not chosen: scored" in render_report(result)
    json_step = result.to_dict()["steps"][-1]
    assert any(c["generative"] and c["note"] == note for c in json_step["candidates"])


def test_an_offered_generative_candidate_that_scores_best_is_chosen_by_its_score(
    spy_gan: Callable[..., str], photo: np.ndarray
) -> None:
    name = spy_gan()
    judge = ToyJudge(analyzer=DamagedAnalyzer(), prefer_texture=True)
    step = _upscale_step(restore(photo, AUTO_SMALL, judge=judge))
    assert step.expert == name
    assert _attempt_note(step, name).startswith("chosen: scored")


def test_detail_chooses_the_generative_candidate_over_a_higher_faithful_score(
    spy_gan: Callable[..., str], photo: np.ndarray
) -> None:
    name = spy_gan()
    asked = Intent(tasks=("upscale",), scale=2, look="detailed")
    result = restore(photo, asked, judge=ToyJudge(analyzer=DamagedAnalyzer()))
    step = _upscale_step(result)
    assert step.expert == name and result.rgb.shape[:2] == (2 * SIDE, 2 * SIDE)
    scores = {a.expert: a.score or 0.0 for a in step.attempts}
    assert scores[name] < max(scores.values())  # the judge alone would not have picked it
    note = _attempt_note(step, name)
    assert note.startswith("chosen: asked for detail (scored") and "against" in note, note
    assert "chosen: asked for detail" in step.reason
    faithful = [a for a in step.attempts if not a.generative]
    assert faithful and all(
        a.note == f"not chosen: asked for detail, {name} preferred" for a in faithful
    )
    lines = "\n".join(result.trace.lines())
    assert "(asked for detail)" in lines and f"  {name}: chosen, asked for detail" in lines


def test_the_guard_still_rejects_a_generative_candidate_that_moves_content(
    spy_gan: Callable[..., str], photo: np.ndarray
) -> None:
    name = spy_gan(name="spy_inventor", run=_spy_inventor)
    asked = Intent(tasks=("upscale",), scale=2, look="detailed")
    step = _upscale_step(restore(photo, asked, judge=ToyJudge(analyzer=DamagedAnalyzer())))
    assert step.expert != name and step.kept  # the faithful fallback upscaled it
    assert _attempt_note(step, name).startswith("not chosen: rejected by the guard (fidelity")


def test_a_generative_candidate_over_the_time_left_is_not_tried_and_says_how_long(
    spy_gan: Callable[..., str], photo: np.ndarray
) -> None:
    # offered (4 s fits the 20 s budget), but every judged variant is said to take 18 s, so
    # with the GAN the step would need about 22 s: left out, the faithful ones still run
    name = spy_gan(seconds=4.0)
    judge = ToyJudge(analyzer=DamagedAnalyzer(), claimed_seconds=18.0)
    result = restore(photo, AUTO_SMALL, judge=judge, config=AgentConfig(time_budget_s=20))
    step = _upscale_step(result)
    note = _attempt_note(step, name)
    assert note.startswith("not tried: over the time budget (about 22 s needed,"), note
    assert step.kept and step.expert != name
    assert f"  {name}: not tried, over the time budget (about 22 s needed" in "\n".join(
        result.trace.lines()
    )


def test_budget_notes_are_words() -> None:
    from restora.agent.candidates import Candidate

    expert = _spy_expert("spy_gan", _spy_gan, 1.0)
    attempt = over_budget(Candidate(expert, "upscale"), needed=40.2, remaining=12.4)
    assert attempt.note == "not tried: over the time budget (about 40 s needed, 12 s left)"
    record = StepRecord("upscale", "asked", (), "ibp", True, 50.0, 55.0, 0.1, "kept", (attempt,))
    lines = Trace((record,), (), "done", 0.1).lines()
    assert "  spy_gan: not tried, over the time budget (about 40 s needed, 12 s left)" in lines
