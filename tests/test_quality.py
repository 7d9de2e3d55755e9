"""restora.quality on images the tests make: registry, conventions, validation, levels."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from scipy import ndimage

import restora.quality as q
from restora.errors import InputError, UnknownNameError
from restora.quality.matlab import imresize, rgb2gray
from restora.quality.niqe import niqe
from restora.quality.piqe import piqe
from restora.quality.registry import ChannelMismatchError, SizeMismatchError
from restora.types import QualityScore
from restora.vocabulary import QUALITY_LEVELS


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma / 255, image.shape), 0, 1).astype(np.float32)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", (image[..., ::-1] * 255).round().astype(np.uint8), [1, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255


@pytest.fixture(scope="module")
def crop(astronaut: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(astronaut[:256, 128:384])


# ----------------------------------------------------------------------------------- registry


def test_registry_lists_required_metrics_with_metadata() -> None:
    names = q.list_metrics()
    for required in ("psnr", "psnr_y", "ssim", "ms_ssim", "gmsd", "vif", "fsim", "niqe", "piqe"):
        assert required in names
    assert set(q.list_metrics("full-reference")) | set(q.list_metrics("no-reference")) == set(names)
    for name in names:
        metric = q.get_metric(name)
        assert metric.kind in ("full-reference", "no-reference")
        assert metric.range[0] < metric.range[1]
        assert metric.convention in ("iqa", "basicsr", "restora")
        assert metric.to_dict()["direction"] in ("higher is better", "lower is better")
    assert not q.get_metric("niqe").higher_is_better
    assert q.get_metric("ssim").higher_is_better


def test_unknown_metric_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="psnr") as info:
        q.get_metric("lpips")
    assert "niqe" in str(info.value)
    with pytest.raises(UnknownNameError):
        q.compute("nope", np.zeros((8, 8)))


# -------------------------------------------------------------------- BasicSR convention


def basicsr_y(image: np.ndarray) -> np.ndarray:
    """Independent restatement of BasicSR's to_y_channel on tensor2img output."""
    img8 = np.round(np.clip(image, 0, 1) * 255).astype(np.float64)
    bgr = img8[..., ::-1].astype(np.float32) / 255.0
    return (np.dot(bgr, [24.966, 128.553, 65.481]) + 16.0).astype(np.float64)


def test_basicsr_psnr_rgb_y_and_crop(crop: np.ndarray) -> None:
    degraded = noisy(crop, 10)
    assert q.psnr(crop, crop) == math.inf
    a8 = np.round(crop.astype(np.float64) * 255)
    b8 = np.round(degraded.astype(np.float64) * 255)
    expected = 10 * np.log10(255**2 / np.mean((a8 - b8) ** 2))
    assert q.psnr(degraded, crop) == pytest.approx(expected, abs=1e-10)
    ya, yb = basicsr_y(degraded), basicsr_y(crop)
    expected_y = 10 * np.log10(255**2 / np.mean((ya - yb) ** 2))
    assert q.psnr(degraded, crop, y_channel=True) == pytest.approx(expected_y, abs=1e-6)
    inner = (slice(4, -4), slice(4, -4))
    cropped = 10 * np.log10(255**2 / np.mean((a8[inner] - b8[inner]) ** 2))
    assert q.psnr(degraded, crop, crop_border=4) == pytest.approx(cropped, abs=1e-10)
    assert q.compute("psnr_y", degraded, crop) == pytest.approx(expected_y, abs=1e-6)


def test_basicsr_ssim_matches_skimage_valid_gaussian(crop: np.ndarray) -> None:
    from skimage.metrics import structural_similarity

    degraded = noisy(crop, 15)
    ya, yb = basicsr_y(degraded), basicsr_y(crop)
    # skimage with Gaussian weights (radius 5, sigma 1.5) averages over the same 'valid' area
    reference = structural_similarity(
        ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert q.ssim(degraded, crop, y_channel=True) == pytest.approx(reference, abs=2e-4)
    assert q.ssim(crop, crop) == pytest.approx(1.0)
    grey = crop.mean(axis=2)
    assert 0 < q.ssim(noisy(grey, 15), grey, crop_border=4) < 1


# ------------------------------------------------------------------------ IQA convention


def test_full_reference_identity_and_monotonicity(crop: np.ndarray) -> None:
    light, heavy = noisy(crop, 5), noisy(crop, 25)
    higher_better = ("psnr", "ssim", "ms_ssim", "vif", "fsim")
    for name in higher_better:
        assert q.compute(name, light, crop) > q.compute(name, heavy, crop), name
    assert q.compute("gmsd", light, crop) < q.compute("gmsd", heavy, crop)
    assert q.compute("ssim", crop, crop) == pytest.approx(1.0)
    assert q.compute("ms_ssim", crop, crop) == pytest.approx(1.0)
    assert q.compute("fsim", crop, crop) == pytest.approx(1.0)
    assert q.compute("vif", crop, crop) == pytest.approx(1.0, abs=1e-6)
    assert q.compute("gmsd", crop, crop) == pytest.approx(0.0, abs=1e-12)


def test_uint8_and_float_inputs_agree(crop: np.ndarray) -> None:
    degraded = noisy(crop, 10)
    as_uint8 = (degraded * 255).round().astype(np.uint8)
    assert q.compute("ssim", as_uint8, crop) == pytest.approx(q.compute("ssim", degraded, crop))


def test_matlab_helpers() -> None:
    # MATLAB: imresize(reshape(0:15, 4, 4)', [3 3]) (bicubic, antialiased), 4-digit printout
    x = np.arange(16, dtype=np.float64).reshape(4, 4)
    expected = [[0.7506, 2.1004, 3.4503], [6.1501, 7.5, 8.8499], [11.5497, 12.8996, 14.2494]]
    np.testing.assert_allclose(imresize(x, 0.75), expected, atol=1e-4)
    assert imresize(np.ones((96, 96)), 0.5).shape == (48, 48)
    np.testing.assert_allclose(imresize(np.full((10, 12), 7.0), 0.5), 7.0)
    rgb = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    np.testing.assert_array_equal(rgb2gray(rgb), [[76, 150, 29]])


# ------------------------------------------------------------------------------ validation


def test_input_errors_are_clear(crop: np.ndarray) -> None:
    with pytest.raises(SizeMismatchError, match="differ in size"):
        q.compute("psnr", crop, crop[:-2])
    with pytest.raises(ChannelMismatchError, match="grey"):
        q.compute("ssim", crop, crop.mean(axis=2))
    with pytest.raises(InputError, match=r"\[0, 1\].*255"):
        q.compute("niqe", crop * 255)
    with pytest.raises(InputError, match="NaN"):
        q.compute("piqe", np.full((32, 32), np.nan))
    with pytest.raises(InputError, match="alpha"):
        q.compute("piqe", np.zeros((32, 32, 4)))
    with pytest.raises(InputError, match="at least 96x96"):
        q.compute("niqe", crop[:50, :50])
    with pytest.raises(InputError, match="reference"):
        q.compute("psnr", crop)


# -------------------------------------------------------------------------- no-reference


def test_niqe_and_piqe_rank_distortions(astronaut: np.ndarray) -> None:
    clean = astronaut
    assert niqe(clean) < niqe(noisy(clean, 20)) < niqe(noisy(clean, 50))
    assert niqe(clean) < niqe(ndimage.gaussian_filter(clean, (3, 3, 0)))
    assert 0 <= piqe(clean) < piqe(noisy(clean, 30)) <= 100
    grey = astronaut.mean(axis=2)
    assert math.isfinite(q.compute("niqe", grey))


# -------------------------------------------------------------------------- levels, words


@pytest.mark.parametrize(
    ("score", "level"),
    [(100, "excellent"), (80, "excellent"), (79.9, "good"), (60, "good"), (45, "fair"),
     (20, "poor"), (19.99, "bad"), (0, "bad")],
)  # fmt: skip
def test_level_for(score: float, level: str) -> None:
    assert q.level_for(score) == level


def test_assess_nr_words_follow_the_defects(astronaut: np.ndarray) -> None:
    clean = q.assess_nr(astronaut)
    assert isinstance(clean, QualityScore)
    assert clean.level in QUALITY_LEVELS and clean.source == "quality"
    assert 0 <= clean.score <= 100
    assert clean.description.startswith(f"{clean.level} quality")

    noise = q.assess_nr(noisy(astronaut, 25))
    assert noise.score < clean.score and "noise" in noise.description
    blocky = q.assess_nr(jpeg(astronaut, 8))
    assert blocky.score < clean.score and "blocks" in blocky.description
    blurred = q.assess_nr(ndimage.gaussian_filter(astronaut, (2.5, 2.5, 0)))
    assert blurred.score < clean.score
    assert "soft" in blurred.description or "blurred" in blurred.description
    dark = q.assess_nr(astronaut * 0.12)
    assert "dark" in dark.description


def test_quality_model_plugs_in_through_the_metric_registry(
    small_rgb: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from restora.quality import registry

    monkeypatch.setattr(registry, "METRICS", dict(registry.METRICS))  # undone after the test
    constant = q.Metric(
        "constant-test", registry.NO_REFERENCE, True, (0.0, 100.0), "any", "restora", lambda _: 42.0
    )
    q.register_metric(constant)
    assert q.quality_models() == ["quality", "quality_classic", "constant-test"]
    judged = q.assess_nr(small_rgb, model="constant-test")
    assert judged.score == 42.0 and judged.level == "fair" and judged.source == "constant-test"
    assert q.compute("constant-test", small_rgb) == 42.0  # an ordinary metric too
    assert q.assess_nr(small_rgb).source == "quality"  # the default is unchanged
    with pytest.raises(ValueError, match="already registered"):
        q.register_metric(constant)
    # lower-is-better or unknown metrics are no quality models; the error lists the valid ones
    for name in ("niqe", "no-such-model"):
        with pytest.raises(UnknownNameError, match="constant-test"):
            q.assess_nr(small_rgb, model=name)
