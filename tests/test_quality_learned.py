"""The learned quality score (``quality``): a head on the backbone, fitted on human opinion."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from restora.quality import assess_nr, compute, get_metric
from restora.quality.learned import QualityHead, load_head, save_head, shipped_head


def test_quality_is_the_learned_model_and_says_what_it_was_fitted_on() -> None:
    metric = get_metric("quality")
    assert metric.is_quality_model and "LIVE" in metric.description
    assert get_metric("quality_classic").is_quality_model
    head = shipped_head()
    assert head.config["trained_on"].startswith("iqa/LIVE_Challenge_train")
    assert head.spec.variant == "lite0" and head.spec.whole_pixels == 512 * 512


def test_damage_lowers_the_score(astronaut: np.ndarray) -> None:
    import cv2

    rng = np.random.default_rng(0)
    clean = compute("quality", astronaut)
    noisy = compute("quality", np.clip(astronaut + rng.normal(0, 0.1, astronaut.shape), 0, 1))
    blurred = compute("quality", cv2.GaussianBlur(astronaut, (0, 0), 3.0))
    dark = compute("quality", astronaut * 0.08)
    assert min(noisy, blurred, dark) >= 0.0 and clean <= 100.0
    assert clean - noisy > 10 and clean - blurred > 10 and clean - dark > 10


def test_flat_tiny_and_grey_images_get_a_defined_score(camera: np.ndarray) -> None:
    for image in (np.zeros((1, 1, 3)), np.full((64, 64), 0.5), np.ones((3, 500, 3)), camera):
        judgement = assess_nr(image)
        assert np.isfinite(judgement.score) and 0.0 <= judgement.score <= 100.0
        assert judgement.level in ("excellent", "good", "fair", "poor", "bad")


def test_a_large_photo_is_judged_on_the_bounded_view() -> None:
    metric = get_metric("quality")
    assert metric.working_memory(3000, 4000) < 0.3e9  # a float32 copy + the 512 px view
    photo = np.random.default_rng(1).random((1500, 2000, 3)).astype(np.float32)
    assert np.isfinite(compute("quality", photo))


def test_a_head_round_trips_through_its_files(tmp_path: Path) -> None:
    head = shipped_head()
    save_head(head, tmp_path / "h.safetensors", tmp_path / "h.json")
    again = load_head(tmp_path / "h.safetensors", tmp_path / "h.json")
    features = np.random.default_rng(2).normal(size=(3, head.feature_mean.shape[0]))
    np.testing.assert_allclose(
        again.predict_features(features), head.predict_features(features), rtol=1e-5
    )
    assert isinstance(again, QualityHead) and again.spec == head.spec


@pytest.mark.slow
@pytest.mark.needs_data
def test_agrees_with_people_on_held_out_live_challenge_photos(data_dir: Path) -> None:
    """The 60 photos of iqa/LIVE_Challenge_subset were never used for a choice (the model card
    reports SRCC 0.82 there); a broken head or backbone falls far below."""
    from scipy.stats import spearmanr

    from restora.io import load

    folder = data_dir / "iqa" / "LIVE_Challenge_subset"
    with open(folder / "mos_subset.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    scores = [compute("quality", load(folder / "Images" / r["image"]).rgb) for r in rows]
    srcc = spearmanr(scores, [float(r["mos"]) for r in rows])[0]
    assert srcc > 0.75
