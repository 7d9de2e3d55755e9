"""restora batch never loses or replaces what it did not write, and says when it failed: output
names that never collide (stable across resumes), no resume without a manifest, no overwrite
of someone else's files, stale temporary files swept, requests that would fail on every file
refused up front, a full disk stopping the run, exit 1 when any file failed.

The per-file restoration is replaced by a copy (``fast``): these tests are about the files
around it, and the real pipeline is tested in ``test_batch.py``."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.batch import output_names
from restora.batch.job import DISK_FULL, BatchConfig, check_request, is_disk_full
from restora.batch.storage import check_writable, sweep_partial_writes
from restora.errors import OutputError, RestoraError

from .helpers import read_only_folder, run_cli

FAST = ("--expert", "lanczos")


@pytest.fixture()
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """FileRestorer without models: the output is the input (each file's own pixels)."""
    from restora.batch import job

    def init(self: Any, config: BatchConfig) -> None:
        self.config = config

    def restore(self: Any, image: Any) -> tuple[Any, dict[str, Any]]:
        return image, {"width": image.width, "height": image.height, "experts": ["copy"]}

    monkeypatch.setattr(job.FileRestorer, "__init__", init)
    monkeypatch.setattr(job.FileRestorer, "restore", restore)


def _image(path: Path, value: int, side: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((side, side, 3), value, np.uint8)
    PILImage.fromarray(pixels).save(path, quality=95)  # quality: for the JPEG ones


def _folder(root: Path, count: int) -> list[str]:
    names = [f"img{k:02d}.png" for k in range(count)]
    for k, name in enumerate(names):
        _image(root / name, 20 * k + 10)
    return names


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _last_line(err: str) -> str:
    lines = err.strip().splitlines()
    return lines[-1] if lines else ""


# ------------------------------------------------------------------------------ output names


def test_names_never_collide_and_follow_the_documented_rule() -> None:
    # a.jpg and a.png both give a.png, so they keep their extension: a.jpg.png, taken twice
    assert output_names(["a.jpg", "a.png", "a.jpg.png"]) == {
        "a.jpg": "a.jpg.png",
        "a.jpg.png": "a.jpg~2.png",
        "a.png": "a.png.png",
    }
    assert output_names(["a.jpg", "a.jpg.png"]) == {"a.jpg": "a.png", "a.jpg.png": "a.jpg.png"}
    files = ["a.jpg", "a.png", "a.jpg.png", "a.jpg~2.png", "b.tif", "B.png", "sub/c.webp"]
    names = output_names(files)
    assert names == {
        "B.png": "B.png.png",
        "a.jpg": "a.jpg.png",
        "a.jpg.png": "a.jpg~3.png",  # ~2 is another input's own name
        "a.jpg~2.png": "a.jpg~2.png",
        "a.png": "a.png.png",
        "b.tif": "b.tif.png",  # b.png and B.png differ only by case
        "sub/c.webp": "sub/c.png",
    }
    assert output_names(reversed(files)) == names  # the order of the listing does not matter
    rng = np.random.default_rng(0)
    stems, suffixes = ["a", "A", "a.jpg", "a~2", "a.png", "b"], [".png", ".jpg", ".PNG", ".tif"]
    for _ in range(200):
        picked = {
            f"{stems[i]}{suffixes[j]}"
            for i, j in zip(rng.integers(0, 6, 6), rng.integers(0, 4, 6), strict=True)
        }
        lowered = [n.lower() for n in output_names(picked).values()]
        assert len(set(lowered)) == len(picked)


def test_outputs_already_written_keep_their_names_and_are_never_given_to_another() -> None:
    # a.jpg.png was done (by an older run) under the name a.jpg would get by itself
    assert output_names(["a.jpg", "a.png", "a.jpg.png"], {"a.jpg.png": "a.jpg.png"}) == {
        "a.jpg": "a.jpg~2.png",
        "a.jpg.png": "a.jpg.png",
        "a.png": "a.png.png",
    }
    # the file that was written to a.png is gone from the folder: a.png is still not free
    assert output_names(["a.png"], {"a.jpg": "a.png"}) == {"a.png": "a~2.png"}


def test_resume_never_replaces_a_finished_output_on_a_name_collision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fast: None
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _image(src / "a.jpg", 40)
    _image(src / "a.png", 120)
    _image(src / "a.jpg.png", 200)
    code, stdout, err = run_cli(capsys, "batch", src, out, *FAST, "--json")
    assert code == 0, err
    report = json.loads(stdout)
    assert (report["done"], report["failed"]) == (3, 0)
    first, second = out / "a.jpg.png", out / "a.jpg~2.png"
    assert np.asarray(PILImage.open(first)).max() < 100  # a.jpg's pixels
    assert np.asarray(PILImage.open(second)).min() == 200  # a.jpg.png's pixels
    digests = {p: _sha(p) for p in (first, second)}
    code, stdout, err = run_cli(capsys, "batch", src, out, *FAST, "--resume", "--json")
    assert code == 0, err
    assert json.loads(stdout)["skipped"] == 3
    assert {p: _sha(p) for p in (first, second)} == digests

    # a manifest of the old naming: a.jpg done into a.jpg.png, a.jpg.png failed on that name
    manifest = out / "batch_manifest.jsonl"
    header, *rows = (json.loads(line) for line in manifest.read_text().splitlines())
    by_file = {r["file"]: r for r in rows}
    old = [
        by_file["a.jpg"],
        by_file["a.png"],
        {**by_file["a.jpg.png"], "output": "a.jpg.png", "status": "failed", "error": "exists"},
    ]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in (header, *old)))
    second.unlink()
    code, stdout, err = run_cli(capsys, "batch", src, out, *FAST, "--resume", "--json")
    assert code == 0, err
    assert _sha(first) == digests[first]  # never replaced
    summary = {r["file"]: r for r in json.loads((out / "batch_summary.json").read_text())["files"]}
    assert summary["a.jpg"]["output"] == "a.jpg.png"
    assert summary["a.jpg.png"]["output"] == "a.jpg~2.png"
    assert np.asarray(PILImage.open(second)).min() == 200


# ----------------------------------------------------------------------- other people's files


def test_resume_without_a_manifest_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fast: None
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _folder(src, 2)
    _image(out / "img00.png", 255)
    (out / "batch_summary.csv").write_text("mine\n")
    before = {p.name: _sha(p) for p in out.iterdir()}
    code, _, err = run_cli(capsys, "batch", src, out, *FAST, "--resume")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "no batch manifest" in err and "without --resume" in err
    assert {p.name: _sha(p) for p in out.iterdir()} == before


def test_resume_never_replaces_the_output_of_a_file_that_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fast: None
) -> None:
    """A manifest of an older restora: img00.png failed because the user's img00.png was
    there. A failed file wrote nothing, so that file is not the run's to replace."""
    src, out = tmp_path / "in", tmp_path / "out"
    _folder(src, 2)
    code, _, err = run_cli(capsys, "batch", src, out, *FAST)
    assert code == 0, err
    manifest = out / "batch_manifest.jsonl"
    header, *rows = (json.loads(line) for line in manifest.read_text().splitlines())
    failed = {**rows[0], "status": "failed", "error": "img00.png: already exists"}
    manifest.write_text("".join(json.dumps(r) + "\n" for r in (header, failed, *rows[1:])))
    (out / "img00.png").write_bytes(b"the user's")
    code, _, err = run_cli(capsys, "batch", src, out, *FAST, "--resume")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "img00.png" in err and "--overwrite" in err
    assert (out / "img00.png").read_bytes() == b"the user's"
    code, _, err = run_cli(capsys, "batch", src, out, *FAST, "--resume", "--overwrite")
    assert code == 0, err
    assert (out / "img00.png").read_bytes() != b"the user's"


@pytest.mark.parametrize("theirs", ["img00.png", "batch_summary.csv", "batch_summary.json"])
def test_a_new_run_never_replaces_files_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fast: None, theirs: str
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _folder(src, 2)
    out.mkdir()
    (out / theirs).write_bytes(b"someone else's")
    (out / "notes.txt").write_text("unrelated")
    code, _, err = run_cli(capsys, "batch", src, out, *FAST)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert theirs in err and "--overwrite" in err
    assert sorted(p.name for p in out.iterdir()) == sorted({theirs, "notes.txt"})  # nothing done
    assert (out / theirs).read_bytes() == b"someone else's"
    code, _, err = run_cli(capsys, "batch", src, out, *FAST, "--overwrite")
    assert code == 0, err
    assert (out / theirs).read_bytes() != b"someone else's"
    assert (out / "notes.txt").read_text() == "unrelated"  # never one of batch's names


# -------------------------------------------------------------------------- temporary files


def test_stale_temporary_files_are_swept_on_a_new_run_and_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fast: None
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _folder(src, 3)
    out.mkdir()
    stale = [out / ".img00.png.a1b2c3d4.tmp", out / ".batch_summary.csv.zz_9yx8w.tmp"]
    kept = [
        out / ".img00.png.mine.tmp",  # not restora's pattern (8 characters of tempfile's)
        out / ".notes.txt.abcdefgh.tmp",  # not a name batch writes
        out / ".img01.png.ABCDEFGH.tmp",  # tempfile never uses capitals
    ]
    busy = out / ".img02.png.qwertyui.tmp"
    for path in (*stale, *kept, busy):
        path.write_bytes(b"half")
    with open(busy, "ab"):  # a write in progress in another process: left alone
        code, _, err = run_cli(capsys, "batch", src, out, *FAST)
        assert code == 0, err
        assert busy.exists()
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)
    # a kill during a write leaves one behind; resume sweeps it (and the one no longer busy)
    (out / ".img01.png.k2j4_xq0.tmp").write_bytes(b"half")
    code, _, err = run_cli(capsys, "batch", src, out, *FAST, "--resume")
    assert code == 0, err
    temporaries = sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp"))
    assert temporaries == sorted(p.name for p in kept)


def test_sweep_never_follows_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"precious")
    (tmp_path / ".a.png.abcdefgh.tmp").symlink_to(target)
    assert sweep_partial_writes(str(tmp_path), ["a.png"]) == 0
    assert target.read_bytes() == b"precious"


# -------------------------------------------------------------------- refused before any work


def test_a_parameter_of_the_wrong_type_fails_once_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fast: None
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _folder(src, 2)
    for value in ("abc", "true", "[1]"):
        args = ("--expert", "nlm", "--param", f"strength={value}")
        code, _, err = run_cli(capsys, "batch", src, out, *args)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "strength" in err and "number" in err
        assert not out.exists()
    code, _, err = run_cli(capsys, "batch", src, out, "--expert", "nlm", "--param", "nope=1")
    assert code == 2 and "no parameter 'nope'" in err and not out.exists()
    code, _, err = run_cli(capsys, "batch", src, out, "--expert", "nlm", "--param", "strength=1")
    assert code == 0, err  # an int where the default is a float is a number too


def test_the_request_is_checked_against_the_experts_descriptors() -> None:
    check_request(BatchConfig(expert="nlm", params={"strength": 0.5}))
    check_request(BatchConfig(tasks=("upscale",), params={"scale": 2}))
    with pytest.raises(RestoraError, match="strength takes a number"):
        check_request(BatchConfig(expert="nlm", params={"strength": True}))
    with pytest.raises(RestoraError, match="scale takes a number"):
        check_request(BatchConfig(tasks=("upscale",), params={"scale": "big"}))
    with pytest.raises(RestoraError, match="expert 'nlm' has no parameter"):
        check_request(BatchConfig(expert="nlm", params={"radius": 3}))
    with pytest.raises(RestoraError, match="performs 'denoise', not 'upscale'"):
        check_request(BatchConfig(expert="nlm", tasks=("upscale",)))
    with pytest.raises(RestoraError, match="unknown expert"):
        check_request(BatchConfig(expert="nope"))


def test_an_unwritable_out_dir_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fast: None
) -> None:
    src = tmp_path / "in"
    _folder(src, 2)
    (tmp_path / "file").write_text("x")
    for out in (read_only_folder(tmp_path) / "out", tmp_path / "file" / "out"):
        code, _, err = run_cli(capsys, "batch", src, out, *FAST)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "OUT_DIR is not writable" in err
        assert not out.exists()


def test_a_full_disk_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, *args, **kwargs)
        return Full(handle) if ".restora-probe-" in os.readlink(f"/proc/self/fd/{fd}") else handle

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc")
    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(OutputError, match=r"OUT_DIR is not writable \(no space left"):
        check_writable(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # the probe is removed


# ------------------------------------------------------------------------- failing at run time


def test_a_full_disk_during_the_run_stops_it_early(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from restora.batch import storage

    src, out = tmp_path / "in", tmp_path / "out"
    names = _folder(src, 6)
    real_write = storage.write_image
    writes: list[str] = []

    def write_image(image: Any, root: str, rel: str, **kwargs: Any) -> str:
        writes.append(rel)
        if len(writes) == 1:
            return real_write(image, root, rel, **kwargs)
        try:  # as restora.io reports it: an OutputError raised while handling the OSError
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            raise OutputError(f"{rel}: cannot write ({exc.strerror})") from None

    monkeypatch.setattr(storage, "write_image", write_image)
    code, stdout, err = run_cli(capsys, "batch", src, out, *FAST, "--json")
    assert code == 1
    assert writes == names[:2]  # stopped at the first full write, not after every file
    report = json.loads(stdout)
    assert (report["done"], report["failed"], report["pending"]) == (1, 1, 4)
    assert report["stopped"].startswith(DISK_FULL)
    assert report["failures"][0]["error"].startswith(DISK_FULL)
    assert "stopped early" in _last_line(err) and "--resume" in _last_line(err)
    monkeypatch.setattr(storage, "write_image", real_write)  # space freed
    code, stdout, err = run_cli(capsys, "batch", src, out, *FAST, "--resume", "--json")
    assert code == 0, err
    assert json.loads(stdout)["done"] == 6


def test_disk_full_is_recognised_through_wrapping_errors() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise OutputError("cannot write") from None
    except OutputError as exc:
        assert is_disk_full(exc)
    assert is_disk_full(OSError(errno.EDQUOT, "quota"))
    assert not is_disk_full(OSError(errno.EACCES, "denied"))
    assert not is_disk_full(OutputError("exists"))


def test_exit_status_is_1_when_any_file_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fast: None
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (src / "empty.jpg").write_bytes(b"")
    code, stdout, err = run_cli(capsys, "batch", src, tmp_path / "o1", *FAST)
    assert code == 1
    assert _last_line(err).startswith("restora batch: 2 of 2 files failed")
    assert "0 of 2 done, 2 failed" in stdout
    code, stdout, err = run_cli(capsys, "batch", src, tmp_path / "o2", *FAST, "--json")
    assert code == 1 and _last_line(err).startswith("restora batch: 2 of 2 files failed")
    assert (json.loads(stdout)["done"], json.loads(stdout)["failed"]) == (0, 2)
    _image(src / "good.png", 128)
    (src / "broken.png").unlink()
    (src / "empty.jpg").unlink()
    code, _, err = run_cli(capsys, "batch", src, tmp_path / "o3", *FAST)
    assert code == 0 and "failed" not in err, err
