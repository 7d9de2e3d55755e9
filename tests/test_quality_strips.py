"""Bounded memory for the metrics: strip-by-strip computation gives the whole image's numbers,
float inputs are not copied, and the working memory does not grow with the image."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from restora.quality import compute, strips
from restora.quality.levels import _luma_std_mean, blur_amount, measure_cues
from restora.quality.niqe import image_niqe_features, niqe_features
from restora.quality.piqe import piqe_maps
from restora.quality.registry import as_metric_array, get_metric, list_metrics
from restora.quality.statistics import blockiness, estimate_flat_area_noise_sigma


@pytest.fixture(scope="module")
def pair(astronaut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An odd-sized colour crop (no dimension a multiple of any block) and a noisy copy."""
    rng = np.random.default_rng(11)
    image = np.ascontiguousarray(astronaut[5:406, 3:390])
    noisy = np.clip(image + rng.normal(0, 0.04, image.shape), 0, 1).astype(np.float32)
    return noisy, image


def _with_strips(monkeypatch: pytest.MonkeyPatch, budget: int, func: Callable[[], float]) -> float:
    with monkeypatch.context() as patch:
        patch.setattr(strips, "STRIP_PIXELS", budget)
        return func()


@pytest.mark.parametrize("name", list_metrics())
@pytest.mark.parametrize("grey", [False, True])
def test_strips_give_the_whole_image_numbers(
    name: str, grey: bool, pair: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    image, ref = (np.ascontiguousarray(a[..., 1]) if grey else a for a in pair)
    metric = get_metric(name)
    other = ref if metric.needs_reference else None
    whole = compute(name, image, other)
    for budget in (5_000, 40_000):  # one block row per strip, and a few
        split = _with_strips(monkeypatch, budget, lambda: compute(name, image, other))
        assert split == pytest.approx(whole, rel=1e-11, abs=1e-12), (name, budget)
    if name in ("niqe", "piqe"):  # local filters and per-block numbers: exactly the same
        assert _with_strips(monkeypatch, 5_000, lambda: compute(name, image, other)) == whole


def test_niqe_features_and_piqe_masks_are_identical(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    from restora.quality.matlab import rgb2gray

    image = pair[0]
    height, width = (s // 96 * 96 for s in image.shape[:2])
    whole, _ = niqe_features(rgb2gray(image[:height, :width]))
    split, _ = image_niqe_features(image, strip_pixels=96 * width)
    np.testing.assert_array_equal(np.nan_to_num(split, nan=-1), np.nan_to_num(whole, nan=-1))
    full, parts = piqe_maps(image, strip_pixels=10**9), piqe_maps(image, strip_pixels=16)
    assert parts.score == full.score
    for mask in ("active", "artefact", "noise"):
        np.testing.assert_array_equal(getattr(parts, mask), getattr(full, mask))


def test_quality_cues_in_strips(pair: tuple[np.ndarray, np.ndarray]) -> None:
    image = pair[0]
    budget = 3_000
    assert estimate_flat_area_noise_sigma(image, strip_pixels=budget) == pytest.approx(
        estimate_flat_area_noise_sigma(image), rel=1e-12
    )
    assert blur_amount(image, strip_pixels=budget) == pytest.approx(blur_amount(image), rel=1e-12)
    # the whole-image blockiness averages in float32; the strips add up in float64
    assert blockiness(image, strip_pixels=budget) == pytest.approx(blockiness(image), rel=1e-6)
    for whole, split in zip(_luma_std_mean(image), _luma_std_mean(image, budget), strict=True):
        assert split == pytest.approx(whole, rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_percentile_of_chunks_is_numpys(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=int(rng.integers(1, 50_000))) * 10
    if seed % 2:
        values[rng.random(values.size) < 0.6] = 0.0  # a long run of equal values
    if seed % 3 == 2:
        values = np.round(values)
    chunks = np.array_split(values, int(rng.integers(1, 9)))
    q = 40.0 if seed < 3 else float(rng.uniform(0, 100))
    monkeypatch.setattr(strips, "DISTINCT_LIMIT", int(rng.choice([7, 300, 1 << 19])))
    bounds = (float(values.min()), float(values.max())) if seed % 2 else None
    assert strips.percentile_of_chunks(lambda: iter(chunks), q, bounds) == np.percentile(values, q)


def test_float_input_is_not_copied() -> None:
    image = np.random.default_rng(0).random((40, 50, 3), dtype=np.float32)
    checked = as_metric_array(image)
    assert checked.dtype == np.float32 and np.shares_memory(checked, image)
    grey = as_metric_array(image[..., 1])
    assert grey.dtype == np.float32 and np.shares_memory(grey, image)
    wide = as_metric_array(image.astype(np.float64))
    assert wide.dtype == np.float64
    levels = as_metric_array((image * 255).round().astype(np.uint8))
    assert levels.dtype == np.float32  # 8-bit levels are exact in float32
    with pytest.raises(Exception, match="NaN or infinite"):
        as_metric_array(np.where(image > 0.5, np.nan, image))


def _peak_allocation(func: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "name", ["niqe", "piqe", "brisque", "quality", "psnr", "ssim", "gmsd", "fsim"]
)
def test_working_memory_does_not_grow_with_the_image(
    name: str, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 64k-pixel strips, a 2048x512 image costs what a 512x512 one does (gmsd keeps its
    half-size maps, a few bytes per pixel), less than 40 MB: the whole-image code took
    several float64 copies of the 1 MP image (over 75 MB)."""
    monkeypatch.setattr(strips, "STRIP_PIXELS", 1 << 16)
    small = np.ascontiguousarray(astronaut)
    large = np.ascontiguousarray(np.tile(astronaut, (4, 1, 1)))
    metric = get_metric(name)

    def run(image: np.ndarray) -> object:
        if name == "quality":
            from restora.quality import assess_nr

            return assess_nr(image)
        return metric(image, image[::-1] if metric.needs_reference else None)

    run(small)  # imports and caches first
    peak_small = _peak_allocation(lambda: run(small))
    peak_large = _peak_allocation(lambda: run(large))
    added = (large.shape[0] - small.shape[0]) * small.shape[1]
    # FSIM works on the image downscaled by round(shorter side / 256): four times the pixels
    # here, at ~500 bytes each (phase congruency in complex128)
    # (brisque keeps its 8-bit grey image and the half-size copy, 1.25 bytes per pixel)
    growth = {"gmsd": 8.0 * added, "fsim": 500.0 * added / 4, "brisque": 1.25 * added}.get(
        name, 0.0
    )
    assert peak_large < 1.25 * peak_small + growth + 1e6, (name, peak_large, peak_small)
    assert peak_large < 40e6 + growth, (name, peak_large)
    # and the estimate the memory check relies on covers it
    assert metric.working_memory(*large.shape[:2]) >= peak_large, name


def test_measure_cues_keeps_its_words(pair: tuple[np.ndarray, np.ndarray]) -> None:
    whole = measure_cues(pair[0])
    assert whole.defects() == measure_cues(pair[0]).defects()
