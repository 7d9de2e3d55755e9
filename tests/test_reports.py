"""HTML reports of analyze, assess and bench: one self-contained file with the run's numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.reports import bench_report
from restora.reports.html import detail_box, side_by_side_crops

from .test_cli import run_cli
from .test_perception import tiny_weights  # noqa: F401 (the fixture)

SOURCES = re.compile(r"""\bsrc=["']([^"']*)["']""")


def _self_contained(text: str) -> list[str]:
    """The inlined image URIs; fails on anything that would load from elsewhere."""
    assert text.startswith("<!doctype html>") and text.rstrip().endswith("</html>")
    sources = SOURCES.findall(text)
    assert sources, "no image in the report"
    assert all(s.startswith("data:image/") for s in sources), sources
    assert "<script" not in text and "<link" not in text and "url(" not in text
    return sources


def _save(path: Path, rgb: np.ndarray) -> Path:
    PILImage.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def test_detail_box_finds_the_textured_part() -> None:
    rgb = np.zeros((200, 300, 3), np.float32)
    rgb[100:180, 200:280] = np.indices((80, 80)).sum(axis=0)[..., None] % 2  # a checkerboard
    top, left, side = detail_box(rgb, side=80)
    assert side == 80 and abs(top - 100) <= 40 and abs(left - 200) <= 40
    assert side_by_side_crops([("a", rgb), ("b", rgb[:100])]) == ""  # sizes differ: no crops


def test_analysis_report_shows_every_found_degradation(small_rgb: np.ndarray) -> None:
    from restora.reports import analysis_report
    from restora.types import Analysis, Degradation, QualityScore

    analysis = Analysis(
        (Degradation("noise", 0.62, 0.91), Degradation("jpeg", 0.35, 0.7)),
        "a noisy photo",
        QualityScore(41.0, "fair"),
        scores={"noise": 0.91, "jpeg": 0.7, "haze": 0.05},
    )
    text = analysis_report(small_rgb, analysis, "photo.png")
    _self_contained(text)
    assert "<td>noise</td><td>0.62</td><td>0.91</td>" in text
    assert "<td>jpeg</td><td>0.35</td><td>0.70</td>" in text
    assert "41/100 (fair)" in text and "width:5.0%" in text  # the haze bar


def test_analyze_report(
    tiny_weights: Path,  # noqa: F811
    tmp_path: Path,
    small_rgb: np.ndarray,
    rng: np.random.Generator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    noisy = _save(tmp_path / "noisy.png", small_rgb + rng.normal(0, 0.1, small_rgb.shape))
    report = tmp_path / "analysis.html"
    args = ["analyze", noisy, "--weights", tiny_weights, "--device", "cpu"]
    code, out, err = run_cli(capsys, *args, "--report", report, "--json")
    assert code == 0, err
    analysis = json.loads(out)
    text = report.read_text()
    assert len(_self_contained(text)) == 3  # preview, detail crop, tone histogram
    assert f"{analysis['quality']['score']:.0f}/100" in text
    for item in analysis["degradations"]:
        assert f"<td>{item['type']}</td><td>{item['severity']:.2f}</td>" in text
    assert "class='bars'" in text
    code, _, err = run_cli(capsys, *args, "--report", report)
    assert code == 2 and "--overwrite" in err


def test_assess_report_with_reference_and_for_a_folder(
    tmp_path: Path,
    small_rgb: np.ndarray,
    rng: np.random.Generator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean = _save(tmp_path / "clean.png", small_rgb)
    noisy = _save(tmp_path / "noisy.png", small_rgb + rng.normal(0, 0.08, small_rgb.shape))
    report = tmp_path / "assess.html"
    args = ["assess", noisy, "--ref", clean, "--metrics", "psnr,ssim", "--json"]
    code, out, err = run_cli(capsys, *args, "--report", report)
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    text = report.read_text()
    assert len(_self_contained(text)) == 4  # image, reference, and the same crop of both
    assert f"{metrics['psnr']:.4f}" in text and f"{metrics['ssim']:.4f}" in text
    assert "higher is better" in text

    folder, refs = tmp_path / "set", tmp_path / "refs"
    folder.mkdir()
    refs.mkdir()
    for k in range(3):
        _save(refs / f"im{k}.png", small_rgb)
        noise = rng.normal(0, 0.03 * (k + 1), small_rgb.shape)
        _save(folder / f"im{k}.png", small_rgb + noise)
    many = tmp_path / "folder.html"
    code, out, err = run_cli(
        capsys, "assess", folder, "--ref", refs, "--metrics", "psnr", "--report", many, "--json"
    )
    assert code == 0, err
    rows = json.loads(out)["files"]
    text = many.read_text()
    assert len(_self_contained(text)) == 1 + 3 * 4  # plot, then 4 pictures per file
    for row in rows:
        assert f"{row['metrics']['psnr']:.4f}" in text
    assert "Metrics across files" in text


def _bench_rows() -> dict:
    def row(dataset: str, method: str, kind: str, psnr: float, spm: float) -> dict:
        return {
            "dataset": dataset,
            "method": method,
            "kind": kind,
            "images": 2,
            "psnr": psnr,
            "ssim": 0.8,
            "seconds_per_mp": spm,
            "peak_mb": 10.0,
            "published": None,
            "speed_ratio": 1.0,
            "note": "",
        }

    return {
        "machine": "test box",
        "quick": True,
        "seconds": 1.0,
        "rows": [
            row("set5_x4", "bicubic", "expert", 28.42, 0.01),
            row("set5_x4", "edsr", "anchor", 32.46, 3.5),
            row("live1_q10", "bm3d_deblock", "expert", 27.31, 12.0),
        ],
    }


def test_bench_report_plots_quality_against_time_per_data_set() -> None:
    text = bench_report(_bench_rows())
    assert len(_self_contained(text)) == 2  # one plot per data set
    for number in ("28.420", "32.460", "27.310", "3.500"):
        assert number in text
    assert text.count("<h2>") == 2 and "test box" in text
    variants = {
        "seed": {"images": 2, "psnr": 15.86, "seconds": 0.0},
        "agent": {"images": 2, "psnr": 17.004, "seconds": 6.4},
    }
    agent = {"agent": {"sets": {"mixed_cbsd68": {"variants": variants}}, "analyzer_seconds": 0.3}}
    special = bench_report(agent)
    assert len(_self_contained(special)) == 1  # the variants' quality-vs-time plot
    assert "<td>agent</td><td>2</td><td>17.004</td>" in special and "0.300" in special


def test_bench_cli_report(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "bench.html"
    args = ["bench", "--data", data_dir, "--task", "upscale", "--quick", "--max-images", "1"]
    args += ["--method", "bicubic", "--out", tmp_path / "bench", "--report", report, "--json"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    rows = json.loads(out)["rows"]
    text = report.read_text()
    assert len(_self_contained(text)) == len({r["dataset"] for r in rows})
    assert f"{rows[0]['psnr']:.3f}" in text
