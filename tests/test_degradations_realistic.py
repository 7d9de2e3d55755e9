"""Camera-realistic variants: each runs, is deterministic, records its parameters, and changes
the image the way the physics it models says it should."""

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np
import pytest

from restora import degradations
from restora.degradations import (
    AppliedDegradation,
    blur,
    camera,
    haze,
    jpeg,
    motion,
    noise,
    synthesize,
)
from restora.vocabulary import SYNTHESIS_TYPES


def flat(level: float = 0.5, size: int = 128) -> np.ndarray:
    return np.full((size, size, 3), level, dtype=np.float32)


def high_frequency_energy(plane: np.ndarray) -> float:
    return float(np.abs(cv2.Laplacian(np.ascontiguousarray(plane), cv2.CV_32F)).mean())


def lag_one_correlation(residual: np.ndarray) -> float:
    centred = residual - residual.mean()
    return float((centred[:, 1:] * centred[:, :-1]).mean() / centred.var())


# ---------------------------------------------------------------------------- every type


@pytest.mark.parametrize("type_name", SYNTHESIS_TYPES)
def test_realistic_variant_runs_is_deterministic_and_records_itself(
    small_rgb: np.ndarray, type_name: str
) -> None:
    out, params = degradations.apply(
        type_name, small_rgb, 0.6, np.random.default_rng(3), realistic=True
    )
    again, params_again = degradations.apply(
        type_name, small_rgb, 0.6, np.random.default_rng(3), realistic=True
    )
    other, _ = degradations.apply(
        type_name, small_rgb, 0.6, np.random.default_rng(4), realistic=True
    )
    assert out.dtype == np.float32 and out.ndim == 3 and out.shape[2] == 3
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, again)
    assert params == params_again
    assert not np.array_equal(out, other)
    assert params["variant"] == "realistic"
    if type_name != "low_resolution":
        assert out.shape == small_rgb.shape
    applied = AppliedDegradation(type_name, 0.6, params)
    assert applied.variant == "realistic"
    json.dumps(applied.to_dict())  # every recorded parameter is plain JSON


@pytest.mark.parametrize("type_name", SYNTHESIS_TYPES)
def test_classic_default_is_unchanged_and_has_no_variant_key(
    small_rgb: np.ndarray, type_name: str
) -> None:
    out, params = degradations.apply(type_name, small_rgb, 0.5, np.random.default_rng(9))
    same, same_params = degradations.apply(
        type_name, small_rgb, 0.5, np.random.default_rng(9), realistic=False
    )
    np.testing.assert_array_equal(out, same)
    assert params == same_params and "variant" not in params
    assert AppliedDegradation(type_name, 0.5, params).variant == "classic"


@pytest.mark.parametrize("type_name", SYNTHESIS_TYPES)
def test_realistic_variant_on_a_grey_and_an_odd_sized_image(type_name: str) -> None:
    grey = np.linspace(0.0, 1.0, 37 * 23, dtype=np.float32).reshape(37, 23)
    out, _ = degradations.apply(type_name, grey, 0.7, np.random.default_rng(1), realistic=True)
    assert np.isfinite(out).all() and out.shape[2] == 3


# ------------------------------------------------------------------------ camera pipeline


def test_unprocess_then_develop_is_close_to_identity(astronaut: np.ndarray) -> None:
    cam = camera.random_camera(np.random.default_rng(0))
    back = camera.develop(camera.unprocess(astronaut, cam), cam)
    assert 10 * np.log10(1.0 / np.mean((back - astronaut) ** 2)) > 40.0


def test_read_noise_follows_the_log_linear_line_of_brooks_et_al() -> None:
    for shot in (1e-4, 1e-3, 1e-2):
        read = camera.read_noise_for_shot(shot)
        assert np.log(read) == pytest.approx(2.18 * np.log(shot) + 1.20)
    assert camera.read_noise_for_shot(1e-3, 1.0) > camera.read_noise_for_shot(1e-3)
    assert camera.iso_for_shot(camera.shot_for_iso(1600)) == pytest.approx(1600)


def test_sensor_noise_is_signal_dependent_in_the_raw_domain() -> None:
    field = np.random.default_rng(0).standard_normal((256, 256), dtype=np.float32)
    shot, read = 0.01, camera.read_noise_for_shot(0.01)
    dark = camera.add_sensor_noise(np.full((256, 256), 0.05, np.float32), shot, read, field)
    bright = camera.add_sensor_noise(np.full((256, 256), 0.8, np.float32), shot, read, field)
    assert bright.std() > 3.0 * dark.std()
    assert bright.std() == pytest.approx(np.sqrt(0.8 * shot + read), rel=0.05)


def test_sigma_means_the_developed_noise_on_mid_grey() -> None:
    """Without in-camera processing the measured noise matches the requested sigma."""
    none = camera.CaptureProfile(raw_developed_probability=1.0, sharpen_probability=0.0)
    image = flat(0.5, 256)
    for sigma in (5.0, 15.0, 30.0):
        out, params = camera.capture(
            image,
            np.random.default_rng(2),
            sigma=sigma,
            demosaic_method="bilinear",
            downscale=1.0,
            jpeg_quality=0,
            profile=none,
        )
        assert params["sigma"] == pytest.approx(sigma, rel=0.01)
        assert 255.0 * (out - image).std() == pytest.approx(sigma, rel=0.15)


def test_camera_noise_grows_with_iso() -> None:
    image = flat(0.4)
    spreads = []
    for iso in (200, 800, 3200, 12800):
        out, params = noise.add_noise(
            image, 0.5, np.random.default_rng(5), realistic=True, iso=iso, jpeg_quality=0
        )
        assert params["iso"] == iso and params["kind"] == "camera"
        spreads.append(float((out - image).std()))
    assert spreads == sorted(spreads) and spreads[-1] > 4 * spreads[0]


def test_camera_noise_level_follows_severity_for_one_seed() -> None:
    image = flat(0.5)
    spreads = [
        float(
            (noise.add_noise(image, s, np.random.default_rng(8), realistic=True)[0] - image).std()
        )
        for s in (0.1, 0.3, 0.6, 1.0)
    ]
    assert spreads == sorted(spreads)


def test_camera_noise_is_coloured_and_spatially_correlated() -> None:
    """Demosaicing spreads each raw sample over neighbours and the colour matrix mixes
    channels: unlike i.i.d. Gaussian noise, neighbouring residuals correlate."""
    image = flat(0.5, 256)
    real, _ = noise.add_noise(
        image, 0.3, np.random.default_rng(0), realistic=True, jpeg_quality=0, downscale=1
    )
    white, _ = noise.add_noise(image, 0.3, np.random.default_rng(0), kind="gaussian")
    assert lag_one_correlation((real - image).mean(axis=2)) > 0.3
    assert abs(lag_one_correlation((white - image).mean(axis=2))) < 0.05


def test_noise_after_downscaling_is_finer_at_the_same_level() -> None:
    image = flat(0.5, 256)
    kwargs: dict[str, Any] = {"realistic": True, "jpeg_quality": 0, "demosaic": "bilinear"}
    full, _ = noise.add_noise(image, 0.3, np.random.default_rng(0), downscale=1, **kwargs)
    shrunk, params = noise.add_noise(image, 0.3, np.random.default_rng(0), downscale=2, **kwargs)
    assert params["downscale"] == 2.0
    assert lag_one_correlation((shrunk - image).mean(axis=2)) < lag_one_correlation(
        (full - image).mean(axis=2)
    )
    assert (shrunk - image).std() == pytest.approx((full - image).std(), rel=0.3)


def test_chroma_denoising_leaves_less_colour_noise() -> None:
    image = flat(0.5, 256)
    plain = camera.CaptureProfile(raw_developed_probability=0.0, denoise_probability=0.0)
    chroma_nr = camera.CaptureProfile(raw_developed_probability=0.0, denoise_probability=1.0)
    common: dict[str, Any] = {"sigma": 20.0, "downscale": 1.0, "jpeg_quality": 0}
    raw_out, _ = camera.capture(image, np.random.default_rng(1), profile=plain, **common)
    nr_out, params = camera.capture(image, np.random.default_rng(1), profile=chroma_nr, **common)
    assert params["chroma_denoise"] > 0

    def chroma_noise(out: np.ndarray) -> float:
        return float(cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)[:, :, 1:].std())

    assert chroma_noise(nr_out) < 0.8 * chroma_noise(raw_out)


# --------------------------------------------------------------------------------- JPEG


@pytest.mark.parametrize("chain", jpeg.CHAINS)
def test_compression_chains_record_their_steps(small_rgb: np.ndarray, chain: str) -> None:
    out, params = jpeg.add_jpeg(
        small_rgb, 0.4, np.random.default_rng(0), realistic=True, chain=chain
    )
    single, _ = jpeg.add_jpeg(small_rgb, 0.4, np.random.default_rng(0))
    assert params["kind"] == chain and params["quality"] == jpeg.quality_for_severity(0.4)
    assert params["subsampling"] == "4:2:0" and 1 <= params["first_quality"] <= 100
    assert ("shift" in params) == (chain == "double")
    assert ("scale" in params) == (chain != "double")
    if chain == "messenger":
        assert 1280 <= params["long_side"] <= 1600
    assert not np.array_equal(out, single)


def test_chroma_subsampling_blurs_chroma_more_than_luma(astronaut: np.ndarray) -> None:
    image = np.ascontiguousarray(astronaut[:256, :256])
    out, _ = jpeg.add_jpeg(
        image, 0.0, np.random.default_rng(0), realistic=True, chain="double", quality=95
    )
    before, after = (cv2.cvtColor(x, cv2.COLOR_RGB2YCrCb) for x in (image, out))
    luma_kept = high_frequency_energy(after[:, :, 0]) / high_frequency_energy(before[:, :, 0])
    chroma_kept = np.mean(
        [
            high_frequency_energy(after[:, :, c]) / high_frequency_energy(before[:, :, c])
            for c in (1, 2)
        ]
    )
    assert chroma_kept < 0.8 * luma_kept


def test_lower_final_quality_means_more_blocking(astronaut: np.ndarray) -> None:
    from restora.quality.statistics import blockiness

    image = np.ascontiguousarray(astronaut[:256, :256])
    values = [
        blockiness(jpeg.add_jpeg(image, s, np.random.default_rng(3), realistic=True)[0])
        for s in (0.1, 0.5, 0.9)
    ]
    assert values == sorted(values)


# ---------------------------------------------------------------------------- defocus


def test_polygon_aperture_kernel() -> None:
    disk = blur.polygon_kernel(6.0, blades=0)
    hexagon = blur.polygon_kernel(6.0, blades=6)
    for kernel in (disk, hexagon):
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5) and kernel.min() >= 0
    assert (hexagon > 0).sum() < (disk > 0).sum()  # inscribed in the circle
    rim = blur.polygon_kernel(6.0, rim=0.6)
    centre = rim.shape[0] // 2
    assert rim[centre, centre + 5] > rim[centre, centre]  # bright edge


def test_defocus_blurs_only_away_from_the_focused_depth(astronaut: np.ndarray) -> None:
    image = np.ascontiguousarray(astronaut[100:228, 150:406])  # 128 x 256
    depth = np.zeros(image.shape[:2], np.float32)
    depth[:, 128:] = 1.0
    out, params = blur.add_blur(
        image,
        0.8,
        np.random.default_rng(0),
        realistic=True,
        depth=depth,
        focus_depth=0.0,
        camera=False,
    )
    assert params["depth"] == "given" and params["kind"] == "lens_defocus"
    grey_in, grey_out = (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (image, out))
    near = high_frequency_energy(grey_out[:, 8:110]) / high_frequency_energy(grey_in[:, 8:110])
    far = high_frequency_energy(grey_out[:, 146:248]) / high_frequency_energy(grey_in[:, 146:248])
    assert near > 0.9 and far < 0.35
    assert params["blurred_fraction"] == pytest.approx(0.5, abs=0.02)


def test_defocus_strength_follows_severity(small_rgb: np.ndarray) -> None:
    sharpness = [
        high_frequency_energy(
            cv2.cvtColor(
                blur.add_blur(small_rgb, s, np.random.default_rng(4), realistic=True)[0],
                cv2.COLOR_RGB2GRAY,
            )
        )
        for s in (0.1, 0.4, 0.8)
    ]
    assert sharpness == sorted(sharpness, reverse=True)


# ---------------------------------------------------------------------- camera shake


def test_boracchi_trajectory_is_a_unit_length_path_from_the_origin() -> None:
    points, params = motion.boracchi_trajectory(np.random.default_rng(0))
    assert points.shape == (motion.BORACCHI_STEPS, 2)
    np.testing.assert_allclose(points[0], 0.0)
    assert np.linalg.norm(np.diff(points, axis=0), axis=1).sum() == pytest.approx(1.0)
    assert {"centripetal", "gaussian_shake", "big_shake", "big_shakes"} <= set(params)


def test_camera_shake_blurs_more_with_severity_and_ends_with_a_camera(
    small_rgb: np.ndarray,
) -> None:
    grey = cv2.cvtColor(small_rgb, cv2.COLOR_RGB2GRAY)
    energies = []
    for s in (0.1, 0.5, 1.0):
        out, params = motion.add_motion_blur(
            small_rgb, s, np.random.default_rng(6), realistic=True, camera=False
        )
        energies.append(high_frequency_energy(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)))
    assert energies == sorted(energies, reverse=True) and energies[
        -1
    ] < 0.5 * high_frequency_energy(grey)
    _, params = motion.add_motion_blur(small_rgb, 0.5, np.random.default_rng(6), realistic=True)
    assert params["generator"] == "boracchi_foi" and params["camera_jpeg_quality"] >= 88


# ------------------------------------------------------------------------------- rain


def test_rain_adds_oriented_bright_streaks_a_veil_and_layers() -> None:
    image = flat(0.3, 192)
    out, params = degradations.apply(
        "rain",
        image,
        0.8,
        np.random.default_rng(2),
        realistic=True,
        angle=0.0,
        lens_drops=False,
        camera=False,
    )
    residual = (out - image).mean(axis=2)
    assert residual.mean() > 0  # streaks and the veil brighten a dark scene
    gx = cv2.Sobel(residual, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(residual, cv2.CV_32F, 0, 1)
    assert (gx**2).mean() > 2.0 * (gy**2).mean()  # vertical streaks: horizontal gradients
    assert 2 <= params["layers"] <= 3 and len(params["lengths"]) == params["layers"]
    assert params["veil"] > 0 and params["drops"] == 0
    vertical = params["angles"]
    assert all(abs(a) <= 4.0 for a in vertical)


def test_rain_drops_on_the_lens_are_recorded(small_rgb: np.ndarray) -> None:
    _, params = degradations.apply(
        "rain", small_rgb, 0.5, np.random.default_rng(2), realistic=True, lens_drops=True
    )
    assert params["drops"] >= 1


# ------------------------------------------------------------------------------- haze


def test_haze_is_uneven_coloured_and_scatters_blue_more(small_rgb: np.ndarray) -> None:
    saturations, unevenness = [], []
    for seed in range(6):
        out, params = haze.add_haze(
            small_rgb, 0.7, np.random.default_rng(seed), realistic=True, camera=False
        )
        beta = params["beta_rgb"]
        assert beta[2] >= beta[1] >= beta[0] and params["depth"] == "smooth"
        light = np.asarray(params["airlight"])
        saturations.append((light.max() - light.min()) / light.max())
        unevenness.append(float(out.min(axis=2).std()))
    assert max(saturations) > 0.02  # the airlight is not grey
    assert min(unevenness) > 0.02


def test_haze_dark_channel_rises_with_severity(small_rgb: np.ndarray) -> None:
    dark = [
        float(
            haze.add_haze(small_rgb, s, np.random.default_rng(1), realistic=True)[0]
            .min(axis=2)
            .mean()
        )
        for s in (0.1, 0.5, 0.9)
    ]
    assert dark == sorted(dark)


# -------------------------------------------------------------------------- low light


def test_low_light_through_the_camera(small_rgb: np.ndarray) -> None:
    means = []
    for s in (0.2, 0.5, 0.9):
        out, params = degradations.apply(
            "low_light", small_rgb, s, np.random.default_rng(3), realistic=True
        )
        means.append(float(out.mean()))
        assert 2700 <= params["illuminant"] <= 7500 and 400 <= params["iso"] <= 6400
    assert means == sorted(means, reverse=True)
    dark, _ = degradations.apply(
        "low_light", flat(0.3), 0.5, np.random.default_rng(3), realistic=True, iso=6400
    )
    quiet, _ = degradations.apply(
        "low_light", flat(0.3), 0.5, np.random.default_rng(3), realistic=True, iso=400
    )
    assert dark.std() > quiet.std()  # shadow noise grows with the gain


# ------------------------------------------------------------------------------ glass


def _glass(image: np.ndarray, severity: float, seed: int, **options: Any) -> tuple[Any, Any]:
    """A realistic reflection of the upside-down image, without the camera at the end."""
    source = np.ascontiguousarray(image[::-1])
    return degradations.apply(
        "reflection",
        image,
        severity,
        np.random.default_rng(seed),
        realistic=True,
        reflection_source=source,
        camera=False,
        **options,
    )


def test_reflection_is_uneven_ghosted_and_blurred(small_rgb: np.ndarray) -> None:
    out, params = _glass(small_rgb, 0.6, 0, ghost=True)
    low, high = params["weight_range"]
    assert high > 1.5 * low and low < params["weight"] < high
    assert params["ghost"] and params["ghost_shift"] >= 2 and params["source"] == "given"
    # a reflection adds light: it shows most in the dark parts of the scene
    difference = (out - small_rgb).mean(axis=2)
    luma = small_rgb.mean(axis=2)
    assert difference[luma < 0.25].mean() > difference[luma > 0.6].mean()


def test_regional_reflection_covers_part_of_the_frame(small_rgb: np.ndarray) -> None:
    from restora.degradations.reflection import reflection_region

    kinds = set()
    for seed in range(9):
        mask, kind = reflection_region(64, 96, np.random.default_rng(seed))
        kinds.add(kind)
        assert mask.shape == (64, 96) and 0.05 <= mask.min() <= 0.25 + 1e-6
        assert mask.max() > 0.6 and (mask > 0.5).mean() < 0.85  # a region, not the frame
    assert kinds == {"pane", "half", "patch"}
    out, params = _glass(small_rgb, 0.8, 1, layout="regional")
    assert params["layout"] == "regional" and params["region"] in kinds
    low, high = params["weight_range"]
    assert high > 4.0 * low and 1.0 <= params["reflection_gain"] <= 3.0
    change = np.abs(out - small_rgb).mean(axis=2)
    assert np.quantile(change, 0.9) > 3.0 * np.quantile(change, 0.1)
    with pytest.raises(ValueError, match="realistic"):
        degradations.apply(
            "reflection", small_rgb, 0.5, np.random.default_rng(0), layout="regional"
        )
    with pytest.raises(ValueError, match="layout"):
        degradations.apply(
            "reflection", small_rgb, 0.5, np.random.default_rng(0), realistic=True, layout="x"
        )


# --------------------------------------------------------------------------- synthesize


def test_realism_zero_reproduces_the_classic_synthesis(small_rgb: np.ndarray) -> None:
    for seed in range(6):
        a, rec_a = synthesize(small_rgb, seed=seed)
        b, rec_b = synthesize(small_rgb, seed=seed, realism=0.0)
        np.testing.assert_array_equal(a, b)
        assert rec_a.to_dict() == rec_b.to_dict()
        assert all(d.variant == "classic" for d in rec_a.degradations)


def test_realism_one_makes_every_step_realistic_and_records_it(small_rgb: np.ndarray) -> None:
    out, record = synthesize(
        small_rgb, "mixed", seed=5, num_types=3, second_order=True, realism=1.0, resize_back=True
    )
    assert out.shape == small_rgb.shape
    assert all(d.variant == "realistic" for d in record.degradations)
    json.dumps(record.to_dict())
    again, record_again = synthesize(
        small_rgb, "mixed", seed=5, num_types=3, second_order=True, realism=1.0, resize_back=True
    )
    np.testing.assert_array_equal(out, again)
    assert record == record_again


def test_realism_per_type_and_mixed_probability(small_rgb: np.ndarray) -> None:
    _, record = synthesize(small_rgb, ["noise", "jpeg"], seed=1, realism={"noise": 1.0})
    variants = {d.type: d.variant for d in record.degradations}
    assert variants == {"noise": "realistic", "jpeg": "classic"}
    counts = {"realistic": 0, "classic": 0}
    for seed in range(30):
        _, record = synthesize(small_rgb, ["blur"], seed=seed, severity=0.3, realism=0.5)
        counts[record.degradations[0].variant] += 1
    assert counts["realistic"] > 5 and counts["classic"] > 5
    _, forced = synthesize(
        small_rgb, ["noise"], seed=0, realism=1.0, options={"noise": {"realistic": False}}
    )
    assert forced.degradations[0].variant == "classic"


def test_realism_is_checked(small_rgb: np.ndarray) -> None:
    from restora.errors import UnknownNameError

    with pytest.raises(ValueError, match="realism"):
        synthesize(small_rgb, ["noise"], seed=0, realism=1.5)
    with pytest.raises(UnknownNameError):
        synthesize(small_rgb, ["noise"], seed=0, realism={"fog": 1.0})


def test_realistic_kinds_have_their_own_caption_words() -> None:
    from restora.degradations.captions import KIND_NOUNS, captions_for

    for params, noun in (
        ({"kind": "camera"}, "high-ISO noise"),
        ({"kind": "lens_defocus"}, "lens blur"),
        ({"kind": "messenger"}, "messenger compression"),
    ):
        type_name = {"camera": "noise", "lens_defocus": "blur", "messenger": "jpeg"}[params["kind"]]
        assert noun in KIND_NOUNS[(type_name, params["kind"])]
        captions = captions_for([{"type": type_name, "severity": 0.6, "params": params}], count=4)
        assert len(captions) == 4
