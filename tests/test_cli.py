"""The command-line contract: help everywhere, exit codes, one-line errors, nothing written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.cli import COMMANDS, main

from .test_io import gradient, read_only_folder


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    PILImage.fromarray((gradient(64, 80) * 255).astype(np.uint8)).save(path)
    return path


def bad_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(exist_ok=True)
    good_png = folder / "good.png"
    PILImage.fromarray((gradient(120, 160) * 255).astype(np.uint8)).save(good_png)
    good_jpg = folder / "good.jpg"
    PILImage.fromarray((gradient(120, 160) * 255).astype(np.uint8)).save(good_jpg, quality=90)
    cases = {
        "missing": folder / "missing.png",
        "directory": folder / "adir",
        "empty": folder / "empty.png",
        "random": folder / "random.jpg",
        "truncated_png": folder / "cut.png",
        "truncated_jpeg": folder / "cut.jpg",
        "unsupported": folder / "anim.gif",
        "text": folder / "notes.png",
    }
    cases["directory"].mkdir()
    cases["empty"].write_bytes(b"")
    cases["random"].write_bytes(np.random.default_rng(0).bytes(5000))
    cases["truncated_png"].write_bytes(good_png.read_bytes()[:300])
    cases["truncated_jpeg"].write_bytes(good_jpg.read_bytes()[: good_jpg.stat().st_size // 3])
    PILImage.new("RGB", (8, 8)).save(cases["unsupported"])
    cases["text"].write_text("this is not an image\n")
    return cases


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, err = run_cli(capsys, command, "--help")
    assert code == 0, err
    assert "Usage:" in out and command in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from restora import __version__

    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and __version__ in out


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["nonsense"], ["restore"], ["degrade", "x.png"], ["serve", "--port", "0"]):
        code, out, err = run_cli(capsys, *args)
        assert code == 2, args
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("restora: error:")


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "directory",
        "empty",
        "random",
        "truncated_png",
        "truncated_jpeg",
        "unsupported",
        "text",
    ],
)
@pytest.mark.parametrize("command", ["restore", "degrade", "analyze", "assess"])
def test_bad_inputs_exit_2_with_one_line_and_write_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str, command: str
) -> None:
    path = bad_inputs(tmp_path / "in")[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = [command, str(path)]
    if command in ("restore", "degrade"):
        args += ["-o", str(out_dir / "result.png")]
    if command == "restore":
        args += ["--task", "denoise"]
    if command == "degrade":
        args += ["--type", "noise"]
    code, out, err = run_cli(capsys, *args)
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("restora: error:"), err
    assert "Traceback" not in err
    assert list(out_dir.iterdir()) == []


def test_image_over_the_limit(
    capsys: pytest.CaptureFixture[str], photo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o.png"
    code, _, err = run_cli(
        capsys, "restore", photo, "-o", out, "--task", "denoise", "--max-pixels", "1000"
    )
    assert code == 2 and "limit of 1,000 pixels" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_read_only_output_folder(
    capsys: pytest.CaptureFixture[str], photo: Path, tmp_path: Path
) -> None:
    folder = read_only_folder(tmp_path)
    target = folder / "restora-out.png"
    for args in (
        ["restore", photo, "-o", target, "--task", "denoise"],
        ["degrade", photo, "-o", target, "--type", "noise"],
    ):
        code, _, err = run_cli(capsys, *args)
        assert code == 2, err
        assert "not writable" in err and len(err.strip().splitlines()) == 1
        assert not target.exists()


def test_output_that_is_the_input_is_refused(
    capsys: pytest.CaptureFixture[str], photo: Path
) -> None:
    before = photo.read_bytes()
    code, _, err = run_cli(capsys, "degrade", photo, "-o", photo, "--type", "noise", "--overwrite")
    assert code == 2 and "input" in err
    assert photo.read_bytes() == before


def test_existing_output_needs_overwrite(
    capsys: pytest.CaptureFixture[str], photo: Path, tmp_path: Path
) -> None:
    existing = tmp_path / "exists.png"
    existing.write_bytes(b"mine")
    code, _, err = run_cli(capsys, "degrade", photo, "-o", existing, "--type", "noise")
    assert code == 2 and "--overwrite" in err
    assert existing.read_bytes() == b"mine"


def test_bad_device_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "--device", "tpu", "experts")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed `restora` script: real process, real exit codes, no traceback."""
    exe = shutil.which("restora", path=str(Path(sys.executable).parent)) or shutil.which("restora")
    if exe is None:
        pytest.skip("restora console script not installed")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    ok = subprocess.run([exe, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0 and "restore" in ok.stdout
    bad = subprocess.run(
        [exe, "analyze", str(tmp_path / "nope.png")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.strip() == f"restora: error: {tmp_path / 'nope.png'}: no such file"
