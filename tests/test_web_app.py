"""The web app's callbacks and views without a browser: upload checks, a run on a tiny image,
the bundled examples, the serve command's options."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

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
    assert shown.shape == (96, 128, 3) and shown.dtype == np.uint8
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
    before, after = pair
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
