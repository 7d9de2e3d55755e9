"""Reference check: restora's metrics reproduce the official implementations on TID2013."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import restora.quality as q
from restora.io import load
from restora.quality.niqe import PRISTINE_MODEL_PATH, PristineModel, niqe

pytestmark = pytest.mark.needs_data

PAIRS = ("I03", "I04", "I06", "I08", "I19")
FULL_REFERENCE = ("psnr", "ssim", "ms_ssim", "gmsd", "vif", "fsim")


@pytest.fixture(scope="module")
def tid(data_dir: Path) -> Path:
    folder = data_dir / "iqa" / "TID2013_calibration"
    if not folder.is_dir():
        pytest.skip("TID2013_calibration not in the data folder")
    return folder


@pytest.fixture(scope="module")
def official(tid: Path) -> dict[str, dict[str, float]]:
    with open(tid / "results_official.csv", newline="") as fh:
        return {
            row["Method"]: {k.split(".")[0]: float(v) for k, v in row.items() if k != "Method"}
            for row in csv.DictReader(fh)
        }


@pytest.fixture(scope="module")
def images(tid: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        n: (load(tid / "dist_dir" / f"{n}.png").rgb, load(tid / "ref_dir" / f"{n}.png").rgb)
        for n in PAIRS
    }


@pytest.mark.parametrize("name", FULL_REFERENCE)
def test_full_reference_matches_official(
    name: str,
    images: dict[str, tuple[np.ndarray, np.ndarray]],
    official: dict[str, dict[str, float]],
) -> None:
    for pair, (dist, ref) in images.items():
        assert q.compute(name, dist, ref) == pytest.approx(official[name][pair], rel=1e-2), pair


def test_piqe_matches_matlab(
    images: dict[str, tuple[np.ndarray, np.ndarray]], official: dict[str, dict[str, float]]
) -> None:
    for pair, (dist, _) in images.items():
        assert q.compute("piqe", dist) == pytest.approx(official["piqe"][pair], rel=1e-2), pair


def test_niqe_with_official_pristine_params(
    tid: Path,
    images: dict[str, tuple[np.ndarray, np.ndarray]],
    official: dict[str, dict[str, float]],
) -> None:
    model = PristineModel.load(tid / "niqe_pris_params.npz")
    for pair, (dist, _) in images.items():
        assert niqe(dist, model) == pytest.approx(official["niqe"][pair], rel=6e-2), pair


def test_shipped_niqe_model_is_restoras_own_and_documented(tid: Path) -> None:
    card = json.loads(PRISTINE_MODEL_PATH.with_suffix(".json").read_text())
    assert card["sha256"] == hashlib.sha256(PRISTINE_MODEL_PATH.read_bytes()).hexdigest()
    assert card["sharpness_threshold"] == 0.75 and card["patches"] > 1000
    ours = PristineModel.load(PRISTINE_MODEL_PATH)
    theirs = PristineModel.load(tid / "niqe_pris_params.npz")
    assert ours.mu.shape == theirs.mu.shape == (36,)
    assert not np.allclose(ours.mu, theirs.mu)  # fitted here, not copied
    # ...yet it describes natural images the same way: feature means agree to within 25%.
    np.testing.assert_allclose(ours.mu, theirs.mu, rtol=0.25, atol=0.02)


def test_basicsr_convention_on_set5(data_dir: Path) -> None:
    """Bicubic x4 baseline on Set5 (Y, crop 4): published by every SR paper, 28.42 dB."""
    set5 = data_dir / "test" / "Set5"
    if not set5.is_dir():
        pytest.skip("Set5 not in the data folder")
    import cv2

    values = []
    for hr_path in sorted((set5 / "HR").glob("*.png")):
        hr = load(hr_path).rgb
        lr = load(set5 / "LR_bicubic" / "X4" / f"{hr_path.stem}x4.png").rgb
        hr = hr[: lr.shape[0] * 4, : lr.shape[1] * 4]
        up = cv2.resize(lr, (hr.shape[1], hr.shape[0]), interpolation=cv2.INTER_CUBIC)
        values.append(q.psnr(np.clip(up, 0, 1), hr, crop_border=4, y_channel=True))
    assert np.mean(values) == pytest.approx(28.42, abs=0.35)
