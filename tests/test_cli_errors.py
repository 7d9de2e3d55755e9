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
