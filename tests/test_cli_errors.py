"""Bad input gives exit 2 and one clear line on stderr, never "internal error" or a library's
progress bar (the reliability promises of docs/reliability.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from restora.cli import main
from restora.io import Image, save


@pytest.fixture()
def photo(tmp_path: Path, small_rgb: np.ndarray) -> Path:
    return Path(save(Image.from_array(small_rgb), tmp_path / "photo.png"))


@pytest.fixture()
def one_pixel(tmp_path: Path) -> Path:
    return Path(save(Image.from_array(np.zeros((1, 1, 3), np.uint8)), tmp_path / "one.png"))


@pytest.mark.parametrize(
    "extra",
    [["--severity", "nan"], ["--seed", "-1"], ["--severity", "inf"], ["--severity", "2"]],
)
def test_degrade_rejects_bad_numbers(
    photo: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("d.png")
    assert main(["degrade", str(photo), "-o", str(out), "--type", "noise", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err
    assert not out.exists()


def test_degrade_of_a_one_pixel_image_is_a_usage_error(
    one_pixel: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = one_pixel.with_name("d.png")
    assert main(["degrade", str(one_pixel), "-o", str(out), "--type", "blur"]) == 2
    assert "at least 2x2" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("param", ["strength=abc", "sigma=abc", "strength=nan", "bogus=1"])
def test_restore_rejects_a_bad_parameter_before_any_work(
    photo: Path, param: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("r.png")
    assert main(["restore", str(photo), "-o", str(out), "--expert", "nlm", "--param", param]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err
    assert not out.exists()


def test_a_too_long_instruction_is_a_usage_error(
    photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("r.png")
    assert main(["restore", str(photo), "-o", str(out), "-i", "denoise " * 1000]) == 2
    assert "at most 2000" in capsys.readouterr().err and not out.exists()
    assert main(["parse", "x" * 5000]) == 2


@pytest.mark.slow
def test_parse_prints_no_library_progress_bar() -> None:
    """A fresh process (the text encoder is loaded in it) answers an unsupported instruction
    with one line on stderr, no "Loading weights" bar."""
    done = subprocess.run(
        [sys.executable, "-m", "restora", "parse", "make it a cat"],
        capture_output=True,
        text=True,
        timeout=300,
        env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot do" in lines[0]
    assert "Loading" not in done.stderr and "%|" not in done.stderr


def test_every_output_location_is_checked_before_any_work(
    photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unwritable report folder stops the run before the image is written (as root a chmod
    does not make a folder unwritable, so the probe is told the folder refuses writes)."""
    import restora.io

    locked = tmp_path / "locked"
    locked.mkdir()
    real = restora.io._can_write_in
    monkeypatch.setattr(
        restora.io, "_can_write_in", lambda folder: folder != locked and real(folder)
    )
    out = tmp_path / "out.png"
    args = ["restore", str(photo), "-o", str(out), "--report", str(locked / "r.html")]
    assert main(args) == 2
    assert "not writable" in capsys.readouterr().err
    assert not out.exists()


def test_a_file_name_too_long_is_refused_before_any_work(
    photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("a" * 300 + ".png")
    assert main(["degrade", str(photo), "-o", str(out), "--type", "noise"]) == 2
    err = capsys.readouterr().err
    assert "too long" in err and "internal error" not in err


def test_a_full_disk_is_one_line_and_exit_2(
    photo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno
    import os

    import restora.io

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(photo.with_name("d.png")))

    monkeypatch.setattr(restora.io, "write_bytes_atomic", full)
    monkeypatch.setattr(restora.io, "save", full)
    out = photo.with_name("d.png")
    assert main(["degrade", str(photo), "-o", str(out), "--type", "noise"]) == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and len(err.splitlines()) == 1
