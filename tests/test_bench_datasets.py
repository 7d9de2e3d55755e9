"""Benchmark data loaders: pairing, conventions, and the MATLAB bicubic port against Set5."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from restora.bench import datasets
from restora.bench.datasets import Pair, get_dataset, list_datasets
from restora.errors import UnknownNameError
from restora.quality.full_reference import psnr_float as psnr
from restora.vocabulary import DEGRADATION_TYPES, TASKS

REQUIRED = [
    *(f"{p}_sigma{s}" for p in ("cbsd68", "bsd68", "set12") for s in (15, 25, 50)),
    "set5_x2",
    "set5_x4",
    "set14_x2",
    "set14_x4",
    "b100_x4",
    "urban100_x4",
    *(f"{p}_q{q}" for p in ("live1", "classic5") for q in (10, 20, 30, 40)),
    "rain100h",
    "rain100l",
    "sots_outdoor",
    "gopro_real",
    "mixed_cbsd68",
]


def test_registry_names_and_unknown_name() -> None:
    assert set(REQUIRED) <= set(list_datasets())
    with pytest.raises(UnknownNameError) as info:
        get_dataset("kodak24")
    assert "cbsd68_sigma25" in str(info.value)


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    from restora.errors import NotAvailableError

    with pytest.raises(NotAvailableError):
        get_dataset("set5_x4", tmp_path)


def check_pair(pair: Pair, grey: bool) -> None:
    assert isinstance(pair.name, str) and pair.name
    assert pair.input.dtype == np.float32 and pair.target.dtype == np.float32
    assert pair.target.ndim == (2 if grey else 3)
    assert pair.input.ndim == pair.target.ndim
    assert float(pair.target.min()) >= 0.0 and float(pair.target.max()) <= 1.0


@pytest.mark.needs_data
@pytest.mark.parametrize(("name", "grey"), [("cbsd68_sigma25", False), ("set12_sigma50", True)])
def test_gaussian_noise_follows_kair(data_dir: Path, name: str, grey: bool) -> None:
    dataset = get_dataset(name, data_dir)
    assert dataset.task == "denoise" and dataset.name == name
    pair = dataset[0]
    check_pair(pair, grey)
    sigma = pair.meta["sigma"]
    np.random.seed(seed=0)  # KAIR main_test_dncnn.py, verbatim
    expected = pair.target + np.random.normal(0, sigma / 255.0, pair.target.shape)
    np.testing.assert_allclose(pair.input, expected.astype(np.float32), atol=1e-6)
    assert float(pair.input.min()) < 0.0 or float(pair.input.max()) > 1.0  # not clipped
    assert float((pair.input - pair.target).std()) * 255 == pytest.approx(sigma, rel=0.02)
    assert len(dataset) == (68 if name.startswith("cbsd") else 12)


@pytest.mark.needs_data
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_matlab_bicubic_matches_set5_shipped_lr(data_dir: Path, scale: int) -> None:
    from restora.bench.datasets import modcrop, read_uint8
    from restora.degradations.resize import imresize

    folder = data_dir / "test" / "Set5"
    for hr_path in sorted((folder / "HR").glob("*.png")):
        hr = modcrop(read_uint8(hr_path, "RGB"), scale)
        shipped = read_uint8(
            folder / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png", "RGB"
        )
        mine = imresize(hr, 1.0 / scale)
        assert mine.shape == shipped.shape
        assert psnr(mine / 255.0, shipped / 255.0) > 60.0, hr_path.name
        difference = np.abs(mine.astype(int) - shipped.astype(int))
        assert int(difference.max()) <= 2 and float((difference == 0).mean()) > 0.99


@pytest.mark.needs_data
@pytest.mark.parametrize("name", ["set5_x4", "set14_x2", "b100_x4", "urban100_x4"])
def test_super_resolution_pairs(data_dir: Path, name: str) -> None:
    dataset = get_dataset(name, data_dir)
    assert dataset.task == "upscale"
    pair = dataset[len(dataset) - 1]
    check_pair(pair, grey=False)
    scale = pair.meta["scale"]
    assert pair.target.shape == (pair.input.shape[0] * scale, pair.input.shape[1] * scale, 3)
    # the LR is a faithful downscale of the HR: shrinking the target agrees with the input
    from restora.degradations.resize import imresize

    assert psnr(imresize(pair.target, 1.0 / scale), pair.input) > 30.0


@pytest.mark.needs_data
def test_set14_grey_bridge_is_rgb(data_dir: Path) -> None:
    dataset = get_dataset("set14_x4", data_dir)
    bridge = dataset[dataset.keys.index("bridge.png")]
    check_pair(bridge, grey=False)


@pytest.mark.needs_data
@pytest.mark.parametrize("name", ["live1_q10", "classic5_q40"])
def test_jpeg_pairs_are_grey_and_compressed_at_the_quality(data_dir: Path, name: str) -> None:
    from restora.degradations.jpeg import encode_jpeg, jpeg_quality_from_quantization_tables

    dataset = get_dataset(name, data_dir)
    assert dataset.task == "dejpeg"
    pair = dataset[0]
    check_pair(pair, grey=True)
    quality = pair.meta["quality"]
    grey_uint8 = (pair.target * 255 + 0.5).astype(np.uint8)
    assert jpeg_quality_from_quantization_tables(encode_jpeg(grey_uint8, quality)) == quality
    assert 20.0 < psnr(pair.input, pair.target) < 45.0
    if name.startswith("live1"):  # studio-range luma
        assert float(pair.target.min()) >= 16 / 255 - 1e-6
        assert float(pair.target.max()) <= 235 / 255 + 1e-6


@pytest.mark.needs_data
@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("rain100h", "derain"),
        ("rain100l", "derain"),
        ("sots_outdoor", "dehaze"),
        ("gopro_real", "deblur"),
    ],
)
def test_shipped_restoration_pairs(data_dir: Path, name: str, task: str) -> None:
    dataset = get_dataset(name, data_dir)
    assert dataset.task == task in TASKS
    pair = next(iter(dataset))
    check_pair(pair, grey=False)
    assert pair.input.shape == pair.target.shape
    assert 5.0 < psnr(pair.input, pair.target) < 40.0


@pytest.mark.needs_data
def test_mixed_benchmark_matches_its_saved_manifest(data_dir: Path) -> None:
    saved = json.loads(datasets.MANIFEST_PATH.read_text())
    rebuilt = json.loads(json.dumps(datasets.build_mixed_manifest(data_dir)))
    assert rebuilt == saved
    assert len(saved["items"]) == 100
    for item in saved["items"]:
        types = [d["type"] for d in item["degradations"]]
        assert 2 <= len(types) <= 3 and set(types) <= set(DEGRADATION_TYPES)
    assert len({item["image"] for item in saved["items"]}) == 68
    dataset = get_dataset("mixed_cbsd68", data_dir)
    assert dataset.task == "mixed" and len(dataset) == 100
    pair = dataset[5]
    check_pair(pair, grey=False)
    assert pair.input.shape == pair.target.shape
    assert pair.meta["degradations"] == saved["items"][5]["degradations"]
    assert pair.meta["tasks"] and set(pair.meta["tasks"]) <= set(TASKS)
