"""The fidelity judge (restora.agent.learned_judge, restora.agent.change): what a step changed,
the model, its weights, and how the agent uses it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from restora.agent.change import CHANGE_NAMES, change_features
from restora.agent.learned_judge import (
    INPUT_NAMES,
    JudgeModel,
    JudgeModelConfig,
    LearnedJudge,
    judge_inputs,
    shipped_judge_available,
)
from restora.quality.statistics import estimate_noise_sigma
from restora.types import Analysis, Degradation, QualityScore
from restora.vocabulary import DEGRADATION_TYPES

SHIPPED = shipped_judge_available()


class SigmaAnalyzer:
    """Reads noise from the blind noise estimate (so a denoised image reads cleaner)."""

    def __init__(self) -> None:
        self.calls = 0

    def analysis(self, image: np.ndarray) -> Analysis:
        self.calls += 1
        scores = {t: 0.01 for t in DEGRADATION_TYPES}
        scores["noise"] = float(np.clip(estimate_noise_sigma(image) / 15.0, 0.0, 1.0))
        found = (Degradation("noise", 0.5, scores["noise"]),) if scores["noise"] > 0.4 else ()
        return Analysis(found, "test", QualityScore(50, "fair"), scores)


def _clean(size: int = 128) -> np.ndarray:
    from skimage import data

    image = data.astronaut()[100 : 100 + size, 150 : 150 + size].astype(np.float32) / 255.0
    return np.ascontiguousarray(image)


def _noisy(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma / 255, clean.shape).astype(np.float32)
    return np.clip(clean + noise, 0, 1).astype(np.float32)


def test_change_features_tell_a_noise_residual_from_a_content_residual() -> None:
    clean = _clean()
    noisy = _noisy(clean, 20)
    blurred = cv2.GaussianBlur(noisy, (0, 0), 2.0)
    ideal = dict(zip(CHANGE_NAMES, change_features(noisy, clean), strict=True))
    blurry = dict(zip(CHANGE_NAMES, change_features(noisy, blurred), strict=True))
    for named in (ideal, blurry):
        assert all(np.isfinite(v) for v in named.values())
    # removing exactly the noise leaves a residual that does not follow the edges
    assert ideal["residual_edge_correlation"] < 0.3 < blurry["residual_edge_correlation"]
    assert (
        ideal["residual_output_detail_correlation"] < blurry["residual_output_detail_correlation"]
    )
    assert blurry["log_band1_ratio"] < ideal["log_band1_ratio"] < 0
    # an unchanged image: nothing removed, full fidelity
    same = dict(zip(CHANGE_NAMES, change_features(noisy, noisy), strict=True))
    assert same["mean_abs_change"] == 0.0 and same["low_frequency_fidelity"] == pytest.approx(1)
    with pytest.raises(ValueError, match="shapes differ"):
        change_features(noisy, noisy[:64])


def test_input_measurements_are_made_once_per_input_and_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import restora.agent.learned_judge as learned
    from restora.agent.change import measure_input

    noisy = _noisy(_clean(), 20)
    candidates = [cv2.GaussianBlur(noisy, (0, 0), s) for s in (0.8, 1.5, 3.0)]
    measured = measure_input(noisy)
    for after in candidates:  # measured once or inside: the same vector, bit for bit
        assert np.array_equal(
            change_features(noisy, after, measured=measured), change_features(noisy, after)
        )
    calls: list[int] = []

    def counted(image: np.ndarray) -> object:
        calls.append(1)
        return measure_input(image)

    monkeypatch.setattr(learned, "measure_input", counted)
    judge = LearnedJudge(analyzer=SigmaAnalyzer(), model=_random_model(2))
    before = judge.assess(noisy)
    for after in candidates:
        judge.prediction(noisy, before, after, 50.0, ("denoise",))
    assert len(calls) == 1


def test_change_features_take_grey_and_flat_images() -> None:
    flat = np.full((40, 40, 3), 0.5, np.float32)
    grey = _clean(64).mean(axis=2)
    for before, after in ((flat, flat), (grey, grey[::-1].copy())):
        features = change_features(before, after)
        assert features.shape == (len(CHANGE_NAMES),) and np.all(np.isfinite(features))


def _random_model(seed: int = 0, hidden: int = 8) -> JudgeModel:
    rng = np.random.default_rng(seed)
    count = len(INPUT_NAMES)
    tensors = {
        "mean": rng.normal(size=count),
        "std": rng.random(count) + 0.5,
        "w1": rng.normal(size=(hidden, count)) * 0.3,
        "b1": rng.normal(size=hidden),
        "w2": rng.normal(size=(2, hidden)) * 0.3,
        "b2": rng.normal(size=2),
    }
    return JudgeModel(JudgeModelConfig(INPUT_NAMES, hidden, 10.0), tensors)


def test_inputs_have_the_named_order() -> None:
    change = np.arange(len(CHANGE_NAMES), dtype=np.float32)
    scores = {"noise": 0.9, "haze": 0.2}
    inputs = judge_inputs(change, scores, 40.0, 50.0, ("denoise", "dehaze"))
    named = dict(zip(INPUT_NAMES, inputs, strict=True))
    assert named["p_noise"] == pytest.approx(0.9) and named["p_blur"] == 0.0
    assert named["quality_change"] == pytest.approx(0.1)
    assert named["task_denoise"] == named["task_dehaze"] == 1.0 and named["task_deblur"] == 0.0


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = _random_model()
    path = model.save(tmp_path / "judge", {"note": "test"})
    loaded = JudgeModel.load(path.parent)
    assert loaded.config == model.config
    x = np.random.default_rng(1).normal(size=(5, len(INPUT_NAMES)))
    gain, helps = loaded.predict_both(x)
    np.testing.assert_allclose(gain, model.predict(x), rtol=1e-5, atol=1e-5)
    assert gain.shape == helps.shape == (5,) and np.all((helps > 0) & (helps < 1))


def test_a_model_with_other_inputs_or_none_is_refused(tmp_path: Path) -> None:
    import json

    from restora.errors import NotAvailableError

    with pytest.raises(NotAvailableError, match=r"restora\.training\.judge"):
        JudgeModel.load(tmp_path)
    path = _random_model().save(tmp_path / "judge")
    config = json.loads((path.parent / "judge.json").read_text())
    config["features"] = config["features"][:-1]
    (path.parent / "judge.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="INPUT_NAMES"):
        JudgeModel.load(path.parent)


def test_candidates_are_judged_without_an_analysis_and_the_kept_state_with_one() -> None:
    import restora
    from restora.agent.planning import AgentConfig

    noisy = _noisy(_clean(64), 25)
    analyzer = SigmaAnalyzer()
    judge = LearnedJudge(analyzer=analyzer, model=_random_model(2), confidence=0.0)
    result = restora.restore(
        noisy, "remove the noise", judge=judge, config=AgentConfig(small_side=0)
    )
    (step,) = [s for s in result.trace.steps if s.task == "denoise"]
    scored = [a for a in step.attempts if a.score is not None]
    assert len(scored) >= 2 and all(np.isfinite(a.score or np.nan) for a in scored)
    # one analysis of the photo, one of its decision state, one of the kept candidate at most
    assert analyzer.calls <= 3 + len(result.trace.steps)
    if step.kept:
        assert step.analysis_after is not None and step.analysis_after.caption == "test"


def test_an_unsure_judge_keeps_no_automatic_step_and_returns_the_photo() -> None:
    import restora
    from restora.agent.planning import AgentConfig

    noisy = _noisy(_clean(64), 25)
    model = _random_model(3)
    model.tensors["b2"][:] = (3.0, -20.0)  # a confident gain, but never sure it helps
    model.tensors["w2"][:] = 0.0
    judge = LearnedJudge(analyzer=SigmaAnalyzer(), model=model)
    result = restora.restore(noisy, judge=judge, config=AgentConfig(small_side=0))
    assert result.trace.steps and not result.trace.kept
    assert any("sure it helps" in s.reason for s in result.trace.steps)
    np.testing.assert_array_equal(result.rgb, noisy)
    # asked, the same step is kept: the best candidate is predicted to gain
    asked = restora.restore(noisy, "denoise", judge=judge, config=AgentConfig(small_side=0))
    assert asked.trace.kept


def test_the_end_check_returns_the_photo_when_the_chain_is_not_sure_to_help() -> None:
    judge = LearnedJudge(analyzer=SigmaAnalyzer(), model=_random_model(4))
    noisy = _noisy(_clean(64), 25)
    before = judge.assess(noisy)
    judge.model.tensors["b2"][:] = (2.0, 30.0)  # type: ignore[union-attr]
    judge.model.tensors["w2"][:] = 0.0  # type: ignore[union-attr]
    after = judge.assess_candidate(noisy * 0.9)
    assert judge.improves(noisy, before, noisy * 0.9, after, ("noise",), tasks=("denoise",))[0]
    judge.model.tensors["b2"][:] = (2.0, -30.0)  # type: ignore[union-attr]
    better, why = judge.improves(noisy, before, noisy * 0.9, after, ("noise",), ("denoise",))
    assert not better and "sure it helps" in why


@pytest.mark.skipif(not SHIPPED, reason="the fidelity judge's weights are not installed")
def test_the_shipped_judge_ranks_a_denoise_above_added_noise_and_a_blur() -> None:
    from restora.experts import get_expert

    clean = _clean(192)
    noisy = _noisy(clean, 25)
    denoised = get_expert("nafnet_denoise")(noisy)
    worse = _noisy(noisy, 20, seed=5)
    blurred = cv2.GaussianBlur(noisy, (0, 0), 3.0)
    judge = LearnedJudge()
    before = judge.assess(noisy)
    gains = {
        name: judge.prediction(
            noisy, before, image, judge.no_reference_quality(image), ("denoise",)
        )
        for name, image in (("denoised", denoised), ("worse", worse), ("blurred", blurred))
    }
    assert gains["denoised"][0] > 2.0 and gains["denoised"][1] > 0.8
    assert gains["worse"][0] < 0 and gains["worse"][1] < 0.5
    assert gains["blurred"][0] < gains["denoised"][0]


@pytest.mark.skipif(not SHIPPED, reason="the fidelity judge's weights are not installed")
def test_restore_uses_the_fidelity_judge_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import restora
    import restora.quality.statistics as statistics
    from restora.agent.learned_judge import shipped_judge

    assert type(shipped_judge()) is LearnedJudge
    noisy = _noisy(_clean(96), 20)
    # camera noise's candidates (Gaussian noise is white: the Gaussian network alone)
    monkeypatch.setattr(statistics, "has_white_noise", lambda image: False)
    result = restora.restore(noisy, "remove the noise")
    (step,) = [s for s in result.trace.steps if s.task == "denoise"]
    assert "sure it helps" in step.reason
    # experts that take a strength were also tried at other strengths
    strengths = {a.params.get("strength") for a in step.attempts if a.expert == "ffdnet"}
    assert len(strengths) >= 3


def test_an_ensemble_is_one_model_that_outputs_the_mean() -> None:
    from restora.training.judge import ensemble

    members = [_random_model(seed) for seed in (5, 6, 7)]
    for member in members[1:]:  # the members share the standardisation
        member.tensors["mean"], member.tensors["std"] = (
            members[0].tensors["mean"],
            members[0].tensors["std"],
        )
        member.tensors["w3"], member.tensors["b3"] = (
            member.tensors.pop("w2"),
            member.tensors.pop("b2"),
        )
        member.tensors["w2"], member.tensors["b2"] = np.eye(8), np.zeros(8)
    members[0].tensors["w3"], members[0].tensors["b3"] = (
        members[0].tensors.pop("w2"),
        members[0].tensors.pop("b2"),
    )
    members[0].tensors["w2"], members[0].tensors["b2"] = np.eye(8), np.zeros(8)
    joined = ensemble(members)
    x = np.random.default_rng(2).normal(size=(6, len(INPUT_NAMES)))
    expected = np.mean([m.raw(x)[1] for m in members], axis=0)
    np.testing.assert_allclose(joined.raw(x)[1], expected, rtol=1e-9, atol=1e-9)
    assert joined.config.hidden == 24


def test_the_fit_learns_which_candidate_helps() -> None:
    from restora.training.judge import FitConfig, Table, evaluate, fit

    rng = np.random.default_rng(0)
    count = 240
    inputs = rng.normal(size=(count, len(INPUT_NAMES)))
    column = INPUT_NAMES.index("residual_edge_correlation")
    gains = 3.0 - 4.0 * inputs[:, column] + 0.2 * rng.normal(size=count)
    groups = np.arange(count) // 4
    data = Table(inputs, gains, groups, groups // 3, ["single"] * count, ["full"] * count,
                 np.ones(count, bool))  # fmt: skip
    model = fit(data, FitConfig(steps=300, members=2))
    gain, helps = model.predict_both(inputs)
    found = evaluate(gain, helps, data, 0.8)
    assert found["pair_accuracy"] > 0.9 and found["kendall_tau"] > 0.6
    assert np.mean((helps > 0.5) == (gains > 0.1)) > 0.85


def test_a_bigger_change_needs_a_bigger_predicted_gain() -> None:
    from restora.agent.learned_judge import HELPS_DB, LearnedJudge, required_gain

    small, large = np.log1p(1.0), np.log1p(60.0)  # RMS change of 1 and 60 (8-bit units)
    assert required_gain(small) == pytest.approx(HELPS_DB)  # a 48 dB change: no extra need
    assert required_gain(large) > 1.0 > HELPS_DB
    judge = LearnedJudge(analyzer=SigmaAnalyzer(), model=_random_model(), confidence=0.5)
    assert judge.keeps(0.5, asked=False, confidence=0.9, needed=required_gain(small))
    assert not judge.keeps(0.5, asked=False, confidence=0.9, needed=required_gain(large))
    assert judge.keeps(0.5, asked=True, confidence=0.1, needed=required_gain(large))


class TwoTypes(SigmaAnalyzer):
    """Finds noise and JPEG blocks in everything."""

    def analysis(self, image: np.ndarray) -> Analysis:
        scores = {t: 0.01 for t in DEGRADATION_TYPES}
        scores.update(noise=0.9, jpeg=0.9)
        found = (Degradation("noise", 0.5, 0.9), Degradation("jpeg", 0.5, 0.9))
        return Analysis(found, "test", QualityScore(50, "fair"), scores)


def test_the_last_check_keeps_the_longest_run_of_steps_that_helps() -> None:
    import restora
    from restora.agent.planning import AgentConfig

    class OnlyTheFirstStepHelps(LearnedJudge):
        def improves(self, received, before, result, after, targets, tasks=()):  # type: ignore[no-untyped-def]
            return len(tasks) == 1, f"{'+'.join(tasks)} judged"

    model = _random_model(5)
    model.tensors["w2"][:] = 0.0
    model.tensors["b2"][:] = (3.0, 30.0)  # every candidate: +3 dB, sure
    judge = OnlyTheFirstStepHelps(analyzer=TwoTypes(), model=model)
    noisy = _noisy(_clean(64), 25)
    result = restora.restore(noisy, judge=judge, config=AgentConfig(small_side=0))
    kept = [s.task for s in result.trace.steps if s.kept]
    assert len(kept) == 1 and len(result.trace.steps) >= 2
    assert any("undone at the end" in s.reason for s in result.trace.steps if not s.kept)
    assert not np.array_equal(result.rgb, noisy)  # the first step's result, not the input
