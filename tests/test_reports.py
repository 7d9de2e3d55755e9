"""HTML reports of analyze, assess and bench: one self-contained file with the run's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.reports import bench_report
from restora.reports.html import detail_box, side_by_side_crops
from restora.vocabulary import DEGRADATION_TYPES

from .helpers import HtmlReport, parse_report, run_cli


def _self_contained(text: str) -> HtmlReport:
    """The report as a reader sees it; fails on anything that would load from elsewhere and on
    inlined pictures that do not decode."""
    report = parse_report(text)
    assert not report.tags & {"script", "link", "iframe", "object", "embed"}, report.tags
    assert report.sources, "no image in the report"
    assert all(s.startswith("data:image/") for s in report.sources), report.sources
    assert "url(" not in report.styles
    report.images()
    return report


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
    report = _self_contained(analysis_report(small_rgb, analysis, "photo.png"))
    preview = report.images()[0]
    assert preview.size == (128, 96)  # the whole image, at its size
    assert ["noise", "0.62", "0.91"] in report.rows and ["jpeg", "0.35", "0.70"] in report.rows
    assert "41/100 (fair)" in report.text
    assert set(report.bars) == set(DEGRADATION_TYPES)  # a bar for every type
    assert report.bars["haze"] == (5.0, "0.05", False)
    assert report.bars["noise"] == (91.0, "0.91", True)  # the found ones stand out
    assert report.bars["rain"][2] is False


def test_analyze_report(
    tiny_weights: Path,
    tmp_path: Path,
    small_rgb: np.ndarray,
    rng: np.random.Generator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    noisy = _save(tmp_path / "noisy.png", small_rgb + rng.normal(0, 0.1, small_rgb.shape))
    report_path = tmp_path / "analysis.html"
    args = ["analyze", noisy, "--weights", tiny_weights, "--device", "cpu"]
    code, out, err = run_cli(capsys, *args, "--report", report_path, "--json")
    assert code == 0, err
    analysis = json.loads(out)
    report = _self_contained(report_path.read_text())
    assert len(report.images()) == 3  # preview, detail crop, tone histogram
    assert f"{analysis['quality']['score']:.0f}/100" in report.text
    for item in analysis["degradations"]:
        assert [item["type"], f"{item['severity']:.2f}", f"{item['confidence']:.2f}"] in report.rows
        assert report.bars[item["type"]][2] is True
    assert set(report.bars) == set(DEGRADATION_TYPES)
    code, _, err = run_cli(capsys, *args, "--report", report_path)
    assert code == 2 and "--overwrite" in err


def test_assess_report_with_reference_and_for_a_folder(
    tmp_path: Path,
    small_rgb: np.ndarray,
    rng: np.random.Generator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean = _save(tmp_path / "clean.png", small_rgb)
    noisy = _save(tmp_path / "noisy.png", small_rgb + rng.normal(0, 0.08, small_rgb.shape))
    report_path = tmp_path / "assess.html"
    args = ["assess", noisy, "--ref", clean, "--metrics", "psnr,ssim", "--json"]
    code, out, err = run_cli(capsys, *args, "--report", report_path)
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    report = _self_contained(report_path.read_text())
    image, reference, *crops = report.images()  # and the same crop of both
    assert image.size == reference.size == (128, 96) and len(crops) == 2
    assert crops[0].size == crops[1].size
    rows = {row[0]: row[1:] for row in report.rows}
    assert rows["psnr"][:2] == [f"{metrics['psnr']:.4f}", "higher is better"]
    assert rows["ssim"][0] == f"{metrics['ssim']:.4f}"

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
    files = json.loads(out)["files"]
    report = _self_contained(many.read_text())
    assert len(report.images()) == 1 + 3 * 4  # plot, then 4 pictures per file
    for row in files:
        name = Path(row["file"]).name
        assert any(name in heading for heading in report.headings), report.headings
        summary = [cells for cells in report.rows if cells[0] == row["file"]]
        assert summary and summary[0][1] == f"{row['metrics']['psnr']:.4f}"
    assert "Metrics across files" in report.headings


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
    report = _self_contained(bench_report(_bench_rows()))
    assert len(report.images()) == 2  # one plot per data set
    assert report.headings[1:] == ["set5_x4", "live1_q10"] and "test box" in report.text
    rows = {row[0]: row for row in report.rows}
    for method, numbers in {
        "bicubic": ("28.420", "0.010"),
        "edsr": ("32.460", "3.500"),
        "bm3d_deblock": ("27.310", "12.000"),
    }.items():
        assert set(numbers) <= set(rows[method]), rows[method]
    variants = {
        "seed": {"images": 2, "psnr": 15.86, "seconds": 0.0},
        "agent": {"images": 2, "psnr": 17.004, "seconds": 6.4},
    }
    agent = {"agent": {"sets": {"mixed_cbsd68": {"variants": variants}}, "analyzer_seconds": 0.3}}
    special = _self_contained(bench_report(agent))
    assert len(special.images()) == 1  # the variants' quality-vs-time plot
    assert ["agent", "2", "17.004", "6.400"] in special.rows
    assert ["analyzer_seconds", "0.300"] in special.rows


def test_bench_cli_report(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path = tmp_path / "bench.html"
    args = ["bench", "--data", data_dir, "--task", "upscale", "--quick", "--max-images", "1"]
    args += ["--method", "bicubic", "--out", tmp_path / "bench", "--report", report_path, "--json"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    rows = json.loads(out)["rows"]
    report = _self_contained(report_path.read_text())
    assert len(report.images()) == len({r["dataset"] for r in rows})
    assert any(f"{rows[0]['psnr']:.3f}" in cells for cells in report.rows)
