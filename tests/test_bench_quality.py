"""``restora bench --task quality``: the LIVE Challenge comparison's folds, rows and table
(tiny fake data; no real benchmark runs)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from restora.bench import quality as bench_quality
from restora.bench import run_named
from restora.errors import InputError


def quality_results() -> dict[str, Any]:
    """A :func:`restora.bench.quality.measure` result with every part filled in."""
    row = {"srcc": 0.5, "plcc": 0.4, "fold_srcc_mean": 0.45, "fold_srcc_std": 0.1}
    return {
        "calibration": [{"metric": "psnr", "ours": [1.0], "official": [1.0], "tolerance": 0.01}],
        "subset_images": 60,
        "subset": [
            {"metric": name, "srcc": 0.5, "plcc": 0.4}
            for name in [*bench_quality.LIVE_METRICS, bench_quality.NIQE_OFFICIAL]
        ],
        "cross_validation": {
            "images": 496,
            "folds": 5,
            "seed": 0,
            "head": "ridge alpha=1000",
            "cache_hits": 496,
            "rows": [{"metric": name, **row} for name in bench_quality.LIVE_METRICS],
        },
        "speed": {
            "photo": "test/x.png",
            "width": 1000,
            "height": 1000,
            "megapixels": 1.0,
            "blas_one_thread": True,
            "repeats": 3,
            "seconds": {"ssim": 0.25, "niqe": 0.15, "quality": 0.4},
            "cpu_seconds": {"ssim": 0.2, "niqe": 0.1, "quality": 0.3},
        },
        "machine": "test box",
    }


def test_the_folds_are_those_the_training_chooses_its_head_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """cross_validate fits on the complement of each of fold_indices' parts, in order."""
    from restora.training import quality as training

    seen: list[np.ndarray] = []

    class Recorder:
        def predict_features(self, x: np.ndarray) -> np.ndarray:
            return x[:, 0]

    def fit(candidate: Any, x: np.ndarray, y: np.ndarray, seed: int) -> Recorder:
        seen.append(np.sort(x[:, 0].astype(int)))
        return Recorder()

    monkeypatch.setattr(training, "fit", fit)
    n = 23
    training.cross_validate(
        training.candidates()[0], np.arange(n)[:, None] * 1.0, np.arange(n) * 1.0, 7
    )
    folds = bench_quality.fold_indices(n, 7)
    assert len(folds) == training.FOLDS == len(seen)
    for held, kept in zip(folds, seen, strict=True):
        np.testing.assert_array_equal(kept, np.setdiff1d(np.arange(n), held))


def test_learned_cv_refits_the_named_head_and_agrees_with_cross_validate() -> None:
    from restora.training.quality import candidates, cross_validate

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6))
    y = x @ np.array([3.0, -2.0, 1.0, 0.0, 0.0, 0.5]) + rng.normal(0, 0.5, 40) + 50
    ridge = candidates()[0]
    result = bench_quality.learned_cv(x, y, ridge.name, 0)
    assert (result["srcc"], result["plcc"]) == tuple(cross_validate(ridge, x, y, 0).values())
    assert result["srcc"] > 0.5 and 0.0 <= result["fold_srcc_std"] < 1.0
    with pytest.raises(InputError, match="not one the training tries"):
        bench_quality.learned_cv(x, y, "ridge alpha=-1", 0)


def test_fixed_cv_averages_srcc_over_the_held_out_parts() -> None:
    mos = np.arange(20.0)
    perfect = bench_quality.fixed_cv(mos * 2, mos, 0)
    assert perfect == pytest.approx(
        {"srcc": 1.0, "plcc": 1.0, "fold_srcc_mean": 1.0, "fold_srcc_std": 0.0}
    )
    scores = mos.copy()
    scores[bench_quality.fold_indices(20, 0)[0]] *= -1  # one fold disagrees
    mixed = bench_quality.fixed_cv(scores, mos, 0)
    assert mixed["fold_srcc_mean"] == pytest.approx(0.6) and mixed["fold_srcc_std"] > 0


def _fake_live(root: Path, split: str, n: int) -> None:
    folder, table = {
        "train": ("LIVE_Challenge_train", "mos.csv"),
        "subset": ("LIVE_Challenge_subset", "mos_subset.csv"),
    }[split]
    images = root / "iqa" / folder / "Images"
    images.mkdir(parents=True)
    from PIL import Image

    rng = np.random.default_rng(len(split))
    with open(images.parent / table, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["image", "mos", "std"])
        for index in range(n):
            sigma = 40.0 * index / n  # noisier photos get lower opinion scores
            base = np.linspace(0, 255, 128)[None, :, None] * np.ones((128, 1, 3))
            pixels = np.clip(base + rng.normal(0, sigma, base.shape), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(images / f"{index}.png")
            writer.writerow([f"{index}.png", 80 - index, 1.0])


def test_cv_rows_score_every_metric_on_the_training_photos(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real wiring on 10 tiny photos: metrics scored, features through a cache in tmp."""
    monkeypatch.setenv("RESTORA_FEATURE_CACHE", str(tmp_path / "cache"))
    _fake_live(tmp_path, "train", 10)
    with bench_quality.one_thread():  # as measure() runs it
        cv = bench_quality.cv_rows(tmp_path, limit=10)
    assert (cv["images"], cv["folds"], cv["seed"]) == (10, 5, 0)
    assert cv["head"] == "ridge alpha=1000"
    assert [row["metric"] for row in cv["rows"]] == [
        "niqe",
        "piqe",
        "brisque",
        "quality_classic",
        "quality",
    ]
    assert all(np.isfinite(row["srcc"]) for row in cv["rows"])
    assert any((tmp_path / "cache").rglob("*.npy"))


def test_the_section_shows_the_five_metrics_side_by_side() -> None:
    text = bench_quality.render(quality_results())
    assert "Written by `restora bench --task quality`." in text
    assert "| quality (learned) | 0.500 | " in text and "| 0.450 ± 0.100 | 0.300 | 1.50x |" in text
    assert "| niqe (official pristine params, reference only) |" in text
    assert (
        "`quality` scores the 1.00 MP photo in 0.300 s of CPU time on one thread (0.400 s" in text
    )
    assert "| quality | 400.0 | 300.0 | 0.300 | 1.50x |" in text
    assert "mean ± standard deviation (ddof 1) of SRCC over the folds' held-out parts" in text


def test_quick_runs_print_and_never_write(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "iqa").mkdir()
    asked: list[bool] = []

    def measure(data: Path, quick: bool = False) -> dict[str, Any]:
        asked.append(quick)
        return quality_results()

    monkeypatch.setattr(bench_quality, "measure", measure)
    target = tmp_path / "BENCHMARKS.md"
    outcome = run_named("quality", tmp_path, quick=True, path=target)
    assert asked == [True] and not target.exists()
    assert "restora bench --task quality --quick" in outcome.markdown
    run_named("quality", tmp_path, quick=False, path=target)
    assert "<!-- BEGIN quality -->" in target.read_text()
