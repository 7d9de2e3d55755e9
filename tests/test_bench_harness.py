"""The benchmark harness, the anchor loaders and the DnCNN reproduction check."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from restora.bench.harness import (
    PeakRSS,
    Row,
    _row_dict,
    convention,
    to_markdown,
    update_benchmarks_file,
)


def _report() -> dict:
    row = Row("set5_x4", "bicubic", "expert", images=5, psnr=28.42, ssim=0.81, seconds_per_mp=0.1)
    row.speed_ratio = 1.0
    return {"machine": "test box", "quick": True, "seconds": 1.0, "rows": [_row_dict(row)]}


def test_quick_mode_covers_every_task() -> None:
    from restora.bench.harness import QUICK_DATASETS, TASK_DATASETS

    assert set(QUICK_DATASETS) == set(TASK_DATASETS)
    for task, names in QUICK_DATASETS.items():
        assert set(names) <= set(TASK_DATASETS[task]), task


def test_conventions() -> None:
    assert convention("upscale", {"scale": 4}) == {"crop_border": 4, "y_channel": True}
    assert convention("denoise", {}) == {"crop_border": 0, "y_channel": False}


def test_markdown_and_benchmarks_section(tmp_path: Path) -> None:
    text = to_markdown(_report())
    assert "| bicubic | expert | 5 | 28.42 |" in text and "test box" in text
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# B\n<!-- BEGIN experts -->\nold\n<!-- END experts -->\ntail\n")
    assert update_benchmarks_file(text, target, "restora bench --quick")
    assert update_benchmarks_file("second", target, "restora bench --task x")
    assert update_benchmarks_file(text, target, "restora bench --quick")  # replaces its block
    body = target.read_text()
    assert body.count("### `restora bench --quick`") == 1 and "second" in body
    assert "old" not in body and body.endswith("tail\n")
    assert not update_benchmarks_file(text, tmp_path / "missing.md", "x")


def test_markdown_compares_everyone_on_the_slow_methods_images() -> None:
    """A slow method capped at the first 2 of 3 images gets a column where every method is
    scored on those 2 images only."""
    images = {"a": 20.0, "b": 22.0, "c": 30.0}
    rows = [
        Row("s", "(input)", "input", images=3, psnr=24.0, per_image=dict(images)),
        Row("s", "slow", "expert", images=2, psnr=23.0, per_image={"a": 22.0, "b": 24.0}),
        Row("s", "fast", "expert", images=3, psnr=26.0, per_image={"a": 21.0, "b": 25.0, "c": 32}),
    ]
    report = {"machine": "m", "quick": False, "seconds": 1.0, "rows": [_row_dict(r) for r in rows]}
    text = to_markdown(report)
    assert "PSNR on first 2 |" in text
    assert "| (input) | input | 3 | 24.00 |" in text and "| 21.00 |" in text
    assert "| slow | expert | 2 | 23.00 |" in text and "| 23.00 |" in text.split("slow")[1]
    assert "| 23.00 |" in text.split("| fast |")[1]  # (21 + 25) / 2
    assert "PSNR on first" not in to_markdown(_report())  # no capped method, no column


@pytest.mark.needs_data
def test_backfilled_input_psnrs_match_a_fresh_run(data_dir: Path) -> None:
    from restora.bench.harness import backfill_input_rows, benchmark_dataset

    rows = benchmark_dataset("derain", "rain100l", data_dir, 2, 1, ["guided_derain"])
    fresh = _row_dict(rows[0])
    assert fresh["kind"] == "input" and len(fresh["per_image"]) == 2
    old = {**fresh, "per_image": {}}
    report = {"rows": [old]}
    backfill_input_rows(report, data_dir)
    assert report["rows"][0]["per_image"] == fresh["per_image"]


def test_peak_rss_sees_a_large_allocation() -> None:
    with PeakRSS() as memory:
        block = np.ones((64, 1024, 1024), np.float32)  # 256 MB
        block += 1
    del block
    assert memory.rise_mb > 200


@pytest.mark.slow  # 8 s on 2 CPU cores: two DnCNNs on two full BSD68 images
@pytest.mark.needs_data
def test_dncnn_anchor_subset(data_dir: Path) -> None:
    """KAIR's DnCNN on the first BSD68 images at sigma 25. The full 68-image mean (29.23 dB
    published) is in BENCHMARKS.md (``restora bench --task denoise --method dncnn_kair_25``);
    here two images are checked against that run's per-image values and against the
    independently trained SaoYan DnCNN-S-25, which must agree within 0.1 dB."""
    from restora.bench.anchors import run_anchor
    from restora.bench.datasets import get_dataset
    from restora.quality import psnr

    dataset = get_dataset("bsd68_sigma25", data_dir)
    expected = {"test001": 25.961, "test002": 30.287}
    for index, name in enumerate(expected):
        pair = dataset[index]
        assert pair.name == name
        kair = psnr(run_anchor("dncnn_kair_25", pair.input, pair.meta, data_dir), pair.target)
        saoyan = psnr(run_anchor("dncnn_s25", pair.input, pair.meta, data_dir), pair.target)
        assert kair == pytest.approx(expected[name], abs=0.02)
        assert abs(kair - saoyan) < 0.1
        assert kair > psnr(np.clip(pair.input, 0, 1), pair.target) + 4.0


@pytest.mark.needs_data
def test_matconvnet_anchors_on_a_crop(data_dir: Path) -> None:
    """CDnCNN-B and FFDNet read from the MatConvNet files denoise like the published models
    (CBSD68 sigma 25: 31.2 dB on the full set; this crop is an easy one)."""
    from restora.bench.anchors import run_anchor
    from restora.bench.datasets import get_dataset
    from restora.quality import psnr

    pair = get_dataset("cbsd68_sigma25", data_dir)[1]
    crop = (slice(0, 160), slice(0, 200))
    noisy, clean = pair.input[crop], pair.target[crop]
    base = psnr(np.clip(noisy, 0, 1), clean)
    results = {}
    for name in ("cdncnn_b", "ffdnet_color"):
        out = run_anchor(name, noisy, pair.meta, data_dir)
        assert out.shape == clean.shape
        results[name] = psnr(out, clean)
        assert results[name] > base + 9.0
    assert abs(results["cdncnn_b"] - results["ffdnet_color"]) < 0.5


@pytest.mark.needs_data
def test_harness_on_one_rain_image(data_dir: Path) -> None:
    from restora.bench.harness import benchmark_dataset

    rows = benchmark_dataset("derain", "rain100l", data_dir, 1, 1, ["guided_derain", "prn"])
    by_name = {r.method: r for r in rows}
    assert set(by_name) == {"(input)", "guided_derain", "prn"}
    assert by_name["prn"].psnr > by_name["(input)"].psnr + 3
    assert by_name["guided_derain"].psnr > by_name["(input)"].psnr
    assert by_name["prn"].speed_ratio == pytest.approx(1.0)  # prenet not run: prn is the ref
    assert by_name["guided_derain"].speed_ratio > 1.0
    assert all(math.isfinite(by_name[n].seconds_per_mp) for n in ("prn", "guided_derain"))
