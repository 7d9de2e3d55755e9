"""The learned judge (restora.agent.learned_judge): features, model, weights, and the agent."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from restora.agent.judge import Assessment
from restora.agent.learned_judge import (
    FEATURE_NAMES,
    JUDGE_DIR,
    JudgeModel,
    JudgeModelConfig,
    LearnedJudge,
    candidate_features,
)
from restora.quality.statistics import estimate_noise_sigma
from restora.types import Analysis, Degradation, QualityScore
from restora.vocabulary import DEGRADATION_TYPES

SHIPPED = (JUDGE_DIR / "judge.safetensors").is_file()


class SigmaAnalyzer:
    """Reads noise from the blind noise estimate (so a denoised image reads cleaner)."""

    def analysis(self, image: np.ndarray) -> Analysis:
        scores = {t: 0.05 for t in DEGRADATION_TYPES}
        scores["noise"] = float(np.clip(estimate_noise_sigma(image) / 30.0, 0.0, 1.0))
        found = (Degradation("noise", 0.5, scores["noise"]),) if scores["noise"] > 0.4 else ()
        return Analysis(found, "test", QualityScore(50, "fair"), scores)


def _clean(size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur(rng.random((size, size, 3)).astype(np.float32), (0, 0), 4.0)
    ramp = np.linspace(0.2, 0.8, size, dtype=np.float32)[None, :, None]
    return np.clip(0.5 * ramp + 3.0 * (base - base.mean()) + 0.25, 0, 1).astype(np.float32)


def _noisy(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma / 255, clean.shape).astype(np.float32)
    return np.clip(clean + noise, 0, 1).astype(np.float32)


def _assess(image: np.ndarray) -> Assessment:
    return LearnedJudge(analyzer=SigmaAnalyzer()).assess(image)


def test_features_have_the_named_shape_and_are_finite() -> None:
    clean = _clean()
    noisy = _noisy(clean, 25)
    flat = np.full_like(clean, 0.5)  # a flat output: zero Laplacian energy, no structure
    for after in (clean, flat):
        features = candidate_features(noisy, _assess(noisy), after, _assess(after), ("noise",))
        assert features.shape == (len(FEATURE_NAMES),) and features.dtype == np.float32
        assert np.all(np.isfinite(features))
    named = dict(zip(FEATURE_NAMES, features, strict=True))
    assert named["task_denoise"] == 1.0 and named["p_target_before"] > 0.4
    with pytest.raises(ValueError, match="shapes differ"):
        candidate_features(noisy, _assess(noisy), noisy[:48], _assess(noisy[:48]), ("noise",))


def _random_model(seed: int = 0) -> JudgeModel:
    rng = np.random.default_rng(seed)
    count, hidden = len(FEATURE_NAMES), 8
    tensors = {
        "mean": rng.normal(size=count),
        "std": rng.random(count) + 0.5,
        "w1": rng.normal(size=(hidden, count)),
        "b1": rng.normal(size=hidden),
        "w2": rng.normal(size=hidden),
        "b2": rng.normal(size=1),
    }
    return JudgeModel(JudgeModelConfig(FEATURE_NAMES, hidden, 10.0), tensors)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = _random_model()
    path = model.save(tmp_path / "judge", {"note": "test"})
    loaded = JudgeModel.load(path.parent)
    assert loaded.config == model.config
    x = np.random.default_rng(1).normal(size=(5, len(FEATURE_NAMES)))
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-5, atol=1e-5)
    assert JudgeModel.load(path).config.hidden == 8


def test_a_missing_model_says_how_to_train_one(tmp_path: Path) -> None:
    from restora.errors import NotAvailableError

    with pytest.raises(NotAvailableError, match=r"restora\.training\.judge"):
        JudgeModel.load(tmp_path)


@pytest.mark.skipif(not SHIPPED, reason="the learned judge's weights are not installed")
@pytest.mark.xfail(
    strict=True,
    reason="measured: the 48-item model predicts more gain for added noise (it learned 'more "
    "change is better' from brightening/dehazing steps; no noise-adding candidate is in its "
    "training data). Remove this mark when a retrained model passes.",
)
def test_the_shipped_model_ranks_a_denoised_candidate_above_added_noise() -> None:
    clean = _clean()
    noisy = _noisy(clean, 25)
    denoised = cv2.bilateralFilter(noisy, 7, 0.2, 3.0)
    worse = _noisy(noisy, 20, seed=5)
    judge = LearnedJudge(analyzer=SigmaAnalyzer())
    before = judge.assess(noisy)
    good = judge.verdict(noisy, before, denoised, judge.assess(denoised), ("noise",))
    bad = judge.verdict(noisy, before, worse, judge.assess(worse), ("noise",))
    assert good.score.score > bad.score.score
    gain = good.score.score - judge.score(before, ("noise",)).score
    assert judge.keeps(gain, asked=False) is (gain > judge.improve_margin)


def test_the_learned_judge_plugs_into_restore() -> None:
    import restora
    from restora.agent.planning import AgentConfig

    clean = _clean(64)
    noisy = _noisy(clean, 25)
    judge = LearnedJudge(analyzer=SigmaAnalyzer(), model=_random_model(2))
    result = restora.restore(noisy, judge=judge, config=AgentConfig(small_side=0))
    steps = [s for s in result.trace.steps if s.task == "denoise"]
    assert steps and steps[0].attempts
    scored = [a for a in steps[0].attempts if a.score is not None]
    assert scored and all(np.isfinite(a.score or np.nan) for a in scored)
    assert result.rgb.shape == noisy.shape


def test_the_fit_learns_to_rank_candidates_of_one_step() -> None:
    from restora.training.judge import FitConfig, Table, evaluate, fit

    rng = np.random.default_rng(0)
    count = 90
    features = rng.normal(size=(count, len(FEATURE_NAMES)))
    sigma_after = FEATURE_NAMES.index("noise_sigma_after")
    gains = -2.0 * features[:, sigma_after] + 0.1 * rng.normal(size=count)
    groups = np.arange(count) // 3
    data = Table(
        features,
        gains,
        groups,
        groups // 5,
        ["executor"] * count,
        np.zeros(count),
        np.ones(count, bool),
        np.ones(count),
    )
    model = fit(data, FitConfig(steps=300, weight_decay=0.01))
    found = evaluate(model.predict(features), data)
    assert found["pair_accuracy"] > 0.9 and found["spearman"] > 0.8
