"""restora.agent: planning rules, quality-guided execution with rollback, trace, API, CLI, report.

Most tests use a deterministic stand-in for the analyzer (noise probability from the classical
noise estimate) inside the default judge, or tiny random analyzer weights, so they do not depend
on the trained model; the last ones use the shipped weights and skip when they are absent.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.agent import AgentConfig, DefaultJudge, execute, plan, restore
from restora.agent.candidates import Candidate, candidates_for
from restora.agent.judge import low_frequency_fidelity, state_score
from restora.agent.planning import TASK_ORDER, Plan, Step, fix_harmful_order
from restora.experts import get_expert
from restora.perception.analyzer import DEFAULT_WEIGHTS
from restora.types import Analysis, Degradation, Intent, QualityScore
from restora.vocabulary import DEGRADATION_TYPES, TASK_FOR_TYPE, TASKS

NO_UPSCALE = AgentConfig(small_side=0)


def judge_with(analyzer: object) -> DefaultJudge:
    """The default judge around a stand-in analyzer; the stand-ins have a crude sense of
    noise only, so the mechanism tests weight the residual most."""
    return DefaultJudge(
        analyzer=analyzer, weight_residual=0.5, weight_others=0.25, weight_quality=0.25
    )


def make_analysis(
    probabilities: dict[str, float],
    threshold: float = 0.5,
    severities: dict[str, float] | None = None,
) -> Analysis:
    present = sorted((t for t, p in probabilities.items() if p >= threshold), key=probabilities.get)
    severity = {**probabilities, **(severities or {})}
    degradations = tuple(
        Degradation(t, severity=severity[t], confidence=probabilities[t]) for t in reversed(present)
    )
    scores = {t: float(probabilities.get(t, 0.0)) for t in DEGRADATION_TYPES}
    return Analysis(degradations, "test", QualityScore(50.0, "fair"), scores)


class NoiseAnalyzer:
    """Stands in for the analyzer: noise probability rises with the estimated noise sigma;
    ``extra`` types are reported present whatever the image."""

    def __init__(self, extra: dict[str, float] | None = None) -> None:
        self.extra = extra or {}
        self.calls = 0

    def analysis(self, image: np.ndarray) -> Analysis:
        from restora.quality.statistics import estimate_noise_sigma

        self.calls += 1
        sigma = estimate_noise_sigma(image)
        found = {"noise": float(np.clip((sigma - 3.0) / 12.0, 0, 1)), **self.extra}
        return make_analysis(found, severities={"noise": sigma / 50.0})


def _severities(analysis: Analysis) -> dict[str, float]:
    return {d.type: d.severity for d in analysis.degradations}


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


def test_candidates_are_sorted_from_the_descriptors_and_respect_the_cost_budget() -> None:
    found = candidates_for("denoise")
    ranks = [c.rank for c in found]
    assert ranks == sorted(ranks) and len(found) >= 2
    fast = candidates_for("denoise", max_seconds_per_mp=20)
    assert fast and all(c.seconds_per_mp <= 20 for c in fast)
    slow = [c.name for c in found if c.seconds_per_mp > 20]
    assert not set(slow) & {c.name for c in fast}
    # a budget no expert meets leaves the fastest one
    (cheapest,) = candidates_for("denoise", max_seconds_per_mp=1e-9)
    assert cheapest.seconds_per_mp == min(c.seconds_per_mp for c in found)
    # an expert of another task that declares it also serves this one is offered, as that task
    dejpeg = candidates_for("dejpeg")
    cross = [c for c in dejpeg if c.cross_task]
    assert cross and all(c.expert.task != "dejpeg" for c in cross)
    assert all(any(r.task == "dejpeg" for r in c.expert.also_serves) for c in cross)


def test_deblur_candidates_follow_the_blur_kind() -> None:
    def first_handling(targets: tuple[str, ...]) -> Candidate:
        return next(c for c in candidates_for("deblur", targets) if c.expert.backend == "classical")

    assert first_handling(("motion_blur",)).name == "wiener_motion"
    assert first_handling(("blur",)).name == "wiener"
    last = candidates_for("deblur", ("motion_blur",))[-1]
    assert "motion_blur" not in last.expert.handles


def test_parameters_come_from_the_analysis() -> None:
    nlm = Candidate(get_expert("nlm"), "denoise", 20, {"sigma": "noise_sigma"})
    image = np.zeros((8, 8, 3), np.float32)
    found = make_analysis({"noise": 0.5})
    assert nlm.call_params(image, "normal", None, found)["sigma"] == pytest.approx(25.0)
    # not reported: the expert estimates it itself
    assert "sigma" not in nlm.call_params(image, "normal", None, make_analysis({}))
    as_dejpeg = candidates_for("dejpeg")
    cross = next(c for c in as_dejpeg if c.cross_task)
    sigma_q20 = cross.call_params(image, "normal", None, make_analysis({"jpeg": 0.75}))["sigma"]
    from restora.experts.classical.dejpeg import sigma_for_quality

    assert sigma_q20 == pytest.approx(sigma_for_quality(round(95 - 90 * 0.75)), abs=0.01)


def test_a_registered_learned_expert_is_tried_first(noisy: np.ndarray) -> None:
    from restora.experts import Expert, register, unregister

    register(
        "toy_learned_denoiser", Expert("toy_learned_denoiser", "denoise", "learned", run=_blur)
    )
    try:
        names = [c.name for c in candidates_for("denoise", max_seconds_per_mp=100)]
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
    candidates = tuple(Candidate(get_expert(name), task) for name in experts)
    step = Step(task, ("noise",), source, candidates)
    return Plan((step,), Intent(auto=True), auto=True)


def test_denoising_is_kept_when_it_helps(noisy: np.ndarray, small_rgb: np.ndarray) -> None:
    from restora.quality import psnr

    done = execute(noisy, _one_step_plan("nlm"), judge_with(NoiseAnalyzer()), NO_UPSCALE)
    out, after, trace = done.image, done.after.analysis, done.trace
    (step,) = trace.steps
    assert step.kept and step.expert == "nlm"
    assert step.score_after is not None and step.score_before is not None
    assert step.score_after > step.score_before
    assert psnr(out, small_rgb) > psnr(noisy, small_rgb) + 2
    assert after.scores["noise"] < 0.5


def test_a_step_that_makes_things_worse_is_rolled_back(
    small_rgb: np.ndarray, toy_experts: object
) -> None:
    done = execute(small_rgb, _one_step_plan("toy_noise_adder"), judge_with(NoiseAnalyzer()))
    out, trace = done.image, done.trace
    (step,) = trace.steps
    assert not step.kept and "rolled back" in step.reason
    assert np.array_equal(out, small_rgb)


def test_without_rollback_the_bad_step_stays(small_rgb: np.ndarray, toy_experts: object) -> None:
    config = replace(NO_UPSCALE, rollback=False)
    done = execute(
        small_rgb, _one_step_plan("toy_noise_adder"), judge_with(NoiseAnalyzer()), config
    )
    out, trace = done.image, done.trace
    assert trace.steps[0].kept and not np.array_equal(out, small_rgb)


def test_the_fidelity_guard_rejects_invented_content(
    noisy: np.ndarray, toy_experts: object
) -> None:
    # the gradient is noise-free, so it would score best on the residual; fidelity stops it
    config = replace(NO_UPSCALE, blend_fractions=())
    judge = judge_with(NoiseAnalyzer())
    trace = execute(noisy, _one_step_plan("toy_gradient", "nlm"), judge, config).trace
    (step,) = trace.steps
    gradient, nlm = step.attempts
    assert gradient.expert == "toy_gradient" and not gradient.accepted
    assert "fidelity" in gradient.note and gradient.fidelity is not None
    assert gradient.fidelity < judge.fidelity_floor
    assert step.kept and step.expert == "nlm" and nlm.accepted


def test_an_upscale_is_held_to_interpolation_not_to_its_smaller_source(
    small_rgb: np.ndarray,
) -> None:
    import cv2

    judge = replace(judge_with(NoiseAnalyzer()), max_quality_drop=0.5)
    before = judge.assess(small_rgb)
    h, w = small_rgb.shape[:2]
    enlarged = np.clip(cv2.resize(small_rgb, (4 * w, 4 * h), interpolation=cv2.INTER_CUBIC), 0, 1)
    after = judge.assess(enlarged)
    # enlarging always costs no-reference quality: against its source it would fail the guard
    assert before.quality - after.quality > judge.max_quality_drop
    verdict = judge.verdict(small_rgb, before, enlarged, after, ())
    assert verdict.accepted, verdict.note


def test_a_half_step_is_judged_beside_the_full_one(noisy: np.ndarray) -> None:
    trace = execute(noisy, _one_step_plan("nlm"), judge_with(NoiseAnalyzer()), NO_UPSCALE).trace
    attempts = trace.steps[0].attempts
    assert [(a.expert, a.blend) for a in attempts] == [("nlm", 1.0), ("nlm", 0.5)]
    assert attempts[0].score != attempts[1].score


class LinkedAnalyzer(NoiseAnalyzer):
    """Reports haze exactly as strongly as noise: removing the noise "cures" the haze too."""

    def analysis(self, image: np.ndarray) -> Analysis:
        base = super().analysis(image)
        noise = base.scores["noise"]
        return make_analysis({"noise": noise, "haze": noise}, severities=_severities(base))


def test_steps_the_re_analysis_no_longer_needs_are_skipped(noisy: np.ndarray) -> None:
    analyzer = LinkedAnalyzer()
    analysis = analyzer.analysis(noisy)
    p = plan(analysis, Intent(auto=True), NO_UPSCALE)
    assert p.tasks == ["denoise", "dehaze"]
    done = execute(noisy, p, judge_with(analyzer), NO_UPSCALE, analysis=analysis)
    after, trace = done.after.analysis, done.trace
    assert [s.task for s in trace.steps] == ["denoise"] and trace.steps[0].kept
    assert any("dehaze: skipped" in n for n in trace.notes)
    assert after.is_clean and trace.stopped == "nothing left above threshold"


class SmoothingReadsAsBlurAnalyzer(NoiseAnalyzer):
    """Reports blur and a reflection once the noise is gone (as the real analyzer does after
    NLM and the learned denoiser), and rain."""

    def analysis(self, image: np.ndarray) -> Analysis:
        base = super().analysis(image)
        noise = base.scores["noise"]
        return make_analysis(
            {"noise": noise, "blur": 1.0 - noise, "rain": 1.0 - noise, "reflection": 1.0 - noise},
            severities=_severities(base),
        )


def test_side_effects_of_a_step_are_not_chased(noisy: np.ndarray) -> None:
    analyzer = SmoothingReadsAsBlurAnalyzer()
    analysis = analyzer.analysis(noisy)
    p = plan(analysis, Intent(auto=True), NO_UPSCALE)
    assert p.tasks == ["denoise"]
    kept = p.steps[0].candidates[0].expert
    assert {"blur", "reflection"} <= kept.side_effects  # declared on the descriptor
    trace = execute(noisy, p, judge_with(analyzer), NO_UPSCALE, analysis=analysis).trace
    assert [s.task for s in trace.steps] == ["denoise", "derain"]
    assert any("blur after denoise: a side effect" in n for n in trace.notes)
    assert any("reflection after denoise: a side effect" in n for n in trace.notes)
    assert any("derain: added" in n for n in trace.notes)


def test_time_budget_and_step_limit_stop_the_run(noisy: np.ndarray) -> None:
    analysis = make_analysis({"noise": 0.9, "rain": 0.9, "haze": 0.9})
    p = plan(analysis, Intent(auto=True), NO_UPSCALE)
    judge = judge_with(NoiseAnalyzer({"rain": 0.9, "haze": 0.9}))
    trace = execute(noisy, p, judge, AgentConfig(max_steps=1)).trace
    assert len(trace.steps) == 1 and "step limit" in trace.stopped
    tiny_budget = replace(NO_UPSCALE, time_budget_s=1e-6)
    trace = execute(noisy, p, judge_with(NoiseAnalyzer()), tiny_budget, analysis=analysis).trace
    assert trace.steps == () and "time budget" in trace.stopped


def test_scores_and_fidelity_behave() -> None:
    weights = DefaultJudge().weights
    worse = state_score({"noise": 0.9}, ("noise",), 40.0, weights)
    better = state_score({"noise": 0.1}, ("noise",), 40.0, weights)
    new_blur = state_score({"noise": 0.1, "blur": 0.9}, ("noise",), 40.0, weights)
    # curing the target helps; curing it by adding blur helps less
    assert better.score > new_blur.score > worse.score
    w_r, w_o, w_q = weights
    expected = 100 * (w_r * 0.1 + w_o * 1.0 + w_q * 0.4) / (w_r + w_o + w_q)
    assert worse.score == pytest.approx(expected)
    assert DefaultJudge().combine(0.9, 0.0, 40.0) == pytest.approx(expected)
    rng = np.random.default_rng(0)
    image = rng.random((64, 80, 3), dtype=np.float32)
    assert low_frequency_fidelity(image, image) == pytest.approx(1.0)
    assert low_frequency_fidelity(image, 0.5 * image + 0.2) == pytest.approx(1.0, abs=1e-6)
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    assert low_frequency_fidelity(image, big) > 0.95
    assert low_frequency_fidelity(image, image[::-1, ::-1].copy()) < 0.5


# --------------------------------------------------------------------------------- the API


def test_a_clean_image_passes_through_unchanged(astronaut: np.ndarray) -> None:
    result = restore(astronaut[:300, :300], analyzer=NoiseAnalyzer())
    assert result.quality_before == result.quality_after
    assert result.trace.steps == () and result.plan.steps == ()
    assert np.array_equal(result.rgb, astronaut[:300, :300])
    assert result.trace.stopped == "nothing to do"


def test_restore_respects_the_instructions_exclusion(noisy: np.ndarray) -> None:
    result = restore(noisy, "fix everything except the noise", analyzer=NoiseAnalyzer())
    assert "denoise" in result.intent.exclude
    assert "denoise" not in [s.task for s in result.trace.steps]
    assert "denoise" not in result.plan.tasks


def test_restore_result_json_contract(noisy: np.ndarray) -> None:
    result = restore(noisy, "remove the noise", analyzer=NoiseAnalyzer(), config=NO_UPSCALE)
    data = json.loads(json.dumps(result.to_dict("out.png")))
    assert set(data) >= {"output", "analysis_before", "analysis_after", "intent", "steps"}
    assert data["intent"]["tasks"] == ["denoise"]
    (step,) = data["steps"]
    assert set(step) >= {"task", "expert", "kept", "score_before", "score_after", "seconds"}
    assert step["task"] == "denoise" and step["kept"] is True
    from restora.quality.statistics import has_white_noise

    conditions = ("white noise",) if has_white_noise(noisy) else ()  # Gaussian: white
    limit = NO_UPSCALE.max_seconds_per_mp
    first = candidates_for("denoise", max_seconds_per_mp=limit, conditions=conditions)[0]
    assert step["candidates"] and step["candidates"][0]["expert"] == first.name
    assert data["quality"]["before"] is not None and data["quality"]["model"] == "quality"
    assert any("denoise" in line for line in result.trace.lines())


def test_report_is_self_contained(noisy: np.ndarray, tmp_path: Path) -> None:
    from restora.reports.restoration import write_report

    result = restore(noisy, "remove the noise", analyzer=NoiseAnalyzer(), config=NO_UPSCALE)
    from tests.helpers import parse_report

    path = write_report(result, tmp_path / "r.html")
    report = parse_report(path.read_text())
    images = report.images()
    assert len(images) == 4  # before, after, and the same detail crop of both
    assert images[0].size == images[1].size and images[2].size == images[3].size
    assert "script" not in report.tags
    assert not [s for s in report.sources if s.startswith(("http:", "https:", "//"))]
    assert result.trace.steps[0].expert in report.text and "kept" in report.text


def test_restore_cli_runs_the_agent(
    tiny_weights: Path,
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
    from restora.bench.agent import decision_value

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
    residual_only = DefaultJudge(
        weight_residual=1.0, weight_others=0.0, weight_quality=0.0, improve_margin=0.0
    )
    keep_all, _ = decision_value(rows, replace(residual_only, max_quality_drop=101.0))
    guarded, right = decision_value(rows, replace(residual_only, max_quality_drop=20.0))
    assert keep_all == pytest.approx(-1.5) and guarded == 0.0 and right == 1.0


def test_a_step_predicted_to_overrun_the_budget_is_not_started(noisy: np.ndarray) -> None:
    """The budget is honoured before a step starts, not only between steps: a step whose first
    expert is predicted to take longer than what is left does not run, and the trace says so."""
    from restora.experts import Expert, register, unregister

    calls: list[int] = []

    def slow(image: np.ndarray) -> np.ndarray:
        calls.append(1)
        return image

    register("toy_slow", Expert("toy_slow", "denoise", "classical", run=slow, seconds_per_mp=1e6))
    try:
        p = _one_step_plan("toy_slow")
        done = execute(noisy, p, judge_with(NoiseAnalyzer()), replace(NO_UPSCALE, time_budget_s=5))
    finally:
        unregister("toy_slow")
    assert not calls and done.trace.steps == ()
    assert "would take" in done.trace.stopped and np.array_equal(done.image, noisy)
