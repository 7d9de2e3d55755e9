"""The web app's callbacks and views without a browser: upload checks, a run on a tiny image,
the bundled examples, the serve command's options."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

gr = pytest.importorskip("gradio", reason="the web extra (gradio) is not installed")

from restora.errors import ImageTooLargeError, InputError  # noqa: E402
from restora.io import Image, load, save  # noqa: E402


@pytest.fixture()
def noisy_png(small_rgb: np.ndarray, tmp_path: Path) -> Path:
    """A 96x128 crop of the astronaut with visible noise, as PNG."""
    from restora.degradations import apply

    noisy, _ = apply("noise", small_rgb, 0.6, np.random.default_rng(3))
    return save(Image.from_array(noisy), tmp_path / "noisy crop.png")


@pytest.fixture()
def page(tmp_path: Path):
    from restora.web.app import RestoraPage

    return RestoraPage(workdir=tmp_path / "runs")


def test_read_upload_messages_name_the_file_not_the_server_path(tmp_path: Path) -> None:
    from restora.web.views import read_upload

    with pytest.raises(InputError, match="upload a PNG"):
        read_upload(None)
    text = tmp_path / "uploads" / "notes.png"
    text.parent.mkdir()
    text.write_text("this is not a picture\n" * 20)
    with pytest.raises(InputError) as info:
        read_upload(text)
    assert "notes.png: not a recognised image file" in str(info.value)
    assert str(text.parent) not in str(info.value)


def test_oversize_upload_is_refused_with_the_limit(page, noisy_png: Path) -> None:
    from restora.web.views import read_upload

    with pytest.raises(ImageTooLargeError) as info:
        read_upload(noisy_png, max_pixels=5000)
    message = str(info.value)
    assert "128x96" in message and "over the limit" in message
    assert "RESTORA_MAX_PIXELS" in message and "--max-pixels" in message

    page.max_pixels = 5000
    with warnings.catch_warnings(record=True):  # gr.Warning outside a request is a warning
        warnings.simplefilter("always")
        shown, status = page.on_upload(str(noisy_png))
    assert shown is None
    assert status.startswith("**Cannot use this file:**") and "over the limit" in status
    with pytest.raises(gr.Error, match="over the limit"):
        next(page.on_run(str(noisy_png), "remove the noise"))


def test_bad_upload_gives_a_message_in_the_page(page, tmp_path: Path) -> None:
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shown, status = page.on_upload(str(bad))
    assert shown is None
    assert "holiday.jpg" in status and "Traceback" not in status
    assert any("holiday.jpg" in str(w.message) for w in caught)
    with pytest.raises(gr.Error) as info:
        next(page.on_run(str(bad), "remove the noise"))
    assert "holiday.jpg" in info.value.message
    with pytest.raises(gr.Error, match="upload a PNG"):
        next(page.on_run(None, "remove the noise"))


def test_good_upload_shows_a_preview(page, noisy_png: Path) -> None:
    shown, status = page.on_upload(str(noisy_png))
    assert Path(shown).is_relative_to(page.workdir)  # in the session's folder
    pixels = np.asarray(PILImage.open(shown))
    assert pixels.shape == (96, 128, 3) and pixels.dtype == np.uint8
    assert "128x96" in status
    assert page.on_upload(None) == (None, "")


def test_run_on_a_tiny_image_fills_every_output(page, noisy_png: Path) -> None:
    updates = list(page.on_run(str(noisy_png), "remove the noise"))
    assert len(updates) >= 3  # analysing, one line per step, the result
    assert all(len(u) == 10 for u in updates)
    assert updates[0][0].startswith("Analysing the 128x96 image")
    assert "Step 1: denoise with" in updates[1][0]
    status, pair, words, bars_before, bars_after, plan, rows, quality, png, report = updates[-1]
    assert "**Done**" in status
    before, after = (np.asarray(PILImage.open(p)) for p in pair)
    assert before.shape == after.shape == (96, 128, 3)
    assert not np.array_equal(before, after)
    assert "**Before:**" in words and "noise" in words
    assert bars_before["noise"] > 0.5 > bars_after["noise"]
    assert "**Plan:** denoise" in plan
    assert rows[0][1] == "denoise" and rows[0][3] == "kept"
    assert "no-reference score" in quality and "better" in quality
    result_path, report_path = Path(png["value"]), Path(report["value"])
    assert png["visible"] and report["visible"]
    assert result_path.name == "noisy_crop_restored.png"
    restored = load(result_path)
    assert (restored.height, restored.width) == (96, 128)
    text = report_path.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and "denoise" in text


def test_instruction_restora_cannot_do_is_a_page_message(page, noisy_png: Path) -> None:
    with pytest.raises(gr.Error) as info:
        list(page.on_run(str(noisy_png), "write me a poem about the sea"))
    assert "cannot do" in info.value.message


def test_examples_are_made_from_skimage_and_decode(tmp_path: Path) -> None:
    from restora.web.examples import EXAMPLE_SIDE, EXAMPLES, make_examples

    made = make_examples(tmp_path, EXAMPLES[:2])
    assert [example.name for _, example in made] == ["noisy astronaut", "hazy coffee"]
    first = load(made[0][0])
    assert max(first.height, first.width) == EXAMPLE_SIDE
    stamp = made[0][0].stat().st_mtime_ns
    again = make_examples(tmp_path, EXAMPLES[:1])
    assert again[0][0].stat().st_mtime_ns == stamp  # made once, reused after


def test_build_app_wires_the_page(tmp_path: Path) -> None:
    from restora.web.app import build_app

    app = build_app(examples=False, workdir=tmp_path)
    ids = {getattr(block, "elem_id", None) for block in app.blocks.values()}
    assert {"upload", "instruction", "run", "comparison", "download-image", "trace"} <= ids

    def wiring(trigger: str) -> tuple[list[str | None], list[str | None]]:
        """(input ids, output ids) of the callback that ``trigger`` starts."""
        for fn in app.fns.values():
            if any(getattr(app.blocks.get(t), "elem_id", None) == trigger for t, _ in fn.targets):
                return [b.elem_id for b in fn.inputs], [b.elem_id for b in fn.outputs]
        raise AssertionError(f"nothing runs on {trigger}")

    inputs, outputs = wiring("run")
    assert inputs == ["upload", "instruction"] and wiring("instruction")[1] == outputs
    assert {"comparison", "trace", "download-image", "download-report"} <= set(outputs)
    assert "input-preview" in wiring("upload")[1]


def test_serve_command_defaults_to_localhost() -> None:
    from click.testing import CliRunner

    from restora.cli import cli

    outcome = CliRunner().invoke(cli, ["serve", "--help"])
    assert outcome.exit_code == 0
    assert "127.0.0.1" in outcome.output and "--share" in outcome.output


def test_launch_on_a_busy_port_is_one_clear_error() -> None:
    import socket

    from restora.errors import RestoraError
    from restora.web.app import launch

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(RestoraError, match=f"cannot serve on 127.0.0.1:{port}.*--port"):
            launch(port=port, block=False, examples=False)


# ----------------------------------------------------------------- limits, sessions, serving


def _png_bomb(path: Path, side: int = 12000) -> Path:
    """A grey PNG declaring side x side pixels, all zero: 140 KB on disk for 12000x12000,
    1.7 GB as restora's float RGB (the upload that once took the server down)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    rows = bytes(side + 1) * 500  # filter byte + pixels, 500 rows at a time
    idat = b"".join(compressor.compress(rows) for _ in range(side // 500)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture()
def no_pixel_setting(monkeypatch: pytest.MonkeyPatch):
    """RESTORA_MAX_PIXELS unset (restored, and the settings re-read, afterwards)."""
    from restora.settings import reload

    monkeypatch.delenv("RESTORA_MAX_PIXELS", raising=False)
    reload()
    yield monkeypatch
    monkeypatch.undo()
    reload()


def test_pixel_bomb_is_refused_from_the_header_at_the_web_default(
    no_pixel_setting: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from PIL import Image as PILImage

    from restora.web.app import RestoraPage
    from restora.web.serving import DEFAULT_MAX_PIXELS

    bomb = _png_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 150_000
    page = RestoraPage(workdir=tmp_path / "runs")
    assert page.max_pixels == DEFAULT_MAX_PIXELS == 24_000_000

    def no_decoding(self: Any) -> None:
        raise AssertionError("the upload was decoded")

    no_pixel_setting.setattr(PILImage.Image, "load", no_decoding)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        shown, status = page.on_upload(str(bomb))
    assert shown is None
    assert "12000x12000 = 144.0 megapixels is over the limit of 24.0" in status
    assert "restora serve --max-pixels" in status
    with pytest.raises(gr.Error, match="over the limit"):
        next(page.on_run(str(bomb), "remove the noise"))


def test_pixel_limit_comes_from_the_option_then_the_environment(
    no_pixel_setting: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from restora.settings import reload
    from restora.web.app import RestoraPage

    assert RestoraPage(max_pixels=40e6, workdir=tmp_path).max_pixels == 40_000_000
    no_pixel_setting.setenv("RESTORA_MAX_PIXELS", "1e6")
    reload()
    assert RestoraPage(workdir=tmp_path).max_pixels == 1_000_000
    assert RestoraPage(max_pixels=5000, workdir=tmp_path).max_pixels == 5000


def test_long_instruction_is_one_clear_message(page, noisy_png: Path) -> None:
    from restora.web.app import build_app

    long_text = "remove the noise " * 120  # 2040 characters
    with pytest.raises(gr.Error) as info:
        next(page.on_run(str(noisy_png), long_text))
    assert f"{len(long_text)} characters; at most 2000" in info.value.message
    upload_ok, text_check = page.check_run(str(noisy_png), long_text)
    assert upload_ok["is_valid"] and not text_check["is_valid"]
    assert "at most 2000" in text_check["message"]
    assert all(check["is_valid"] for check in page.check_run(str(noisy_png), "   "))

    app = build_app(examples=False, workdir=page.workdir)
    box = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "instruction")
    assert box.max_length == 2000


def test_a_full_queue_says_busy_at_once(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from restora.web.app import RestoraPage
    from restora.web.serving import BUSY_MESSAGE

    page = RestoraPage(workdir=tmp_path, max_queue=2)
    assert all(c["is_valid"] for c in page.check_run(None, "remove the noise"))
    assert all(c["is_valid"] for c in page.check_run(None, "remove the noise"))
    busy, _ = page.check_run(None, "remove the noise")  # a burst: two let in a moment ago
    assert not busy["is_valid"] and busy["message"] == BUSY_MESSAGE
    assert "try again in a minute" in BUSY_MESSAGE

    later = RestoraPage(workdir=tmp_path, max_queue=2)
    later.app = SimpleNamespace(_queue=["waiting", "waiting"])  # type: ignore[assignment]
    assert not later.check_run(None, None)[0]["is_valid"]
    later.app = SimpleNamespace(_queue=["waiting"])  # type: ignore[assignment]
    assert later.check_run(None, None)[0]["is_valid"]


def test_a_session_that_ends_leaves_no_files(
    noisy_png: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from types import SimpleNamespace

    from restora.web.app import RestoraPage

    uploads = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    page = RestoraPage()  # its work folder is made inside Gradio's upload folder
    assert page.workdir.parent == uploads and page.workdir.name.startswith("restora-web-")

    def uploaded(name: str, digest: str) -> Path:
        """A file where Gradio's /upload puts it: <upload folder>/<content digest>/<name>."""
        target = uploads / digest / name
        target.parent.mkdir(parents=True)
        return Path(shutil.copy(noisy_png, target))

    ann, bob = SimpleNamespace(session_hash="ann-tab"), SimpleNamespace(session_hash="bob-tab")
    mine, shared = uploaded("mine.png", "a1"), uploaded("shared.png", "b2")
    ann_preview, _ = page.on_upload(str(mine), ann)
    page.on_upload(str(shared), ann)
    bob_preview, _ = page.on_upload(str(shared), bob)  # the same bytes: the same file
    assert Path(ann_preview).is_file() and Path(bob_preview).is_file()
    assert Path(ann_preview).parent != Path(bob_preview).parent

    page.end_session(ann)
    assert not mine.exists() and not mine.parent.exists()
    assert not Path(ann_preview).parent.exists()
    assert shared.is_file() and Path(bob_preview).is_file()  # bob's page is still open

    page.close()  # the server stops with bob's page open
    assert not shared.exists() and not page.workdir.exists()
    assert [p for p in uploads.rglob("*") if p.is_file()] == []
    page.close()  # again (atexit): nothing to do


def test_hosts_that_reach_the_network_are_told_apart() -> None:
    from restora.web.serving import exposure_warning, is_loopback, parse_auth

    for host in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost", "LocalHost"):
        assert is_loopback(host) and exposure_warning(host) is None
    for host in ("0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "myhost.example.org"):
        assert not is_loopback(host)
        assert "anyone" in (exposure_warning(host) or "")
    assert "public link" in (exposure_warning("127.0.0.1", share=True) or "")
    assert parse_auth("ann:s3:cret") == ("ann", "s3:cret")
    for bad in ("ann", "ann:", ":secret", " :secret", "", " ann:secret"):
        with pytest.raises(ValueError) as info:
            parse_auth(bad)
        assert "secret" not in str(info.value)


@pytest.fixture()
def launched(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """restora serve with the server replaced by a recorder of its options."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("restora.web.app.launch", lambda **options: calls.append(options))
    return calls


def test_serve_passes_its_limits_on(launched: list[dict[str, Any]]) -> None:
    from click.testing import CliRunner

    from restora.cli import cli

    outcome = CliRunner().invoke(cli, ["serve"])
    assert outcome.exit_code == 0, outcome.output
    assert "warning" not in outcome.stderr
    options = launched[-1]
    assert options["host"] == "127.0.0.1" and options["max_pixels"] is None  # page: 24e6
    assert options["max_upload_mb"] == 50 and options["max_queue"] == 8
    assert options["auth"] is None
    assert options["max_storage_mb"] == 500 and options["max_client_mb"] == 150
    assert options["uploads_per_minute"] == 20

    argv = ["serve", "--max-pixels", "40e6", "--max-upload-mb", "10", "--max-queue", "3"]
    argv += ["--auth", "ann:s3:cret", "--auth", "bob:pw"]
    argv += ["--max-storage-mb", "100", "--max-client-mb", "20", "--uploads-per-minute", "5"]
    assert CliRunner().invoke(cli, argv).exit_code == 0
    options = launched[-1]
    assert options["max_pixels"] == 40e6 and options["max_upload_mb"] == 10
    assert options["max_queue"] == 3
    assert options["max_storage_mb"] == 100 and options["max_client_mb"] == 20
    assert options["uploads_per_minute"] == 5
    assert options["auth"] == [("ann", "s3:cret"), ("bob", "pw")]


def test_serve_on_the_network_warns_on_stderr(launched: list[dict[str, Any]]) -> None:
    from click.testing import CliRunner

    from restora.cli import cli

    outcome = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert outcome.exit_code == 0
    assert "restora: warning: it listens on 0.0.0.0" in outcome.stderr
    assert "without a password" in outcome.stderr and "--auth" in outcome.stderr
    assert "warning" not in outcome.stdout
    outcome = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--auth", "ann:pw"])
    assert "asks for the --auth password" in outcome.stderr
    assert launched[-1]["host"] == "0.0.0.0"


@pytest.mark.parametrize("bad", ["annonly", "ann:", ":hunter2"])
def test_serve_refuses_a_malformed_auth_in_one_line(
    bad: str, launched: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    from restora.cli import main

    assert main(["serve", "--auth", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("restora: error:")
    assert "USER:PASSWORD" in err and "hunter2" not in err
    assert launched == []


def test_the_upload_component_hands_over_the_path_and_makes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradio.data_classes import FileData

    from restora.web.app import build_app

    uploads = tmp_path / "gradio"
    uploads.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    app = build_app(examples=False, workdir=tmp_path / "runs")
    upload = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "upload")
    picture = uploads / "d1" / "photo.png"
    picture.parent.mkdir()
    picture.write_bytes(b"not checked here")
    before = sorted(uploads.rglob("*"))
    assert upload.preprocess(FileData(path=str(picture))) == str(picture)
    assert upload.preprocess(None) is None
    with pytest.raises(gr.Error, match="Invalid file type"):
        upload.preprocess(FileData(path=str(uploads / "d1" / "notes.txt")))
    assert sorted(uploads.rglob("*")) == before  # gr.File's own leaves an empty file each time


def test_the_page_validates_runs_and_cleans_up_on_unload(tmp_path: Path) -> None:
    from restora.web.app import RUN_API_NAME, build_app

    app = build_app(examples=False, workdir=tmp_path)
    run = next(fn for fn in app.fns.values() if fn.api_name == RUN_API_NAME)
    assert getattr(run.validator, "__name__", "") == "check_run"
    assert run.concurrency_limit == 1
    unload = [fn for fn in app.fns.values() if any(t[1] == "unload" for t in fn.targets)]
    assert [getattr(fn.fn, "__name__", "") for fn in unload] == ["on_unload"]
    assert app.delete_cache == (600, 3600)
    assert app._queue.max_size == 8 + 4


def test_a_run_whose_page_closed_keeps_nothing(
    page, noisy_png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    monkeypatch.setattr("restora.agent.api.restore", lambda *args, **kwargs: object())
    visitor = SimpleNamespace(session_hash="gone")
    run = page.on_run(str(noisy_png), "remove the noise", visitor)
    assert next(run)[0].startswith("Analysing")
    page.end_session(visitor)  # the tab closes while the agent works
    assert list(run) == []  # nothing more to show, and nothing written
    assert not any(page.workdir.rglob("*.png"))
