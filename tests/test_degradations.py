"""Each degradation type checked by a property a reader can verify."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from restora import degradations
from restora.degradations import motion, noise, reflection, resolution
from restora.errors import UnknownNameError
from restora.vocabulary import SYNTHESIS_TYPES


def smooth_image(height: int = 256, width: int = 256) -> np.ndarray:
    """A smooth colour image in [0.3, 0.7]: noise added to it is not clipped, and it has no
    texture of its own for a noise estimator to confuse with noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.5 + 0.2 * np.stack(
        [np.sin(x / 40.0), np.cos(y / 50.0), np.sin((x + y) / 70.0)], axis=2
    )
    return base.astype(np.float32)


def laplacian_variance(image: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def dark_channel(image: np.ndarray, patch: int = 15) -> float:
    """Mean of He et al.'s dark channel: per-pixel channel minimum, then a min filter."""
    minimum = image.min(axis=2)
    return float(cv2.erode(minimum, np.ones((patch, patch), np.uint8)).mean())


def test_registry_has_one_function_per_synthesis_type() -> None:
    assert set(degradations.list_types()) == set(SYNTHESIS_TYPES)
    for name in SYNTHESIS_TYPES:
        assert callable(degradations.get(name))
    assert degradations.add_noise is degradations.get("noise")


def test_unknown_type_lists_the_valid_ones(small_rgb: np.ndarray, rng: np.random.Generator) -> None:
    with pytest.raises(UnknownNameError) as info:
        degradations.apply("fog", small_rgb, 0.5, rng)
    assert "haze" in str(info.value) and "noise" in str(info.value)


@pytest.mark.parametrize("type_name", SYNTHESIS_TYPES)
@pytest.mark.parametrize("severity", [0.0, 0.5, 1.0])
def test_range_dtype_and_determinism(
    small_rgb: np.ndarray, type_name: str, severity: float
) -> None:
    out, params = degradations.apply(type_name, small_rgb, severity, np.random.default_rng(5))
    again, params_again = degradations.apply(
        type_name, small_rgb, severity, np.random.default_rng(5)
    )
    assert out.dtype == np.float32 and out.ndim == 3 and out.shape[2] == 3
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, again)
    assert params == params_again
    if type_name != "low_resolution":
        assert out.shape == small_rgb.shape
    if severity > 0 or type_name in ("blur", "jpeg", "low_resolution", "haze", "low_light"):
        other, _ = degradations.apply(type_name, small_rgb, severity, np.random.default_rng(6))
        if type_name == "jpeg":  # deterministic by design: the seed does not matter
            np.testing.assert_array_equal(out, other)
        else:  # another seed draws other parameters (low_resolution: another kernel)
            assert not np.array_equal(out, other)


@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_noise_sigma_is_recovered_by_an_estimator(sigma: int) -> None:
    from skimage.restoration import estimate_sigma

    clean = smooth_image()
    severity = noise.severity_for_sigma(sigma)
    noisy, params = degradations.add_noise(
        clean, severity, np.random.default_rng(0), kind="gaussian"
    )
    assert params["sigma"] == pytest.approx(sigma)
    estimated = 255.0 * float(np.mean(estimate_sigma(noisy, channel_axis=-1)))
    assert estimated == pytest.approx(sigma, rel=0.10)


@pytest.mark.parametrize("kind", ["poisson_gaussian", "colour"])
def test_noise_kinds_have_their_structure(kind: str) -> None:
    flat_dark = np.full((128, 128, 3), 0.1, np.float32)
    flat_bright = np.full((128, 128, 3), 0.9, np.float32)
    rng = np.random.default_rng(1)
    dark, _ = degradations.add_noise(flat_dark, 0.4, rng, kind=kind, clip=False)
    rng = np.random.default_rng(1)
    bright, params = degradations.add_noise(flat_bright, 0.4, rng, kind=kind, clip=False)
    if kind == "poisson_gaussian":  # signal-dependent: brighter pixels are noisier
        assert bright.std() > 1.5 * dark.std()
    else:  # channels move together
        residual = (bright - 0.9).reshape(-1, 3)
        corr = np.corrcoef(residual.T)[0, 1]
        assert corr == pytest.approx(params["correlation"], abs=0.05)


@pytest.mark.parametrize("severity", [0.05, 0.3, 0.5, 0.8, 1.0])
def test_jpeg_quality_is_recovered_from_quantisation_tables(
    small_rgb: np.ndarray, severity: float
) -> None:
    from restora.degradations.jpeg import (
        decode_jpeg,
        encode_jpeg,
        jpeg_quality_from_quantization_tables,
    )

    out, params = degradations.add_jpeg(small_rgb, severity, np.random.default_rng(0))
    assert params["quality"] == round(95 - 90 * severity)
    data = encode_jpeg(small_rgb, params["quality"])
    assert jpeg_quality_from_quantization_tables(data) == params["quality"]
    np.testing.assert_array_equal(out, decode_jpeg(data))


@pytest.mark.parametrize("kind", ["gaussian", "anisotropic", "defocus", None])
def test_sharpness_falls_monotonically_with_blur_severity(astronaut: np.ndarray, kind) -> None:
    image = np.ascontiguousarray(astronaut[::2, ::2])
    options = {} if kind is None else {"kind": kind}
    variances = [
        laplacian_variance(degradations.add_blur(image, s, np.random.default_rng(3), **options)[0])
        for s in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    assert variances[0] < laplacian_variance(image)
    assert all(a > b for a, b in itertools.pairwise(variances)), variances


def test_motion_blur_sharpness_and_kernel(astronaut: np.ndarray) -> None:
    from restora.degradations.motion import shake_trajectory, trajectory_kernel

    image = np.ascontiguousarray(astronaut[::2, ::2])
    variances = [
        laplacian_variance(degradations.add_motion_blur(image, s, np.random.default_rng(2))[0])
        for s in (0.1, 0.4, 0.7, 1.0)
    ]
    assert all(a > b for a, b in itertools.pairwise(variances)), variances
    kernel = trajectory_kernel(shake_trajectory(np.random.default_rng(0)), 35.0)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
    assert 12 <= kernel.shape[0] <= 2 * 35 + 3
    # a shake path is not a straight line: its support is wider than one pixel across
    ys, xs = np.nonzero(kernel > 1e-4)
    coords = np.stack([xs, ys], axis=1).astype(float)
    coords -= coords.mean(axis=0)
    minor = np.linalg.svd(coords, compute_uv=False)[-1] / np.sqrt(len(coords))
    assert minor > 0.5
    # centred: the blur does not shift the image
    yy, xx = np.mgrid[0 : kernel.shape[0], 0 : kernel.shape[1]]
    centre = (kernel.shape[0] - 1) / 2
    assert float((kernel * xx).sum()) == pytest.approx(centre, abs=0.6)
    assert float((kernel * yy).sum()) == pytest.approx(centre, abs=0.6)


def test_motion_length_reaches_35_px() -> None:
    assert motion.length_for_severity(1.0) == pytest.approx(35.0)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("kernel", ["bicubic", "bilinear", "area", "matlab_bicubic"])
def test_low_resolution_sizes(small_rgb: np.ndarray, scale: int, kernel: str) -> None:
    rng = np.random.default_rng(0)
    low, params = degradations.add_low_resolution(small_rgb, 0.5, rng, scale=scale, kernel=kernel)
    assert low.shape == (-(-96 // scale), -(-128 // scale), 3)
    assert params["scale"] == scale and params["size"] == list(low.shape[:2])
    back, _ = degradations.add_low_resolution(
        small_rgb, 0.5, np.random.default_rng(0), scale=scale, kernel=kernel, resize_back=True
    )
    assert back.shape == small_rgb.shape
    assert laplacian_variance(back) < laplacian_variance(small_rgb)


def test_low_resolution_scale_by_severity() -> None:
    scale = resolution.scale_for_severity
    assert [scale(s) for s in (0.0, 0.3, 0.4, 0.6, 0.7, 1.0)] == [2, 2, 3, 3, 4, 4]


def test_low_light_mean_brightness_falls(astronaut: np.ndarray) -> None:
    image = np.ascontiguousarray(astronaut[::2, ::2])
    means = [
        float(degradations.add_low_light(image, s, np.random.default_rng(4))[0].mean())
        for s in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    ]
    assert means[0] < float(image.mean())
    assert all(a > b for a, b in itertools.pairwise(means)), means
    assert means[-1] < 0.1


def test_low_light_adds_noise_that_grows_in_relative_terms() -> None:
    flat = np.full((96, 96, 3), 0.5, np.float32)
    clean_dark, _ = degradations.add_low_light(flat, 0.8, np.random.default_rng(0), noise=False)
    noisy_dark, _ = degradations.add_low_light(flat, 0.8, np.random.default_rng(0))
    noisy_light, _ = degradations.add_low_light(flat, 0.1, np.random.default_rng(0))
    assert float(clean_dark.std()) < 1e-6
    snr_dark = noisy_dark.mean() / noisy_dark.std()
    snr_light = noisy_light.mean() / noisy_light.std()
    assert snr_dark < snr_light


def test_daylight_underexposure_darkens_without_noise_and_reports_its_severity() -> None:
    from restora.degradations.low_light import add_underexposure

    flat = np.full((32, 32, 3), 0.5, np.float32)
    rng = np.random.default_rng(3)
    seen = []
    for _ in range(12):
        out, params = add_underexposure(flat, rng)
        assert float(out.std()) < 1e-6  # no sensor noise
        assert 0.05 < float(out.mean()) < 0.45
        assert params["variant"] == "daylight" and 0.0 < params["severity"] <= 1.0
        seen.append((float(out.mean()), params["severity"]))
    # the darker the result, the higher the severity (both darkenings on one scale)
    severities = [severity for _, severity in sorted(seen)]
    assert all(a >= b for a, b in itertools.pairwise(severities)), seen


def test_dark_channel_rises_with_haze(astronaut: np.ndarray) -> None:
    image = np.ascontiguousarray(astronaut[::2, ::2])
    values = [
        dark_channel(degradations.add_haze(image, s, np.random.default_rng(9))[0])
        for s in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    assert values[0] > dark_channel(image)
    assert all(a < b for a, b in itertools.pairwise(values)), values


def test_haze_follows_the_scattering_model(small_rgb: np.ndarray) -> None:
    depth = np.full(small_rgb.shape[:2], 0.5, np.float32)
    out, params = degradations.add_haze(
        small_rgb, 0.5, np.random.default_rng(0), depth=depth, airlight=0.9
    )
    t = np.exp(-params["beta"] * 0.5)
    np.testing.assert_allclose(out, small_rgb * t + 0.9 * (1 - t), atol=1e-5)


def test_rain_adds_bright_oriented_streaks(small_rgb: np.ndarray) -> None:
    light, p_light = degradations.add_rain(small_rgb, 0.2, np.random.default_rng(0), angle=0.0)
    heavy, p_heavy = degradations.add_rain(small_rgb, 0.9, np.random.default_rng(0), angle=0.0)
    assert (light >= small_rgb - 1e-6).all()  # additive: never darker
    assert p_heavy["coverage"] > p_light["coverage"] > 0
    assert float((heavy - small_rgb).mean()) > float((light - small_rgb).mean())
    # vertical streaks: the added layer varies more across columns than along them
    layer = (heavy - small_rgb).mean(axis=2)
    assert np.abs(np.diff(layer, axis=1)).mean() > 1.5 * np.abs(np.diff(layer, axis=0)).mean()


def test_reflection_uses_the_given_source_and_weight(small_rgb: np.ndarray) -> None:
    source = np.full((200, 300, 3), 1.0, np.float32)
    out, params = degradations.add_reflection(
        small_rgb, 0.5, np.random.default_rng(0), reflection_source=source, ghost=False
    )
    w = reflection.weight_for_severity(0.5)
    assert params["source"] == "given" and params["weight"] == pytest.approx(w, abs=1e-3)
    np.testing.assert_allclose(out, (1 - w) * small_rgb + w, atol=1e-5)
    pool_out, pool_params = degradations.add_reflection(
        small_rgb, 0.5, np.random.default_rng(0), reflection_source=[source, source * 0]
    )
    assert pool_params["source"].startswith("pool[")
    default_out, default_params = degradations.add_reflection(
        small_rgb, 0.9, np.random.default_rng(0)
    )
    assert default_params["source"].startswith("skimage.data.")
    assert float(np.abs(default_out - small_rgb).mean()) > 0.02
    assert pool_out.shape == small_rgb.shape


def test_grey_input_is_accepted_and_integer_refused(camera: np.ndarray) -> None:
    out, _ = degradations.apply("noise", camera[:64, :64], 0.3, np.random.default_rng(0))
    assert out.shape == (64, 64, 3)
    with pytest.raises(ValueError):
        degradations.apply("noise", (camera * 255).astype(np.uint8), 0.3, np.random.default_rng(0))
    with pytest.raises(ValueError):
        degradations.apply("noise", camera[:64, :64], 1.5, np.random.default_rng(0))


def test_severity_mappings_invert() -> None:
    from restora.degradations import blur, haze, jpeg, low_light, motion, noise, reflection

    for s in (0.0, 0.3, 0.77, 1.0):
        assert noise.severity_for_sigma(noise.sigma_for_severity(s)) == pytest.approx(s)
        assert blur.severity_for_sigma(blur.sigma_for_severity(s)) == pytest.approx(s)
        assert motion.severity_for_length(motion.length_for_severity(s)) == pytest.approx(s)
        assert haze.severity_for_beta(haze.beta_for_severity(s)) == pytest.approx(s)
        assert low_light.severity_for_ev(low_light.ev_for_severity(s)) == pytest.approx(s)
        assert reflection.severity_for_weight(reflection.weight_for_severity(s)) == pytest.approx(s)
        assert jpeg.severity_for_quality(jpeg.quality_for_severity(s)) == pytest.approx(s, abs=0.01)


def test_matlab_imresize_on_known_values() -> None:
    from restora.degradations.resize import imresize

    # a constant image stays constant; away from the borders a ramp x halves to output pixel
    # j = mean of input pixels 2j and 2j+1 (the antialiased cubic kernel is symmetric)
    assert (imresize(np.full((16, 16), 77, np.uint8), 0.5) == 77).all()
    ramp = np.tile(np.arange(32, dtype=np.float64), (8, 1))
    half = imresize(ramp, 0.5)
    assert half.shape == (4, 16)
    np.testing.assert_allclose(
        half[:, 4:-4], np.tile(2 * np.arange(4, 12) + 0.5, (4, 1)), atol=1e-4
    )
    assert imresize(np.zeros((10, 7, 3), np.float32), 0.25).shape == (3, 2, 3)
