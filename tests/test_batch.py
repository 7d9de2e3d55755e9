"""restora batch: file listing, manifest, error isolation, resume after SIGINT and SIGKILL,
worker processes, and the Ray engine against the local one."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.batch import BatchConfig, Manifest, list_images, output_names, run_batch
from restora.batch.job import check_roots
from restora.batch.storage import sweep_partial_writes
from restora.bench.batch import make_folder
from restora.errors import InputError
from restora.experts import experts_for_task

from .test_cli import run_cli

DENOISE = BatchConfig(tasks=("denoise",))


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _manifest_rows(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if '"kind": "header"' not in line]


def test_listing_skips_hidden_and_non_images_and_keeps_relative_paths(tmp_path: Path) -> None:
    for name in ("a.png", "b.JPG", "sub/c.tif", ".hidden.png", ".cache/d.png", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert list_images(tmp_path) == ["a.png", "b.JPG", "sub/c.tif"]


def test_output_names_never_collide() -> None:
    names = output_names(["a.jpg", "a.png", "b.tif", "sub/a.jpg"])
    assert names == {
        "a.jpg": "a.jpg.png",
        "a.png": "a.png.png",
        "b.tif": "b.png",
        "sub/a.jpg": "sub/a.png",
    }
    assert len(set(names.values())) == len(names)


def test_output_root_must_be_apart_from_the_input_root(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for out in ("in", "in/out"):
        with pytest.raises(InputError, match="IN_DIR"):
            check_roots(tmp_path / "in", tmp_path / out)
    with pytest.raises(InputError, match="inside OUT_DIR"):
        check_roots(tmp_path / "in", tmp_path)
    check_roots(tmp_path / "in", tmp_path / "out")  # separate folders are fine


def test_manifest_drops_a_line_cut_by_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    book = Manifest(path)
    book.open({"in_dir": "x"})
    book.append({"file": "a.png", "status": "done"})
    book.append({"file": "b.png", "status": "failed"})
    book.close()
    with open(path, "a") as handle:
        handle.write('{"file": "c.png", "sta')  # the kill came mid-append
    size = path.stat().st_size
    again = Manifest(path)
    assert path.stat().st_size == size  # reading never changes the file
    assert again.done == {"a.png"}
    assert set(again.rows) == {"a.png", "b.png"}
    again.open({"in_dir": "x"})
    with pytest.raises(InputError, match="another restora batch"):
        Manifest(path).open({"in_dir": "x"})  # a second run on the same folder
    again.append({"file": "c.png", "status": "done"})
    again.close()
    assert Manifest(path).done == {"a.png", "c.png"}
    assert path.read_text().count("\n") == 4  # header + 3 complete rows, no glued line


def test_sweep_removes_only_this_batchs_temporary_files(tmp_path: Path) -> None:
    (tmp_path / ".a.png.k2j4_xq0.tmp").write_bytes(b"half")  # tempfile's 8 random characters
    (tmp_path / ".other.png.abcdefgh.tmp").write_bytes(b"not ours")
    (tmp_path / "a.png").write_bytes(b"done")
    assert sweep_partial_writes(str(tmp_path), ["a.png"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.png.abcdefgh.tmp", "a.png"]


def test_cli_isolates_bad_files_and_never_touches_the_input(
    tmp_path: Path, astronaut: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    names = make_folder(src, astronaut, 4, side=40)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (src / "empty.png").write_bytes(b"")
    before = _digest(src)
    code, stdout, err = run_cli(capsys, "batch", src, out, "--task", "denoise", "--json")
    assert code == 1, err  # files failed: exit 1, the count on the last line of stderr
    assert err.strip().splitlines()[-1].startswith("restora batch: 2 of 6 files failed")
    report = json.loads(stdout)
    assert (report["files"], report["done"], report["failed"]) == (6, 4, 2)
    assert {f["file"] for f in report["failures"]} == {"broken.jpg", "empty.png"}
    assert _digest(src) == before
    for name in names:
        restored = np.asarray(PILImage.open(out / name))
        assert restored.shape == (40, 40, 3)
    summary = json.loads((out / "batch_summary.json").read_text())
    rows = {r["file"]: r for r in summary["files"]}
    assert rows["broken.jpg"]["status"] == "failed" and "broken.jpg" in rows["broken.jpg"]["error"]
    good = rows[names[0]]
    # the fidelity judge keeps one of the task's best experts (the best is tried first)
    (expert,) = good["experts"]
    denoisers = [e.name for e in experts_for_task("denoise")]
    assert good["tasks"] == ["denoise"] and expert in denoisers
    assert 0 <= good["quality_before"] <= 100 and 0 <= good["quality_after"] <= 100
    csv_lines = (out / "batch_summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith("file,output,status,tasks")
    assert len(csv_lines) == 7
    # a second run without --resume must not silently mix with the first
    code, _, err = run_cli(capsys, "batch", src, out, "--task", "denoise")
    assert code == 2 and "--resume" in err and len(err.strip().splitlines()) == 1
    # --resume with other settings is refused too
    code, _, err = run_cli(capsys, "batch", src, out, "--task", "deblur", "--resume")
    assert code == 2 and "tasks" in err
    args = ["batch", src, out, "--task", "denoise", "--resume", "--progress"]
    code, stdout, err = run_cli(capsys, *args)
    assert code == 1  # the two broken files failed again
    assert "restora batch" in err and "6/6" in err  # the bar, counting the files done before
    assert "4 of 6 done" in stdout and "4 already done" in stdout
    code, _, err = run_cli(capsys, "batch", src, src / "x", "--task", "denoise")
    assert code == 2 and "inside IN_DIR" in err
    code, _, err = run_cli(capsys, "batch", src, tmp_path / "o2", "--expert", "nope")
    assert code == 2 and "unknown expert" in err and not (tmp_path / "o2").exists()
    assert _digest(src) == before


def test_remote_roots_go_through_pyarrow(
    tmp_path: Path, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``s3://``-style roots: listing, reading, writing and summaries through a pyarrow
    FileSystem (a LocalFileSystem standing in for the object store)."""
    from pyarrow import fs as pafs

    from restora.batch import job, storage

    bucket = tmp_path / "bucket"

    def fake_store(uri: str) -> tuple[pafs.FileSystem, str]:
        assert uri.startswith("mem://")
        return pafs.LocalFileSystem(), str(bucket / uri.removeprefix("mem://")).rstrip("/")

    monkeypatch.setattr(job, "filesystem_for", fake_store)
    monkeypatch.setattr(storage, "filesystem_for", fake_store)
    names = make_folder(bucket / "raw", astronaut, 3, side=40)
    with pytest.raises(InputError, match="--manifest"):
        run_batch("mem://raw", "mem://restored", DENOISE, progress=False)
    report = run_batch(
        "mem://raw", "mem://restored", DENOISE, manifest=tmp_path / "m.jsonl", progress=False
    )
    assert report.done == 3 and report.summary_csv == "mem://restored/batch_summary.csv"
    local = run_batch(bucket / "raw", tmp_path / "local", DENOISE, progress=False)
    assert local.done == 3
    for name in names:
        assert (bucket / "restored" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert _comparable(bucket / "restored" / "batch_summary.json") == _comparable(
        tmp_path / "local" / "batch_summary.json"
    )


def _batch_process(src: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "restora", "batch", str(src), str(out)]
    return subprocess.Popen(
        [*command, "--task", "denoise", "--no-progress", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


STALL_S = 180.0
"""A batch run that records no new row for this long hangs: the only wall-clock limit of the
tests below, which wait as long as rows keep arriving (a busy machine makes them slow, not
wrong). It covers the start-up too (imports and models: seconds, a minute when very busy)."""
STOP_S = 600.0
"""Bound on how long a batch takes to end after Ctrl-C or SIGKILL: a guard against a hang, not
a speed check (it takes well under a second on an idle machine; in-flight images finish first,
which on a machine loaded by other jobs took over two minutes)."""


def _rows(manifest: Path) -> int:
    return manifest.read_text().count("\n") if manifest.exists() else 0


def _wait_for_rows(manifest: Path, at_least: int, process: subprocess.Popen[bytes]) -> None:
    """Until the manifest holds more than ``at_least`` lines; fails when the batch ends first
    or records nothing for :data:`STALL_S`."""
    seen, since = -1, time.monotonic()
    while (rows := _rows(manifest)) <= at_least:
        if process.poll() is not None:
            pytest.fail(f"the batch ended early: {process.stderr.read().decode()[-500:]}")
        if rows != seen:
            seen, since = rows, time.monotonic()
        elif time.monotonic() - since > STALL_S:
            process.kill()
            pytest.fail(f"the batch recorded nothing for {STALL_S:.0f} s at {rows} lines")
        time.sleep(0.05)


def _finish(process: subprocess.Popen[bytes], manifest: Path) -> tuple[bytes, bytes]:
    """The output of a batch run once it ends, however long that takes while rows keep
    arriving; fails when it records nothing for :data:`STALL_S`."""
    seen, since = -1, time.monotonic()
    while True:
        try:
            return process.communicate(timeout=1.0)  # output is kept across timeouts
        except subprocess.TimeoutExpired:
            rows = _rows(manifest)
            if rows != seen:
                seen, since = rows, time.monotonic()
            elif time.monotonic() - since > STALL_S:
                process.kill()
                _, err = process.communicate()
                pytest.fail(
                    f"the batch recorded nothing for {STALL_S:.0f} s: {err.decode()[-500:]}"
                )


def test_200_images_survive_ctrl_c_and_sigkill_then_resume(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    names = make_folder(src, astronaut, 200)
    manifest = out / "batch_manifest.jsonl"

    first = _batch_process(src, out)
    _wait_for_rows(manifest, 40, first)
    first.send_signal(signal.SIGINT)  # Ctrl-C: stops cleanly and writes the summary
    _, err = first.communicate(timeout=STOP_S)
    assert first.returncode == 130, err.decode()[-500:]
    assert b"--resume" in err
    summary = json.loads((out / "batch_summary.json").read_text())
    assert summary["totals"]["pending"] > 0 and summary["totals"]["done"] >= 40

    done_before = len(Manifest(manifest).done)
    second = _batch_process(src, out, "--resume")
    _wait_for_rows(manifest, done_before + 40, second)
    second.kill()  # SIGKILL: no cleanup at all
    second.wait(timeout=STOP_S)
    done_killed = Manifest(manifest).done
    assert done_before + 40 <= len(done_killed) < 200
    for name in done_killed:  # everything recorded is complete on disk
        assert np.asarray(PILImage.open(out / name)).shape == (48, 48, 3)

    third = _batch_process(src, out, "--resume", "--json")
    stdout, err = _finish(third, manifest)
    assert third.returncode == 0, err.decode()[-500:]
    report = json.loads(stdout)
    assert report["skipped"] == len(done_killed)
    assert report["processed"] == 200 - len(done_killed)
    assert (report["done"], report["failed"]) == (200, 0)

    rows = _manifest_rows(manifest)
    done_rows = [r["file"] for r in rows if r["status"] == "done"]
    assert sorted(done_rows) == sorted(names)  # every file done exactly once
    outputs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert outputs == sorted(names)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    for name in names[::10]:
        assert np.asarray(PILImage.open(out / name)).shape == (48, 48, 3)


def test_worker_processes_give_the_same_outputs(tmp_path: Path, astronaut: np.ndarray) -> None:
    src = tmp_path / "in"
    names = make_folder(src, astronaut, 6, side=40)
    one = run_batch(src, tmp_path / "one", DENOISE, progress=False)
    two = run_batch(src, tmp_path / "two", DENOISE, workers=2, progress=False)
    assert one.done == two.done == 6
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_a_file_that_kills_its_worker_is_named_and_the_run_goes_on(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    """A worker that dies takes the files in flight with it: they are retried one by one, the
    culprit is recorded as failed, every other file is done exactly once."""
    from restora.batch.local import CRASHED, run_local

    from ._crashing_worker import crash_on_marked

    src, out = tmp_path / "in", tmp_path / "out"
    names = make_folder(src, astronaut, 7, side=40)
    culprit = "b_crash.png"
    (src / culprit).write_bytes((src / names[0]).read_bytes())
    files = list_images(src)
    outputs = output_names(files)
    rows: list[dict] = []
    run_local(
        files,
        outputs,
        str(src),
        str(out),
        DENOISE,
        workers=2,
        on_row=rows.append,
        process=crash_on_marked,
    )
    assert sorted(r["file"] for r in rows) == sorted(files)  # each file exactly once
    failed = [r for r in rows if r["status"] == "failed"]
    assert [r["file"] for r in failed] == [culprit] and failed[0]["error"] == CRASHED
    done = sorted(r["output"] for r in rows if r["status"] == "done")
    assert done == sorted(names)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == sorted(names)


def _comparable(summary: Path) -> list[dict]:
    rows = json.loads(summary.read_text())["files"]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _ray_sessions() -> set[Path]:
    """Session folders of Ray (its default place and the run's own) in the temp folders."""
    roots = {Path(tempfile.gettempdir()), Path("/tmp")}
    return {
        p for r in roots for pattern in ("ray/session_*", "restora-ray-*") for p in r.glob(pattern)
    }


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ray_engine_matches_the_local_engine(
    tmp_path: Path, astronaut: np.ndarray, capfd: pytest.CaptureFixture[str]
) -> None:
    """The same rows and bytes as the local engine; the Ray the run starts is quiet on stderr
    and leaves no session folder behind (it printed 7 lines and left its folders)."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    src = tmp_path / "in"
    names = make_folder(src, astronaut, 2, side=40)
    (src / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    config = BatchConfig(instruction="remove the noise", threads=1)
    local = run_batch(src, tmp_path / "local", config, progress=False)
    sessions = _ray_sessions()
    capfd.readouterr()
    remote = run_batch(src, tmp_path / "ray", config, engine="ray", workers=2, progress=False)
    err = capfd.readouterr().err
    assert not ray.is_initialized() and _ray_sessions() == sessions
    # restora's own line for the bad file, and one line per actor Ray's core prints that Python
    # cannot turn off (ray-project/ray#53727)
    others = [
        line
        for line in err.splitlines()
        if line
        and not line.removeprefix("restora: WARNING: ").startswith("bad.png: ")
        and "core_worker.cc" not in line
    ]
    assert others == []
    assert (local.done, local.failed) == (remote.done, remote.failed) == (2, 1)
    for name in names:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()
    local_rows = _comparable(tmp_path / "local" / "batch_summary.json")
    ray_rows = _comparable(tmp_path / "ray" / "batch_summary.json")
    assert local_rows == ray_rows
    assert any(r["degradations"] for r in local_rows)  # the agent ran and analysed
