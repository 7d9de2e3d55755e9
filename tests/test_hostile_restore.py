"""What a hostile user found in ``restora restore`` (issue 24): exit 2 writes nothing, an upscale
too large for memory is refused up front, out-of-range values are usage errors, grey stays grey,
and an instruction that contradicts ``--task`` is refused."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.cli import main
from restora.io import Image, save
from restora.vocabulary import TASKS


@pytest.fixture()
def photo(tmp_path: Path, small_rgb: np.ndarray) -> Path:
    return Path(save(Image.from_array(small_rgb), tmp_path / "photo.png"))


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err, err
    return err


def test_a_report_that_cannot_be_written_leaves_no_image(
    photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Room for the PNG but not the report: exit 2, and the PNG written first is removed, so
    that a rerun does not say "already exists"."""
    import restora.reports.restoration

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "rep.html"))

    monkeypatch.setattr(restora.reports.restoration, "write_report", full)
    out, report = tmp_path / "out.png", tmp_path / "rep.html"
    args = ["restore", str(photo), "-o", str(out), "--report", str(report), "--budget", "5"]
    assert main(args) == 2
    assert "No space left" in _one_error_line(capsys)
    assert not out.exists() and not report.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_a_failed_report_removes_only_the_image_this_run_created(tmp_path: Path) -> None:
    from restora.cli.restore import remove_own_output

    replaced = tmp_path / "replaced.png"
    replaced.write_bytes(b"old")
    remove_own_output(replaced, None)  # replaced with --overwrite: nothing to give back
    assert replaced.exists()
    ours, theirs = tmp_path / "ours.png", tmp_path / "theirs.png"
    ours.write_bytes(b"ours")
    theirs.write_bytes(b"theirs")
    remove_own_output(theirs, os.stat(ours))  # another file under that name now: kept
    assert theirs.exists()
    remove_own_output(ours, os.stat(ours))
    assert not ours.exists()


@pytest.mark.parametrize(("expert", "scale"), [("bicubic", "4"), ("ibp", "2")])
def test_an_upscale_too_large_for_memory_is_refused_up_front(
    photo: Path,
    expert: str,
    scale: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The output is counted: 96x128 x4 is 0.2 MP out, about 13 MB; 4 MB are "available"
    (enough to decode the input, 0.3 MB)."""
    import restora.io

    monkeypatch.setattr(restora.io, "available_memory", lambda: 4_000_000)
    out = photo.with_name("big.png")
    args = ["restore", str(photo), "-o", str(out), "--expert", expert, "--scale", scale]
    assert main(args) == 2
    err = _one_error_line(capsys)
    assert f"upscale it x{scale} with {expert}" in err
    assert "megapixels fit now" in err and "available" in err
    assert not out.exists()


def test_the_same_memory_is_enough_without_the_upscale(
    photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import restora.io

    monkeypatch.setattr(restora.io, "available_memory", lambda: 4_000_000)
    out = photo.with_name("denoised.png")
    assert main(["restore", str(photo), "-o", str(out), "--expert", "nlm"]) == 0


def test_the_upscale_estimate_counts_output_pixels() -> None:
    from restora.cli.restore import upscale_memory
    from restora.io import ImageHeader

    header = ImageHeader(Path("x.png"), "PNG", "RGB", 6000, 4000)  # 24 MP
    peak, purpose = upscale_memory("bicubic", (), 4, {})
    assert purpose == "upscale it x4 with bicubic"
    assert peak(header) > 24e6 * 16 * 50  # 384 MP out at ~50 bytes each: over 19 GB
    assert upscale_memory("nlm", (), None, {}) == (None, "read it")
    assert upscale_memory(None, ("denoise",), None, {}) == (None, "read it")
    assert upscale_memory(None, ("upscale",), 2, {})[1].startswith("upscale it x2")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "abc"])
def test_max_pixels_must_be_a_finite_count(
    photo: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("r.png")
    assert main(["restore", str(photo), "-o", str(out), "--max-pixels", value]) == 2
    assert "--max-pixels" in _one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize("value", ["inf", "nan", "-5", "0", "many"])
def test_restora_max_pixels_must_be_a_finite_count(
    photo: Path, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from restora.errors import InputError
    from restora.settings import reload

    monkeypatch.setenv("RESTORA_MAX_PIXELS", value)
    with pytest.raises(InputError, match="RESTORA_MAX_PIXELS"):
        reload()  # read when first needed: here, and again by the command
    try:
        out = photo.with_name("r.png")
        assert main(["restore", str(photo), "-o", str(out), "--expert", "nlm"]) == 2
        assert "RESTORA_MAX_PIXELS" in _one_error_line(capsys)
        assert not out.exists()
    finally:
        monkeypatch.delenv("RESTORA_MAX_PIXELS")
        reload()


def test_a_small_pixel_limit_is_said_in_pixels(
    photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("r.png")
    assert main(["restore", str(photo), "-o", str(out), "--max-pixels", "100"]) == 2
    err = _one_error_line(capsys)
    assert "limit of 100 pixels" in err and "0.0" not in err


@pytest.mark.parametrize(("expert", "scale"), [("ibp", "1"), ("bicubic", "8"), ("lanczos", "5")])
def test_an_upscale_factor_out_of_range_is_a_usage_error(
    photo: Path, expert: str, scale: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("r.png")
    assert main(["restore", str(photo), "-o", str(out), "--expert", expert, "--scale", scale]) == 2
    assert "x2, x3 or x4" in _one_error_line(capsys)
    assert not out.exists()


def test_batch_with_a_bad_scale_fails_once_before_any_work(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    for index in range(3):
        (in_dir / f"{index}.png").write_bytes(photo.read_bytes())
    assert main(["batch", str(in_dir), str(out_dir), "--expert", "bicubic", "--scale", "8"]) == 2
    assert "x2, x3 or x4" in _one_error_line(capsys)
    assert not out_dir.exists() or not any(out_dir.iterdir())


@pytest.mark.parametrize(
    ("expert", "shape", "params"),
    [
        ("cbm3d", (3, 3), []),
        ("cbm3d", (8, 8), ["--param", "sigma=25"]),
        ("bm3d_deblock", (1, 200), ["--param", "quality=20"]),
        ("lime", (1, 1), []),
        ("lime", (200, 1), []),
    ],
)
def test_an_image_too_small_for_an_expert_is_a_usage_error(
    tmp_path: Path,
    expert: str,
    shape: tuple[int, int],
    params: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    small = Path(save(Image.from_array(pixels), tmp_path / "small.png"))
    out = tmp_path / "r.png"
    assert main(["restore", str(small), "-o", str(out), "--expert", expert, *params]) == 2
    assert "needs an image of at least" in _one_error_line(capsys)
    assert not out.exists()


def test_every_expert_minimum_size_is_on_its_descriptor() -> None:
    from restora.experts import get_expert

    assert get_expert("cbm3d").min_size == get_expert("bm3d_deblock").min_size == 16
    assert get_expert("lime").min_size == 2
    assert get_expert("lime").info()["min_size"] == 2


@pytest.mark.parametrize("content", [b"", b"garbage, not weights" * 10, b"\x08\x00\x00"])
def test_analyze_with_garbage_weights_is_a_usage_error(
    photo: Path,
    tmp_path: Path,
    tiny_weights: Path,
    content: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    weights = tmp_path / "bad.safetensors"
    weights.write_bytes(content)
    weights.with_suffix(".json").write_bytes(tiny_weights.with_suffix(".json").read_bytes())
    assert main(["analyze", str(photo), "--weights", str(weights)]) == 2
    assert "not analyzer weights" in _one_error_line(capsys)


def test_analyze_with_truncated_weights_or_config_is_a_usage_error(
    photo: Path, tmp_path: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tmp_path / "cut.safetensors"
    data = tiny_weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    weights.with_suffix(".json").write_bytes(tiny_weights.with_suffix(".json").read_bytes())
    assert main(["analyze", str(photo), "--weights", str(weights)]) == 2
    assert "not analyzer weights" in _one_error_line(capsys)
    weights.write_bytes(data)
    weights.with_suffix(".json").write_text("{not json")
    assert main(["analyze", str(photo), "--weights", str(weights)]) == 2
    assert "not analyzer weights" in _one_error_line(capsys)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("task", TASKS)
def test_grey_in_grey_out_for_every_task(
    tmp_path: Path, camera: np.ndarray, task: str, bits: int
) -> None:
    plane = camera[200:264, 200:264]
    if bits == 16:
        grey = PILImage.fromarray(np.rint(plane * 65535).astype(np.uint16))
    else:
        grey = PILImage.fromarray(np.rint(plane * 255).astype(np.uint8))
    source = tmp_path / "grey.png"
    grey.save(source)
    out = tmp_path / "out.png"
    assert main(["restore", str(source), "-o", str(out), "--task", task]) == 0
    with PILImage.open(out) as written:
        assert written.mode == ("I;16" if bits == 16 else "L"), written.mode
        if task == "upscale":
            assert written.size[0] >= 128 and written.size[0] == written.size[1]


def test_grey_through_the_python_api_stays_grey(camera: np.ndarray) -> None:
    """The executor runs a grey image through every expert's grey path: three equal planes
    after each step, including the colour methods (dehaze, brighten, dejpeg)."""
    from restora import restore

    grey = np.ascontiguousarray(camera[100:164, 100:164])
    for task in ("dehaze", "brighten", "dejpeg"):
        result = restore(grey, tasks=[task])
        rgb = result.image.rgb
        assert result.image.meta.grey
        assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])


def test_run_expert_keeps_grey_and_leaves_colour_alone() -> None:
    from restora.agent.execution import is_grey, run_expert
    from restora.experts import get_expert

    rng = np.random.default_rng(0)
    plane = rng.random((32, 32)).astype(np.float32)
    grey = np.repeat(plane[..., None], 3, axis=2)
    out = run_expert(get_expert("dark_channel"), grey, None, {})
    assert out.shape == grey.shape and is_grey(out)
    colour = rng.random((32, 32, 3)).astype(np.float32)
    assert not is_grey(run_expert(get_expert("dark_channel"), colour, None, {}))


@pytest.mark.parametrize(
    ("instruction", "flags"),
    [("don't denoise", ["--task", "denoise"]), ("do not sharpen", ["--task", "deblur"])],
)
def test_an_instruction_that_excludes_the_task_asked_is_refused(
    photo: Path, instruction: str, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("r.png")
    assert main(["restore", str(photo), "-o", str(out), "-i", instruction, *flags]) == 2
    err = _one_error_line(capsys)
    assert flags[1] in err and "instruction" in err
    assert not out.exists()


def test_an_exclusion_of_what_the_instruction_asks_is_refused() -> None:
    from restora.agent.api import make_intent
    from restora.errors import RestoraError

    with pytest.raises(RestoraError, match="--exclude denoise"):
        make_intent("remove the noise", exclude=["denoise"])
    with pytest.raises(RestoraError, match="--task denoise"):
        make_intent("don't denoise", tasks=["denoise"])
    assert make_intent("don't denoise", tasks=["deblur"]).tasks == ("deblur",)


@pytest.mark.parametrize(
    ("expert", "param"),
    [
        ("richardson_lucy", "iterations=1e8"),
        ("richardson_lucy", "iterations=0"),
        ("ibp", "iterations=100000"),
        ("bicubic", "scale=1000"),
    ],
)
def test_expert_parameters_out_of_their_range_are_refused(
    photo: Path, expert: str, param: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = photo.with_name("r.png")
    assert main(["restore", str(photo), "-o", str(out), "--expert", expert, "--param", param]) == 2
    assert " to " in _one_error_line(capsys)
    assert not out.exists()


def test_parameters_inside_their_range_still_run(photo: Path) -> None:
    out = photo.with_name("r.png")
    args = ["--expert", "richardson_lucy", "--param", "iterations=5"]
    assert main(["restore", str(photo), "-o", str(out), *args]) == 0
