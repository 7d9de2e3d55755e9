"""Reliability of restora.io and ``restora assess``: the CSV follows the output rules, images
too large for the memory available are refused before decoding, and the atomic writer cleans
up after writes that were killed."""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from restora import io as rio
from restora.errors import ImageTooLargeError

from .helpers import run_cli


def _photo(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:120, 0:128].astype(np.float32)
    image = np.dstack([x / 127, y / 119, (x + y) / 246]) + rng.normal(0, 0.03, (120, 128, 3))
    PILImage.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)).save(path)
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ------------------------------------------------------------------------- assess --csv rules


def test_csv_over_the_input_image_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "photo.png")
    before = _snapshot(tmp_path)
    for extra in ([], ["--overwrite"]):
        code, _, err = run_cli(capsys, "assess", photo, "--csv", photo, *extra)
        assert code == 2, (extra, err)
        assert len(err.strip().splitlines()) == 1 and "input" in err, err
        assert "Traceback" not in err
    assert _snapshot(tmp_path) == before  # nothing written, no temporary file left


def test_csv_over_an_image_inside_the_input_folder_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo(folder / "a.png", 1)
    _photo(folder / "b.png", 2)
    before = _snapshot(folder)
    code, _, err = run_cli(capsys, "assess", folder, "--csv", folder / "b.png", "--overwrite")
    assert code == 2 and "refusing to overwrite the input" in err
    # an image name that is not an input yet would become one on the next run
    code, _, err = run_cli(capsys, "assess", folder, "--csv", folder / "new.png")
    assert code == 2 and ".csv" in err
    assert _snapshot(folder) == before


def test_csv_over_the_reference_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photo, ref = _photo(tmp_path / "photo.png", 1), _photo(tmp_path / "ref.png", 2)
    before = _snapshot(tmp_path)
    code, _, err = run_cli(
        capsys, "assess", photo, "--ref", ref, "--metrics", "psnr", "--csv", ref, "--overwrite"
    )
    assert code == 2 and "input" in err
    assert _snapshot(tmp_path) == before


def test_existing_csv_needs_overwrite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    photo = _photo(tmp_path / "photo.png")
    table = tmp_path / "table.csv"
    table.write_text("keep me\n")
    code, out, err = run_cli(capsys, "assess", photo, "--csv", table)
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert out == "" and table.read_text() == "keep me\n"
    code, _, err = run_cli(capsys, "assess", photo, "--csv", table, "--overwrite")
    assert code == 0, err
    assert table.read_text().startswith("file,niqe,piqe,brisque,quality")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_csv_and_report_cannot_share_a_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "photo.png")
    same = tmp_path / "out.html"
    code, _, err = run_cli(capsys, "assess", photo, "--csv", same, "--report", same)
    assert code == 2 and "same file" in err
    assert not same.exists()


# ------------------------------------------------------------ memory: refuse before decoding


def _png_declaring(path: Path, width: int, height: int, mode: int = 0) -> Path:
    """A PNG of a few hundred bytes whose header declares ``width`` x ``height`` grey (mode
    0) or RGB (2) pixels; its data holds four rows (Pillow would make up the rest, slowly)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    row = b"\x00" + b"\x80" * (width * (3 if mode == 2 else 1))
    data = zlib.compress(row * 4, 9)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    path.write_bytes(png)
    return path


def test_huge_declared_image_is_refused_quickly_without_decoding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = _png_declaring(tmp_path / "huge.png", 12000, 12000)  # 144 MP, under the 150 MP limit
    assert huge.stat().st_size < 200_000
    monkeypatch.setattr(rio, "available_memory", lambda: 1_000_000_000)
    # refused before Pillow is asked for a single pixel (a check of what is done, not of speed)
    from PIL import ImageFile

    def no_decoding(self: Any) -> None:
        pytest.fail("decoded before the memory check")

    monkeypatch.setattr(PILImage.Image, "load", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    code, out, err = run_cli(capsys, "assess", huge, "--json")
    assert code == 2 and out == ""
    line = err.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "--max-pixels" in line and "12000x12000" in line
    assert "1.0 GB available" in line and "needs about" in line and "to assess" in line
    # the same refusal from the library
    with pytest.raises(ImageTooLargeError, match="--max-pixels"):
        rio.load(huge)


def test_memory_check_uses_the_estimate_of_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = _photo(tmp_path / "photo.png")  # 120x128: about 2 MB to decode
    monkeypatch.setattr(rio, "available_memory", lambda: 50_000_000)
    assert rio.load(photo).rgb.shape == (120, 128, 3)
    with pytest.raises(ImageTooLargeError, match=r"needs about 2\.3 GB of memory to test it"):
        rio.load(photo, peak_memory=lambda header: 2e9, purpose="test it")
    monkeypatch.setattr(rio, "available_memory", lambda: None)  # unknown: no refusal
    assert rio.load(photo, peak_memory=lambda header: 1e15).rgb.shape == (120, 128, 3)


def test_pixel_limit_still_comes_first(tmp_path: Path) -> None:
    huge = _png_declaring(tmp_path / "huge.png", 20000, 10000, mode=2)
    with pytest.raises(ImageTooLargeError, match=r"over the limit of 150\.0"):
        rio.load(huge)


def test_assess_estimate_is_bounded_for_large_images() -> None:
    """What ``assess`` expects to need for a 12000x12000 photo: the kept float32 pixels plus
    bounded, strip-wise metrics (it measured 2.5-2.8 GB; it was over 11 GB before)."""
    from restora.cli.assess import _peak_memory, _resident_bytes

    header = rio.ImageHeader(Path("x.png"), "PNG", "RGB", 12000, 12000)
    estimate = _peak_memory(["niqe", "piqe", "quality"], with_ref=False)(header)
    assert _resident_bytes(header) < estimate < 2.5e9
    assert max(estimate, header.decode_bytes) < 5e9
    grey = rio.ImageHeader(Path("x.png"), "PNG", "L", 12000, 12000)
    assert _peak_memory(["niqe", "piqe", "quality"], with_ref=False)(grey) < 1e9


def test_available_memory_from_the_system_and_cgroups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    available = rio.available_memory()
    assert available is None or available > 0
    # cgroup v2 with a limit: the headroom, page cache not counted as used
    (tmp_path / "memory.max").write_text("4000000000\n")
    (tmp_path / "memory.current").write_text("1500000000\n")
    (tmp_path / "memory.stat").write_text("anon 1\nfile 500000000\ninactive_file 2\n")
    membership = tmp_path / "cgroup"
    membership.write_text("0::/\n")
    assert rio._cgroup_headroom(tmp_path, membership) == 3_000_000_000
    (tmp_path / "memory.max").write_text("max\n")
    assert rio._cgroup_headroom(tmp_path, membership) is None
    monkeypatch.setattr(rio, "_cgroup_headroom", lambda: 123_000_000)
    assert rio.available_memory() == 123_000_000


# --------------------------------------------------------------------- stale temporary files


def _age(path: Path, seconds: float) -> Path:
    """Make ``path`` (created if missing) look ``seconds`` old."""
    if not path.exists() and not path.is_symlink():
        path.write_bytes(b"partial")
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp), follow_symlinks=False)
    return path


def test_atomic_writer_removes_only_its_own_stale_temporaries(tmp_path: Path) -> None:
    hour = rio.STALE_AFTER_SECONDS
    stale = [
        _age(tmp_path / ".photo.png.k2j4m8q1.tmp", 2 * hour),
        _age(tmp_path / ".restora-probe-ab_cd123", 3 * hour),
    ]
    kept = {
        ".photo.png.fresh123.tmp": 60,  # a write in progress
        "photo.png.k2j4m8q1.tmp": 2 * hour,  # not hidden: not restora's
        ".photo.png.K2J4M8Q1.tmp": 2 * hour,  # not tempfile's alphabet
        ".photo.png.short.tmp": 2 * hour,  # not eight characters
        ".photo.png.k2j4m8q1.tmp.bak": 2 * hour,
        "notes.txt": 2 * hour,
    }
    for name, age in kept.items():
        _age(tmp_path / name, age)
    held = _age(tmp_path / ".held.png.zz99yy88.tmp", 2 * hour)
    folder = tmp_path / ".folder.png.abcdefgh.tmp"
    folder.mkdir()
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"not a temporary file")
    link = tmp_path / ".link.png.qwertyui.tmp"
    link.symlink_to(target)
    _age(link, 2 * hour)

    with held.open("rb"):  # open in this process: an active writer
        rio.write_bytes_atomic(tmp_path / "out.png", b"data")
    assert (tmp_path / "out.png").read_bytes() == b"data"
    for path in stale:
        assert not path.exists(), path.name
    for name in kept:
        assert (tmp_path / name).exists(), name
    assert held.exists() and folder.is_dir() and link.is_symlink() and target.exists()
    # the folder was swept once: a second write does not rescan it
    again = _age(tmp_path / ".photo.png.zzzzzzzz.tmp", 2 * hour)
    rio.write_bytes_atomic(tmp_path / "out2.png", b"data")
    assert again.exists()
    # an explicit sweep removes it, and the held file now that it is closed
    assert rio.sweep_stale_temporaries(tmp_path) == 2
    assert not again.exists() and not held.exists()


def test_temporary_pattern_matches_what_the_writer_creates(tmp_path: Path) -> None:
    import tempfile

    fd, name = tempfile.mkstemp(prefix=".photo.png.", suffix=".tmp", dir=tmp_path)
    os.close(fd)
    assert rio.TEMPORARY_NAME.fullmatch(Path(name).name)
    fd, name = tempfile.mkstemp(prefix=".restora-probe-", dir=tmp_path)
    os.close(fd)
    assert rio.PROBE_NAME.fullmatch(Path(name).name)
