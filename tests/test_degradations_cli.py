"""``restora degrade`` against its contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.degradations.captions import NOUNS

from .helpers import run_cli


@pytest.fixture()
def photo(tmp_path: Path, small_rgb: np.ndarray) -> Path:
    path = tmp_path / "clean.png"
    PILImage.fromarray((small_rgb * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def test_degrade_json_contract_and_determinism(
    capsys: pytest.CaptureFixture[str], photo: Path, tmp_path: Path
) -> None:
    out_a, out_b = tmp_path / "a.png", tmp_path / "b.png"
    args = ["--type", "noise", "--type", "jpeg", "--severity", "0.5", "--seed", "4", "--json"]
    code, stdout, err = run_cli(capsys, "degrade", photo, "-o", out_a, *args)
    assert code == 0, err
    payload = json.loads(stdout)
    assert payload["output"] == str(out_a.resolve())
    assert [d["type"] for d in payload["degradations"]] == ["noise", "jpeg"]
    assert all(set(d) >= {"type", "severity", "params"} for d in payload["degradations"])
    assert payload["degradations"][0]["params"]["sigma"] == pytest.approx(25.0)
    assert payload["degradations"][1]["params"]["quality"] == 50
    for kind in ("noise", "jpeg"):  # the caption names both
        assert any(noun in payload["caption"] for noun in NOUNS[kind]), payload["caption"]
    code, stdout_b, _ = run_cli(capsys, "degrade", photo, "-o", out_b, *args)
    assert code == 0
    assert json.loads(stdout_b)["degradations"] == payload["degradations"]
    a, b = np.asarray(PILImage.open(out_a)), np.asarray(PILImage.open(out_b))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (96, 128, 3)
    assert np.abs(a.astype(int) - np.asarray(PILImage.open(photo)).astype(int)).mean() > 3


def test_degrade_mixed_and_low_resolution(
    capsys: pytest.CaptureFixture[str], photo: Path, tmp_path: Path
) -> None:
    code, stdout, err = run_cli(
        capsys, "degrade", photo, "-o", tmp_path / "m.png", "--type", "mixed", "--json"
    )
    assert code == 0, err
    assert len(json.loads(stdout)["degradations"]) >= 1
    lr = tmp_path / "lr.png"
    code, _, _ = run_cli(
        capsys, "degrade", photo, "-o", lr, "--type", "low_resolution", "--severity", "1"
    )
    assert code == 0 and PILImage.open(lr).size == (32, 24)
    back = tmp_path / "back.png"
    code, _, _ = run_cli(
        capsys, "degrade", photo, "-o", back, "--type", "low_resolution", "--resize-back"
    )
    assert code == 0 and PILImage.open(back).size == (128, 96)


def test_degrade_usage_errors(
    capsys: pytest.CaptureFixture[str], photo: Path, tmp_path: Path
) -> None:
    target = tmp_path / "x.png"
    for extra in (
        ["--type", "mixed", "--type", "noise"],
        ["--type", "sparkle"],
        ["--type", "noise", "--severity", "2"],
    ):
        code, out, err = run_cli(capsys, "degrade", photo, "-o", target, *extra)
        assert code == 2 and out == "" and len(err.strip().splitlines()) >= 1
        assert not target.exists()
