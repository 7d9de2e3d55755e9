"""``restora assess``: the JSON/CSV contract, folders, --list and one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def save(array: np.ndarray, path: Path) -> Path:
    PILImage.fromarray((np.clip(array, 0, 1) * 255).round().astype(np.uint8)).save(path)
    return path


@pytest.fixture()
def pair(tmp_path: Path, astronaut: np.ndarray) -> tuple[Path, Path]:
    ref = astronaut[:200, 150:350]
    rng = np.random.default_rng(3)
    dist = ref + rng.normal(0, 12 / 255, ref.shape)
    (tmp_path / "ref").mkdir()
    (tmp_path / "dist").mkdir()
    return save(dist, tmp_path / "dist" / "a.png"), save(ref, tmp_path / "ref" / "a.png")


def test_no_reference_json(capsys: pytest.CaptureFixture[str], pair: tuple[Path, Path]) -> None:
    code, out, err = run(capsys, "assess", pair[0], "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload["metrics"]) == {"niqe", "piqe", "brisque", "quality"}
    assert all(isinstance(v, float) for v in payload["metrics"].values())
    assert payload["level"] in ("excellent", "good", "fair", "poor", "bad")
    assert payload["description"].startswith(payload["level"])


def test_full_reference_json(capsys: pytest.CaptureFixture[str], pair: tuple[Path, Path]) -> None:
    code, out, err = run(
        capsys, "assess", pair[0], "--ref", pair[1], "--metrics", "psnr,ssim,gmsd,niqe", "--json"
    )
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    assert list(metrics) == ["psnr", "ssim", "gmsd", "niqe"]
    assert 20 < metrics["psnr"] < 35 and 0 < metrics["ssim"] < 1
    # identical images: PSNR is infinite, which JSON carries as null
    code, out, _ = run(capsys, "assess", pair[1], "--ref", pair[1], "--metrics", "psnr", "--json")
    assert code == 0 and json.loads(out)["metrics"]["psnr"] is None


def test_folder_table_json_and_csv(
    capsys: pytest.CaptureFixture[str], pair: tuple[Path, Path], tmp_path: Path
) -> None:
    dist_dir, ref_dir = pair[0].parent, pair[1].parent
    save(np.asarray(PILImage.open(pair[1]), dtype=np.float64) / 255, dist_dir / "b.png")
    save(np.asarray(PILImage.open(pair[1]), dtype=np.float64) / 255, ref_dir / "b.png")
    table = tmp_path / "table.csv"
    code, out, err = run(
        capsys, "assess", dist_dir, "--ref", ref_dir, "--metrics", "psnr_y,ssim", "--json",
        "--csv", table,
    )  # fmt: skip
    assert code == 0, err
    files = json.loads(out)["files"]
    assert [f["file"] for f in files] == ["a.png", "b.png"]
    assert files[1]["metrics"]["ssim"] == pytest.approx(1.0)
    rows = list(csv.DictReader(table.open()))
    assert [r["file"] for r in rows] == ["a.png", "b.png"] and rows[1]["psnr_y"] == "inf"
    code, out, _ = run(capsys, "assess", dist_dir, "--metrics", "piqe")
    assert code == 0 and "a.png" in out and "piqe" in out.splitlines()[0]


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "assess", "--list", "--json")
    assert code == 0
    listed = {m["name"]: m for m in json.loads(out)["metrics"]}
    assert listed["niqe"]["direction"] == "lower is better"
    assert listed["psnr"]["range"] == [0.0, "inf"]
    assert listed["ssim"]["kind"] == "full-reference"
    code, out, _ = run(capsys, "assess", "--list")
    assert code == 0 and "gmsd" in out and "lower is better" in out


@pytest.mark.parametrize(
    "case", ["size", "grey_colour", "unknown_metric", "fr_without_ref", "no_input", "folder_ref"]
)
def test_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], pair: tuple[Path, Path], tmp_path: Path, case: str
) -> None:
    dist, ref = pair
    args: list[object] = ["assess"]
    if case == "size":
        small = save(np.zeros((50, 60, 3)), tmp_path / "small.png")
        args += [dist, "--ref", small, "--metrics", "psnr"]
    elif case == "grey_colour":
        grey = np.asarray(PILImage.open(ref).convert("L"), dtype=np.float64) / 255
        args += [dist, "--ref", save(grey, tmp_path / "grey.png")]
    elif case == "unknown_metric":
        args += [dist, "--metrics", "psnr,lpips", "--ref", ref]
    elif case == "fr_without_ref":
        args += [dist, "--metrics", "ssim"]
    elif case == "folder_ref":
        args += [dist.parent, "--ref", ref]
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("restora: error:"), err
    expected = {
        "size": "differ in size",
        "grey_colour": "grey",
        "unknown_metric": "choose one of",
        "fr_without_ref": "--ref",
        "no_input": "IN",
        "folder_ref": "folder",
    }[case]
    assert expected in lines[0]
