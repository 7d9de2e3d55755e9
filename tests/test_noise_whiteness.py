"""White noise (independent per pixel, as synthetic Gaussian noise) against the correlated noise
cameras make: the measurement, and the denoisers it chooses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage import data

from restora.quality.statistics import WHITE_NOISE_MIN_RATIO, has_white_noise, noise_whiteness


def _photo() -> np.ndarray:
    return np.asarray(data.astronaut(), np.float32) / 255.0


@pytest.mark.parametrize("sigma", [10.0, 25.0])
def test_gaussian_noise_is_white(sigma: float) -> None:
    clean = _photo()
    noisy = clean + np.random.default_rng(0).normal(0.0, sigma / 255.0, clean.shape)
    whiteness, level = noise_whiteness(np.clip(noisy, 0, 1).astype(np.float32))
    assert whiteness > 0.9
    assert level == pytest.approx(sigma, rel=0.15)
    assert has_white_noise(np.clip(noisy, 0, 1).astype(np.float32))


def test_correlated_and_camera_noise_are_not_white() -> None:
    clean = _photo()
    rng = np.random.default_rng(0)
    blurred = ndimage.gaussian_filter(rng.normal(0.0, 25 / 255, clean.shape), (1.0, 1.0, 0))
    correlated = np.clip(clean + 2.2 * blurred, 0, 1).astype(np.float32)
    assert noise_whiteness(correlated)[0] < WHITE_NOISE_MIN_RATIO
    assert not has_white_noise(correlated)
    from restora.degradations.camera import capture

    camera, _ = capture(clean, rng, sigma=10.0)
    assert not has_white_noise(np.clip(camera, 0, 1).astype(np.float32))


def test_a_clean_photo_has_no_white_noise() -> None:
    cat = np.asarray(data.chelsea(), np.float32) / 255.0
    assert not has_white_noise(cat)


def test_white_noise_makes_the_gaussian_denoiser_the_candidate() -> None:
    from restora.agent.candidates import candidates_for
    from restora.agent.planning import plan_explicit
    from restora.experts import list_experts
    from restora.types import Intent

    names = {e.name for e in list_experts()}
    if not {"nafnet_denoise", "nafnet_denoise_real"} <= names:
        pytest.skip("the learned denoisers are not installed")
    usual = candidates_for("denoise", ("noise",))
    assert usual[0].expert.name == "nafnet_denoise_real"
    white = candidates_for("denoise", ("noise",), conditions=("white noise",))
    assert [c.expert.name for c in white] == ["nafnet_denoise"]
    steps = plan_explicit(["denoise"], None, None, {}, Intent(), 2, ("white noise",))
    assert [c.expert.name for c in steps.steps[0].candidates] == ["nafnet_denoise"]
    assert any("white noise" in note for note in steps.notes)
    # another task is unaffected
    assert candidates_for("dejpeg", ("jpeg",), conditions=("white noise",)) == candidates_for(
        "dejpeg", ("jpeg",)
    )


def test_an_expert_suited_to_an_unknown_condition_is_refused() -> None:
    from restora.experts.base import Expert

    with pytest.raises(ValueError, match="unknown conditions"):
        Expert("x", "denoise", "classical", run=lambda image: image, suited_to={"pink noise"})


def test_the_agent_measures_whiteness_only_when_a_denoising_step_may_run() -> None:
    from restora.agent.api import _conditions
    from restora.types import Analysis, Degradation, QualityScore

    clean = _photo()
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 0.1, clean.shape), 0, 1)
    noisy = noisy.astype(np.float32)
    quality = QualityScore(50.0, "fair")
    found = Analysis((Degradation("noise", 0.5, 0.9),), "noisy", quality)
    nothing = Analysis((), "clean", quality)
    assert _conditions(noisy, found, (), ()) == ("white noise",)
    assert _conditions(noisy, nothing, ("denoise",), ()) == ("white noise",)
    assert _conditions(noisy, nothing, (), ("noise",)) == ("white noise",)  # unsure of it
    assert _conditions(noisy, nothing, ("deblur",), ()) == ()  # not measured: no denoising
