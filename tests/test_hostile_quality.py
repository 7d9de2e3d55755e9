"""Issue 24: metrics, ``assess`` and image loading under hostile input (flat and two-tone
references, NaN pixels, a broken file in a folder, empty --metrics, a full disk, huge images)."""

from __future__ import annotations

import csv
import errno
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.errors import InputError
from restora.quality import get_metric, list_metrics

from .helpers import run_cli

SIZE = 192


def _flat() -> np.ndarray:
    return np.full((SIZE, SIZE), 0.5)


def _gradient() -> np.ndarray:
    return np.tile(np.linspace(0.0, 1.0, SIZE), (SIZE, 1))


def _half_black() -> np.ndarray:
    image = np.zeros((SIZE, SIZE))
    image[:, SIZE // 2 + 5 :] = 0.7
    return image


REFERENCES = {"flat": _flat, "gradient": _gradient, "half-black": _half_black}


def _noisy(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.5 + 0.2 * rng.standard_normal((SIZE, SIZE)), 0.0, 1.0)


def _save(array: np.ndarray, path: Path) -> Path:
    PILImage.fromarray((np.clip(array, 0, 1) * 255).round().astype(np.uint8)).save(path)
    return path


# ------------------------------------------------------------------------ item 2: VIF defined


@pytest.mark.parametrize("kind", sorted(REFERENCES))
def test_vif_is_defined_for_featureless_references(kind: str) -> None:
    ref = REFERENCES[kind]()
    vif = get_metric("vif")
    assert vif(ref, ref) == pytest.approx(1.0, abs=1e-6)  # identical images still give 1
    for dist in (_noisy(), np.clip(ref + 0.02, 0, 1), np.zeros_like(ref)):
        value = vif(dist, ref)
        assert math.isfinite(value) and value >= 0.0


def test_vif_of_a_photo_is_unchanged_by_the_regularisation(camera: np.ndarray) -> None:
    from restora.quality import vif as vif_module

    ref = camera[:256, :256]
    dist = np.clip(ref + np.random.default_rng(1).normal(0, 0.05, ref.shape), 0, 1)
    value = vif_module.vif(dist, ref)
    assert 0.0 < value < 1.0 and vif_module.vif(ref, ref) == pytest.approx(1.0, abs=1e-9)


def test_assess_with_a_flat_reference_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for kind, make in REFERENCES.items():
        ref = _save(make(), tmp_path / f"{kind}.png")
        dist = _save(_noisy(), tmp_path / "dist.png")
        code, out, err = run_cli(capsys, "assess", dist, "--ref", ref, "--json")
        assert code == 0, err
        metrics = json.loads(out)["metrics"]
        assert math.isfinite(metrics["vif"]), kind


# ------------------------------------------------------- item 9: no NaN score, no NaN pixels


@pytest.mark.parametrize("kind", sorted(REFERENCES))
def test_no_metric_is_nan_on_featureless_images(kind: str) -> None:
    image = REFERENCES[kind]()
    for other in (image, _noisy(), np.zeros_like(image)):
        for name in list_metrics():
            metric = get_metric(name)
            value = metric(other, image if metric.needs_reference else None)
            assert not math.isnan(value), (name, kind)
            if name != "psnr" and name != "psnr_y":  # inf for identical images, documented
                assert math.isfinite(value), (name, kind)


def test_niqe_of_a_flat_image_is_the_documented_value() -> None:
    from restora.quality.niqe import FEATURELESS_NIQE

    assert get_metric("niqe")(_flat()) == FEATURELESS_NIQE
    assert get_metric("niqe")(np.zeros((SIZE, SIZE))) == FEATURELESS_NIQE
    # one edge is some structure: a finite distance, worse than a noisy photo's
    assert get_metric("niqe")(_noisy()) < get_metric("niqe")(_half_black()) < FEATURELESS_NIQE
    assert get_metric("piqe")(_flat()) == 100.0  # no active block: PIQE's worst


def test_assess_flat_photo_prints_no_nan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    flat = _save(_flat(), tmp_path / "flat.png")
    code, out, err = run_cli(capsys, "assess", flat, "--json")
    assert code == 0, err
    assert all(v is not None for v in json.loads(out)["metrics"].values())
    code, out, err = run_cli(capsys, "assess", flat)
    assert code == 0 and "nan" not in out.lower(), out


def _nan_tiff(path: Path) -> Path:
    import tifffile

    pixels = np.full((64, 64), 0.5, np.float32)
    pixels[10:20, 10:20] = np.nan
    tifffile.imwrite(path, pixels)
    return path


def test_load_refuses_nan_pixels(tmp_path: Path) -> None:
    from restora.io import load

    with pytest.raises(InputError, match="NaN or infinite"):
        load(_nan_tiff(tmp_path / "nan.tif"))
    import tifffile

    tifffile.imwrite(tmp_path / "inf.tif", np.full((8, 8), np.inf, np.float32))
    with pytest.raises(InputError, match="NaN or infinite"):
        load(tmp_path / "inf.tif")
    tifffile.imwrite(tmp_path / "ok.tif", np.full((8, 8), 0.25, np.float32))
    assert float(load(tmp_path / "ok.tif").rgb.max()) == pytest.approx(0.25)


@pytest.mark.parametrize("command", [["analyze"], ["degrade", "--type", "noise", "-o", "out.png"]])
def test_cli_refuses_nan_pixels(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    source = _nan_tiff(tmp_path / "nan.tif")
    args = [a if a != "out.png" else str(tmp_path / a) for a in command]
    code, _, err = run_cli(capsys, args[0], source, *args[1:])
    assert code == 2
    assert err.count("\n") == 1 and "NaN or infinite" in err, err
    assert not (tmp_path / "out.png").exists()


# ---------------------------------------------------------- item 11: a bad file in a folder


def test_assess_folder_skips_a_broken_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _save(_noisy(1), folder / "a.png")
    (folder / "b.png").write_bytes(b"")
    (folder / "c.png").write_bytes(b"not an image at all")
    _save(_noisy(2), folder / "d.png")
    table = tmp_path / "f.csv"
    code, out, err = run_cli(capsys, "assess", folder, "--csv", table, "--metrics", "piqe")
    assert code == 0, err
    assert "b.png" in err and "c.png" in err and err.count("(skipped)") == 2
    assert "a.png" in out and "d.png" in out
    rows = list(csv.DictReader(table.open()))
    assert [r["file"] for r in rows] == ["a.png", "b.png", "c.png", "d.png"]
    assert rows[0]["piqe"] and not rows[0]["error"]
    assert not rows[1]["piqe"] and "empty" in rows[1]["error"]

    code, out, err = run_cli(capsys, "assess", folder, "--metrics", "piqe", "--json")
    payload = json.loads(out)
    assert [f["file"] for f in payload["files"]] == ["a.png", "d.png"]
    assert [e["file"] for e in payload["errors"]] == ["b.png", "c.png"]


def test_assess_folder_of_only_broken_files_exits_2_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "b.png").write_bytes(b"")
    table = tmp_path / "f.csv"
    code, _, err = run_cli(capsys, "assess", folder, "--csv", table)
    assert code == 2 and "none of the 1 image files" in err
    assert not table.exists()


# ------------------------------------------------------------ item 13: --metrics with no name


@pytest.mark.parametrize("value", [",,,", "", " , "])
def test_assess_empty_metrics_is_named_before_decoding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str
) -> None:
    broken = tmp_path / "x.png"
    broken.write_bytes(b"garbage")
    code, _, err = run_cli(capsys, "assess", broken, "--metrics", value)
    assert code == 2
    assert "no metrics given" in err and "decode" not in err


# ----------------------------------------------------- item 17: progress and a full disk


def test_assess_reports_progress_on_large_images_stderr_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from restora.cli import assess as assess_module

    image = _save(_noisy(), tmp_path / "big.png")
    code, out, err = run_cli(capsys, "assess", image, "--json")
    assert code == 0 and err == ""  # a small image: no progress lines
    monkeypatch.setattr(assess_module, "PROGRESS_PIXELS", 100)
    code, out, err = run_cli(capsys, "assess", image, "--json")
    assert code == 0
    json.loads(out)  # stdout stays one JSON object
    lines = err.splitlines()
    assert [line.rsplit(" ", 2)[-2:] for line in lines] == [
        ["niqe", "(1/4)"],
        ["piqe", "(2/4)"],
        ["brisque", "(3/4)"],
        ["quality", "(4/4)"],
    ]
    assert all(line.startswith("restora: big.png") for line in lines)


def test_disk_full_names_the_file_being_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = _save(_noisy(), tmp_path / "a.png")
    table = tmp_path / "out" / "table.csv"

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    code, _, err = run_cli(capsys, "assess", image, "--metrics", "piqe", "--csv", table)
    assert code == 2
    assert os.strerror(errno.ENOSPC) in err and str(table) in err, err
    assert not table.exists() and list(table.parent.iterdir()) == []
