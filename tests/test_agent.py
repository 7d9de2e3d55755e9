"""restora.agent: planning rules, quality-guided execution with rollback, trace, API, CLI, report.

Most tests use a deterministic stand-in for the analyzer (noise probability from the classical
noise estimate) or tiny random analyzer weights, so they do not depend on the trained model;
the last ones use the shipped weights and skip when they are absent.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.agent import AgentConfig, Result, execute, plan, restore
from restora.agent.candidates import Candidate, candidates_for
from restora.agent.planning import TASK_ORDER, Plan, Step, fix_harmful_order
from restora.agent.scoring import low_frequency_fidelity, state_score
from restora.perception.analyzer import DEFAULT_WEIGHTS
from restora.types import Analysis, Degradation, Intent, QualityScore
from restora.vocabulary import DEGRADATION_TYPES, TASK_FOR_TYPE, TASKS
from tests.test_perception import tiny_weights  # noqa: F401 - a fixture shared with that module

# the stand-in judge below has a crude NR term, so the mechanism tests weight the residual most
NO_UPSCALE = AgentConfig(
    small_side=0, weight_residual=0.5, weight_others=0.25, weight_quality=0.25, improve_margin=0.5
)


def make_analysis(probabilities: dict[str, float], threshold: float = 0.5) -> Analysis:
    present = sorted((t for t, p in probabilities.items() if p >= threshold), key=probabilities.get)
    degradations = tuple(
        Degradation(t, severity=probabilities[t], confidence=probabilities[t])
        for t in reversed(present)
    )
    scores = {t: float(probabilities.get(t, 0.0)) for t in DEGRADATION_TYPES}
    return Analysis(degradations, "test", QualityScore(50.0, "fair"), scores)


class NoiseJudge:
    """Stands in for the analyzer: noise probability rises with the estimated noise sigma;
    ``extra`` types are reported present whatever the image."""

    def __init__(self, extra: dict[str, float] | None = None) -> None:
        self.extra = extra or {}
        self.calls = 0

    def analysis(self, image: np.ndarray) -> Analysis:
        from restora.experts.estimate import estimate_noise_sigma

        self.calls += 1
        sigma = estimate_noise_sigma(image)
        return make_analysis({"noise": float(np.clip((sigma - 3.0) / 12.0, 0, 1)), **self.extra})


@pytest.fixture()
def noisy(small_rgb: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.clip(small_rgb + rng.normal(0, 20 / 255, small_rgb.shape), 0, 1).astype(np.float32)


# ------------------------------------------------------------------------------- planning


def test_auto_plan_follows_the_reverse_formation_order() -> None:
    analysis = make_analysis({t: 0.9 for t in ("haze", "noise", "jpeg", "blur")})
    steps = plan(analysis, Intent(auto=True), NO_UPSCALE)
    assert steps.tasks == ["dejpeg", "denoise", "deblur", "dehaze"]
    assert all(s.source == "analyzer" and s.candidates for s in steps.steps)


def test_explicit_tasks_keep_the_users_order_unless_harmful() -> None:
    analysis = make_analysis({})
    assert plan(analysis, Intent(tasks=("dehaze", "derain")), NO_UPSCALE).tasks == [
        "dehaze",
        "derain",
    ]
    swapped = plan(analysis, Intent(tasks=("deblur", "denoise")), NO_UPSCALE)
    assert swapped.tasks == ["denoise", "deblur"]
    assert any("moved denoise before deblur" in n for n in swapped.notes)


def test_explicit_tasks_come_before_what_the_analyzer_found() -> None:
    analysis = make_analysis({"haze": 0.9, "rain": 0.8})
    p = plan(analysis, Intent(tasks=("brighten",), auto=True), NO_UPSCALE)
    assert p.tasks == ["brighten", "derain", "dehaze"]
    assert [s.source for s in p.steps] == ["asked", "analyzer", "analyzer"]
    only_asked = plan(analysis, Intent(tasks=("brighten",)), NO_UPSCALE)
    assert only_asked.tasks == ["brighten"]


@settings(max_examples=60, deadline=None)
@given(
    found=st.sets(st.sampled_from(DEGRADATION_TYPES)),
    asked=st.lists(st.sampled_from(TASKS), unique=True, max_size=4),
    excluded=st.sets(st.sampled_from(TASKS), min_size=1),
    auto=st.booleans(),
    scale=st.sampled_from([None, 2, 4]),
    side=st.sampled_from([64, 1000]),
)
def test_exclude_is_never_violated(
    found: set[str],
    asked: list[str],
    excluded: set[str],
    auto: bool,
    scale: int | None,
    side: int,
) -> None:
    intent = Intent(tasks=tuple(asked), exclude=tuple(sorted(excluded)), auto=auto, scale=scale)
    p = plan(make_analysis({t: 0.9 for t in found}), intent, image_shape=(side, side, 3))
    assert not set(p.tasks) & excluded
    for task in asked:
        if task not in excluded:
            assert task in p.tasks


def test_exclude_wins_over_an_explicit_request_and_is_noted() -> None:
    p = plan(make_analysis({"noise": 0.9}), Intent(tasks=("denoise",), exclude=("denoise",)))
    assert "denoise" not in p.tasks
    assert any("excluded wins" in n for n in p.notes)


def test_upscale_only_when_asked_or_small() -> None:
    analysis = make_analysis({})
    assert "upscale" not in plan(analysis, Intent(auto=True), image_shape=(600, 800, 3)).tasks
    assert plan(analysis, Intent(auto=True), image_shape=(100, 120, 3)).tasks == ["upscale"]
    asked = plan(analysis, Intent(tasks=("denoise",), scale=4), image_shape=(600, 800, 3))
    assert asked.tasks == ["denoise", "upscale"] and asked.steps[1].scale == 4
    # small, but the user named the work and did not ask for size
    assert "upscale" not in plan(analysis, Intent(tasks=("denoise",)), image_shape=(50, 50)).tasks


def test_harmful_order_fix_puts_every_known_pair_right() -> None:
    fixed, _ = fix_harmful_order(["upscale", "brighten", "deblur", "denoise", "dejpeg"])
    assert fixed.index("denoise") < fixed.index("brighten")
    assert fixed.index("dejpeg") < fixed.index("deblur") < fixed.index("upscale")
    assert sorted(TASK_ORDER) == sorted(TASKS)


def test_candidates_come_from_the_registry_and_respect_the_cost_budget() -> None:
    from restora.experts.registry import LEARNED_EXPERTS, names

    def classical(found: list[str]) -> list[str]:
        return [n for n in found if n.partition("@")[0] not in LEARNED_EXPERTS]

    shipped = [n for n in names() if n in LEARNED_EXPERTS]
    fast = [c.expert for c in candidates_for("denoise", max_seconds_per_mp=20)]
    assert classical(fast)[0] == "nlm" and "cbm3d" not in fast
    if "nafnet_denoise" in shipped:  # the task's own network first
        assert fast[0] == "nafnet_denoise"
    if "allinone_denoise" in shipped:  # the all-in-one after the classical favourite
        assert fast.index("allinone_denoise") > fast.index("nlm")
    assert "cbm3d" in [c.expert for c in candidates_for("denoise")]
    # dejpeg's only classical expert is slow: the cross-task NLM stand-in remains
    dejpeg = [c.label for c in candidates_for("dejpeg", max_seconds_per_mp=20)]
    assert classical(dejpeg) == ["nlm@jpeg"]
    motion = [c.expert for c in candidates_for("deblur", ("motion_blur",))]
    assert classical(motion)[0] == "wiener_motion"


def test_a_registered_learned_expert_is_tried_first(noisy: np.ndarray) -> None:
    from restora.experts import Expert, register, unregister

    register(
        "toy_learned_denoiser", Expert("toy_learned_denoiser", "denoise", "learned", run=_blur)
    )
    try:
        names = [c.expert for c in candidates_for("denoise", max_seconds_per_mp=100)]
        assert names[0] == "toy_learned_denoiser"
    finally:
        unregister("toy_learned_denoiser")


# ------------------------------------------------------------------------------- execution


def _blur(image: np.ndarray) -> np.ndarray:
    import cv2

    return np.asarray(cv2.GaussianBlur(image, (0, 0), 1.0), np.float32)


def _add_noise(image: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.clip(image + rng.normal(0, 0.1, image.shape), 0, 1).astype(np.float32)


def _replace_with_gradient(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    ramp = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    return np.ascontiguousarray(np.broadcast_to(ramp, (h, w, 3)))


@pytest.fixture()
def toy_experts() -> object:
    from restora.experts import Expert, register, unregister

    made = {
        "toy_noise_adder": _add_noise,
        "toy_gradient": _replace_with_gradient,
    }
    for name, run in made.items():
        register(name, Expert(name, "denoise", "classical", run=run), replace=True)
    yield made
    for name in made:
        unregister(name)


def _one_step_plan(*experts: str, task: str = "denoise", source: str = "analyzer") -> Plan:
    candidates = tuple(Candidate(name, task, 1.0) for name in experts)
    step = Step(task, ("noise",), source, candidates)
    return Plan((step,), Intent(auto=True), auto=True)


def test_denoising_is_kept_when_it_helps(noisy: np.ndarray, small_rgb: np.ndarray) -> None:
    from restora.quality import psnr

    out, after, trace = execute(noisy, _one_step_plan("nlm"), NoiseJudge(), NO_UPSCALE)
    (step,) = trace.steps
    assert step.kept and step.expert == "nlm"
    assert step.score_after is not None and step.score_before is not None
    assert step.score_after > step.score_before
    assert psnr(out, small_rgb) > psnr(noisy, small_rgb) + 2
    assert after.scores["noise"] < 0.5


def test_a_step_that_makes_things_worse_is_rolled_back(
    small_rgb: np.ndarray, toy_experts: object
) -> None:
    out, _, trace = execute(small_rgb, _one_step_plan("toy_noise_adder"), NoiseJudge(), NO_UPSCALE)
    (step,) = trace.steps
    assert not step.kept and "rolled back" in step.reason
    assert np.array_equal(out, small_rgb)


def test_without_rollback_the_bad_step_stays(small_rgb: np.ndarray, toy_experts: object) -> None:
    config = replace(NO_UPSCALE, rollback=False)
    out, _, trace = execute(small_rgb, _one_step_plan("toy_noise_adder"), NoiseJudge(), config)
    assert trace.steps[0].kept and not np.array_equal(out, small_rgb)


def test_the_fidelity_guard_rejects_invented_content(
    noisy: np.ndarray, toy_experts: object
) -> None:
    # the gradient is noise-free, so it would score best on the residual; fidelity stops it
    config = replace(NO_UPSCALE, blend_fractions=())
    _, _, trace = execute(noisy, _one_step_plan("toy_gradient", "nlm"), NoiseJudge(), config)
    (step,) = trace.steps
    gradient, nlm = step.attempts
    assert gradient.expert == "toy_gradient" and not gradient.accepted
    assert "fidelity" in gradient.note and gradient.fidelity is not None
    assert gradient.fidelity < NO_UPSCALE.fidelity_floor
    assert step.kept and step.expert == "nlm" and nlm.accepted


def test_a_half_step_is_judged_beside_the_full_one(noisy: np.ndarray) -> None:
    _, _, trace = execute(noisy, _one_step_plan("nlm"), NoiseJudge(), NO_UPSCALE)
    labels = [a.expert for a in trace.steps[0].attempts]
    assert labels == ["nlm", "nlm*0.5"]
    assert trace.steps[0].attempts[1].params["blend"] == 0.5


class LinkedJudge(NoiseJudge):
    """Reports haze exactly as strongly as noise: removing the noise "cures" the haze too."""

    def analysis(self, image: np.ndarray) -> Analysis:
        noise = super().analysis(image).scores["noise"]
        return make_analysis({"noise": noise, "haze": noise})


def test_steps_the_re_analysis_no_longer_needs_are_skipped(noisy: np.ndarray) -> None:
    judge = LinkedJudge()
    analysis = judge.analysis(noisy)
    p = plan(analysis, Intent(auto=True), NO_UPSCALE)
    assert p.tasks == ["denoise", "dehaze"]
    _, after, trace = execute(noisy, p, judge, NO_UPSCALE, analysis=analysis)
    assert [s.task for s in trace.steps] == ["denoise"] and trace.steps[0].kept
    assert any("dehaze: skipped" in n for n in trace.notes)
    assert after.is_clean and trace.stopped == "nothing left above threshold"


class SmoothingReadsAsBlurJudge(NoiseJudge):
    """Reports blur and a reflection once the noise is gone (as the real analyzer does after
    NLM and the learned denoiser), and rain."""

    def analysis(self, image: np.ndarray) -> Analysis:
        noise = super().analysis(image).scores["noise"]
        return make_analysis(
            {"noise": noise, "blur": 1.0 - noise, "rain": 1.0 - noise, "reflection": 1.0 - noise}
        )


def test_side_effects_of_a_step_are_not_chased(noisy: np.ndarray) -> None:
    judge = SmoothingReadsAsBlurJudge()
    analysis = judge.analysis(noisy)
    p = plan(analysis, Intent(auto=True), NO_UPSCALE)
    assert p.tasks == ["denoise"]
    _, _, trace = execute(noisy, p, judge, NO_UPSCALE, analysis=analysis)
    assert [s.task for s in trace.steps] == ["denoise", "derain"]
    assert any("blur after denoise: a side effect" in n for n in trace.notes)
    assert any("reflection after denoise: a side effect" in n for n in trace.notes)
    assert any("derain: added" in n for n in trace.notes)


def test_time_budget_and_step_limit_stop_the_run(noisy: np.ndarray) -> None:
    analysis = make_analysis({"noise": 0.9, "rain": 0.9, "haze": 0.9})
    p = plan(analysis, Intent(auto=True), NO_UPSCALE)
    _, _, trace = execute(
        noisy, p, NoiseJudge({"rain": 0.9, "haze": 0.9}), AgentConfig(max_steps=1)
    )
    assert len(trace.steps) == 1 and "step limit" in trace.stopped
    tiny_budget = replace(NO_UPSCALE, time_budget_s=1e-6)
    _, _, trace = execute(noisy, p, NoiseJudge(), tiny_budget, analysis=analysis)
    assert trace.steps == () and "time budget" in trace.stopped


def test_scores_and_fidelity_behave() -> None:
    worse = state_score({"noise": 0.9}, ("noise",), 40.0)
    better = state_score({"noise": 0.1}, ("noise",), 40.0)
    new_blur = state_score({"noise": 0.1, "blur": 0.9}, ("noise",), 40.0)
    assert better.score > new_blur.score > worse.score - 30
    assert 0 <= worse.score <= 100
    rng = np.random.default_rng(0)
    image = rng.random((64, 80, 3), dtype=np.float32)
    assert low_frequency_fidelity(image, image) == pytest.approx(1.0)
    assert low_frequency_fidelity(image, 0.5 * image + 0.2) == pytest.approx(1.0, abs=1e-6)
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    assert low_frequency_fidelity(image, big) > 0.95
    assert low_frequency_fidelity(image, image[::-1, ::-1].copy()) < 0.5


# --------------------------------------------------------------------------------- the API


def test_a_clean_image_passes_through_unchanged(astronaut: np.ndarray) -> None:
    result = restore(astronaut[:300, :300], analyzer=NoiseJudge())
    assert isinstance(result, Result)
    assert result.trace.steps == () and result.plan.steps == ()
    assert np.array_equal(result.rgb, astronaut[:300, :300])
    assert result.trace.stopped == "nothing to do"


def test_restore_respects_the_instructions_exclusion(noisy: np.ndarray) -> None:
    result = restore(noisy, "fix everything except the noise", analyzer=NoiseJudge())
    assert "denoise" in result.intent.exclude
    assert "denoise" not in [s.task for s in result.trace.steps]
    assert "denoise" not in result.plan.tasks


def test_restore_result_json_contract(noisy: np.ndarray) -> None:
    result = restore(noisy, "remove the noise", analyzer=NoiseJudge(), config=NO_UPSCALE)
    data = json.loads(json.dumps(result.to_dict("out.png")))
    assert set(data) >= {"output", "analysis_before", "analysis_after", "intent", "steps"}
    assert data["intent"]["tasks"] == ["denoise"]
    (step,) = data["steps"]
    assert set(step) >= {"task", "expert", "kept", "score_before", "score_after", "seconds"}
    assert step["task"] == "denoise" and step["kept"] is True
    first = candidates_for("denoise", max_seconds_per_mp=NO_UPSCALE.max_seconds_per_mp)[0]
    assert step["candidates"] and step["candidates"][0]["expert"] == first.expert
    assert any("denoise" in line for line in result.trace.lines())


def test_report_is_self_contained(noisy: np.ndarray, tmp_path: Path) -> None:
    from restora.agent import write_report

    result = restore(noisy, "remove the noise", analyzer=NoiseJudge(), config=NO_UPSCALE)
    path = write_report(result, tmp_path / "r.html")
    text = path.read_text()
    assert text.count("data:image/") == 4  # before, after, and the same detail crop of both
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert "class='bar'" in text and "nlm" in text and "kept" in text


def test_restore_cli_runs_the_agent(
    tiny_weights: Path,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    small_rgb: np.ndarray,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from restora.cli import main
    from restora.io import Image, save

    source = tmp_path / "in.png"
    save(Image.from_array(small_rgb), source)
    out, report = tmp_path / "out.png", tmp_path / "report.html"
    args = ["restore", str(source), "-o", str(out), "-i", "sharpen it, but do not denoise"]
    args += ["--weights", str(tiny_weights), "--report", str(report), "--json", "--device", "cpu"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) >= {"output", "analysis_before", "analysis_after", "intent", "steps"}
    assert payload["intent"]["exclude"] == ["denoise"]
    assert "denoise" not in [s["task"] for s in payload["steps"]]
    assert payload["steps"][0]["task"] == "deblur"
    assert out.is_file() and report.read_text().startswith("<!doctype html>")


def test_restore_cli_report_needs_the_agent(
    tmp_path: Path, small_rgb: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    from restora.cli import main
    from restora.io import Image, save

    source = tmp_path / "in.png"
    save(Image.from_array(small_rgb), source)
    args = ["restore", str(source), "-o", str(tmp_path / "o.png"), "--task", "denoise"]
    assert main([*args, "--report", str(tmp_path / "r.html")]) == 2
    assert "agent" in capsys.readouterr().err


# ------------------------------------------------------------ with the shipped analyzer

shipped = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason="analyzer weights not built")


@shipped
def test_shipped_agent_denoises_a_noisy_photo(astronaut: np.ndarray) -> None:
    from restora.degradations import synthesize
    from restora.quality import psnr

    clean = astronaut[100:356, 100:356]
    noisy_photo, _ = synthesize(clean, types=["noise"], severity=0.5, seed=0)
    result = restore(noisy_photo, config=AgentConfig(small_side=0))
    assert "denoise" in [s.task for s in result.trace.kept]
    assert psnr(result.rgb, clean) > psnr(noisy_photo, clean) + 1.0


@shipped
def test_shipped_agent_leaves_a_clean_photo_nearly_unchanged(astronaut: np.ndarray) -> None:
    from restora.quality import psnr

    clean = astronaut[:384, :384]
    result = restore(clean)
    assert result.rgb.shape == clean.shape
    assert np.array_equal(result.rgb, clean) or psnr(result.rgb, clean) > 38.0


@shipped
def test_shipped_agent_never_runs_an_excluded_task(astronaut: np.ndarray) -> None:
    from restora.degradations import synthesize

    clean = astronaut[100:356, 100:356]
    damaged, _ = synthesize(clean, types=["noise", "jpeg"], severity=0.6, seed=3)
    result = restore(
        damaged, "clean it up but don't remove the noise", config=AgentConfig(small_side=0)
    )
    assert "denoise" not in [s.task for s in result.trace.steps]
    assert all(TASK_FOR_TYPE.get(t) != "denoise" for s in result.trace.steps for t in s.targets)


def test_decision_value_rewards_rolling_back_harmful_steps() -> None:
    from restora.agent.bench import decision_value

    rows = [
        {
            "task": "deblur",
            "residual": 0.9,
            "others": 0.2,
            "quality": 50.0,
            "candidates": [
                {
                    "expert": "a",
                    "residual": 0.2,
                    "others": 0.2,
                    "quality": 5.0,
                    "fidelity": 0.99,
                    "gain": -1.5,
                },
            ],
        }
    ]
    keep_all, _ = decision_value(rows, (1.0, 0.0, 0.0), 0.0, 0.7, 101.0)
    guarded, right = decision_value(rows, (1.0, 0.0, 0.0), 0.0, 0.7, 20.0)
    assert keep_all == pytest.approx(-1.5) and guarded == 0.0 and right == 1.0
