"""Per-type decision thresholds for real-photo prevalence (restora.training.thresholds)."""

from __future__ import annotations

import numpy as np

from restora.training.thresholds import Budgets, choose_thresholds, leave_one_out_hits


def _clean(values: list[float], types: int = 2) -> np.ndarray:
    return np.tile(np.asarray(values, np.float32)[:, None], (1, types))


def test_threshold_drops_to_find_real_photos_within_the_clean_budget() -> None:
    positives = {0: np.array([0.3, 0.35, 0.9])}
    negatives = _clean([0.01] * 49 + [0.2])  # one clean photo in 50 at 0.2
    thresholds = choose_thresholds(positives, negatives, {}, np.array([0.6, 0.6]))
    assert 0.2 < thresholds[0] <= 0.3  # all three found; the clean photo at 0.2 stays clean
    assert thresholds[1] == np.float32(0.6)  # no real photos of type 1: the trained threshold


def test_clean_budget_raises_a_threshold_that_alarms_too_often() -> None:
    negatives = _clean([0.7] * 10 + [0.0] * 90)  # 10 % of clean photos at 0.7
    thresholds = choose_thresholds({}, negatives, {}, np.array([0.5, 0.5]), Budgets(clean=0.02))
    assert np.all(thresholds > 0.7)


def test_cross_budget_and_floor_hold() -> None:
    positives = {0: np.array([0.1, 0.3])}
    cross = {0: np.array([0.3, 0.3, 0.0, 0.0])}  # half the other-type photos at 0.3
    thresholds = choose_thresholds(
        positives, _clean([0.0] * 20), cross, np.array([0.6, 0.6]), Budgets(cross=0.25)
    )
    assert thresholds[0] > 0.3  # finding the 0.3 photo would flag half the other photos
    loose = choose_thresholds(
        positives, _clean([0.0] * 20), {}, np.array([0.6, 0.6]), Budgets(floor=0.2)
    )
    assert 0.2 <= loose[0] <= 0.3  # the 0.1 photo is under the floor


def test_leave_one_out_is_no_better_than_in_sample() -> None:
    rng = np.random.default_rng(0)
    positives = {0: rng.uniform(0, 1, 12), 1: rng.uniform(0, 1, 8)}
    negatives = rng.uniform(0, 0.5, (60, 2))
    trained = np.array([0.5, 0.5])
    thresholds = choose_thresholds(positives, negatives, {}, trained)
    hits = leave_one_out_hits(positives, negatives, {}, trained)
    for j, found in positives.items():
        assert hits[j] <= int((found.astype(np.float32) >= thresholds[j]).sum())


def test_photos_of_other_types_never_raise_a_threshold() -> None:
    # half the other-type photos score 0.7 (they may carry this damage too) and no real photo
    # of the type is found at any threshold: the trained threshold stays
    cross = {0: np.array([0.7, 0.7, 0.0, 0.0])}
    positives = {0: np.array([0.01, 0.02])}
    thresholds = choose_thresholds(positives, _clean([0.0] * 20), cross, np.array([0.525, 0.5]))
    assert thresholds[0] == np.float32(0.525)
