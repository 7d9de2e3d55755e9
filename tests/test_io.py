"""restora.io: round trips for every mode and format, orientation, metadata, atomic writes."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from PIL import ImageCms

from restora.errors import (
    CorruptImageError,
    ImageTooLargeError,
    InputError,
    OutputError,
    UnsupportedFormatError,
)
from restora.io import Image, check_output, encode, load, save, write_bytes_atomic

# tests/test_cli.py still imports these two from here; they live in tests/helpers.py
from .helpers import gradient, read_only_folder


def save_pil(im: PILImage.Image, path: Path, **params: object) -> Path:
    im.save(path, **params)
    return path


# ----------------------------------------------------------------------------- reading modes


@pytest.mark.parametrize("fmt", ["png", "tif", "bmp", "webp"])
def test_rgb_lossless_round_trip(tmp_path: Path, fmt: str) -> None:
    arr8 = (gradient() * 255).round().astype(np.uint8)
    src = save_pil(
        PILImage.fromarray(arr8),
        tmp_path / f"in.{fmt}",
        **({"lossless": True} if fmt == "webp" else {}),
    )
    image = load(src)
    assert image.rgb.dtype == np.float32 and image.rgb.shape == (48, 64, 3)
    assert image.meta.bit_depth == 8 and not image.meta.grey
    out = save(image, tmp_path / f"out.{fmt}") if fmt != "webp" else None
    if out is not None:
        again = load(out)
        np.testing.assert_array_equal((again.rgb * 255).round(), arr8)


def test_jpeg_round_trip_is_close(tmp_path: Path) -> None:
    arr8 = (gradient() * 255).round().astype(np.uint8)
    src = save_pil(PILImage.fromarray(arr8), tmp_path / "in.jpg", quality=95)
    image = load(src)
    out = save(image, tmp_path / "out.jpg")
    again = load(out)
    assert np.abs(again.rgb - image.rgb).mean() < 2 / 255


def test_grey_l_is_replicated_and_written_back_grey(tmp_path: Path) -> None:
    grey = (gradient()[:, :, 0] * 255).astype(np.uint8)
    image = load(save_pil(PILImage.fromarray(grey), tmp_path / "g.png"))
    assert image.meta.grey
    np.testing.assert_array_equal(image.rgb[:, :, 0], image.rgb[:, :, 2])
    out = save(image, tmp_path / "g_out.png")
    with PILImage.open(out) as im:
        assert im.mode == "L"
        np.testing.assert_array_equal(np.asarray(im), grey)


def test_la_alpha_carried_through(tmp_path: Path) -> None:
    grey = (gradient()[:, :, 0] * 255).astype(np.uint8)
    alpha = np.full_like(grey, 128)
    alpha[:10] = 0
    src = save_pil(PILImage.fromarray(np.dstack([grey, alpha])), tmp_path / "la.png")
    image = load(src)
    assert image.alpha is not None and image.meta.grey
    np.testing.assert_allclose(image.alpha, alpha / 255.0, atol=1e-6)
    with PILImage.open(save(image, tmp_path / "la_out.png")) as im:
        assert im.mode == "LA"
        np.testing.assert_array_equal(np.asarray(im)[:, :, 1], alpha)


def test_rgba_alpha_carried_through(tmp_path: Path) -> None:
    arr = (gradient() * 255).astype(np.uint8)
    alpha = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))
    src = save_pil(PILImage.fromarray(np.dstack([arr, alpha])), tmp_path / "a.png")
    image = load(src)
    assert image.alpha is not None
    for fmt in ("png", "tif", "webp"):
        with PILImage.open(save(image, tmp_path / f"a_out.{fmt}")) as im:
            assert im.mode == "RGBA", fmt
            got = np.asarray(im)[:, :, 3].astype(int)
            assert np.abs(got - alpha).max() <= (2 if fmt == "webp" else 0), fmt


def test_alpha_composited_for_jpeg(tmp_path: Path) -> None:
    rgb = np.zeros((8, 8, 3), np.float32)
    image = Image(rgb, np.zeros((8, 8), np.float32))  # fully transparent black
    again = load(save(image, tmp_path / "t.jpg"))
    assert again.alpha is None
    assert again.rgb.mean() > 0.95  # composited over white, not left black


def test_palette_with_transparency(tmp_path: Path) -> None:
    im = PILImage.fromarray((gradient() * 255).astype(np.uint8)).quantize(16)
    im.info["transparency"] = 0
    src = save_pil(im, tmp_path / "p.png", transparency=0)
    image = load(src)
    assert image.meta.mode == "P"
    assert image.alpha is not None and image.alpha.min() == 0.0
    plain = load(
        save_pil(
            PILImage.fromarray((gradient() * 255).astype(np.uint8)).quantize(16),
            tmp_path / "p2.png",
        )
    )
    assert plain.alpha is None and plain.rgb.shape == (48, 64, 3)


def test_cmyk_jpeg_converted_to_rgb(tmp_path: Path) -> None:
    rgb = PILImage.fromarray((gradient() * 255).astype(np.uint8))
    src = save_pil(rgb.convert("CMYK"), tmp_path / "c.jpg", quality=98)
    image = load(src)
    assert image.meta.mode == "CMYK"
    assert np.abs(image.rgb - gradient()).mean() < 0.03
    out = save(image, tmp_path / "c_out.png")
    with PILImage.open(out) as im:
        assert im.mode == "RGB"


def test_sixteen_bit_grey_keeps_precision(tmp_path: Path) -> None:
    values = (np.linspace(0, 65535, 48 * 64).reshape(48, 64)).astype(np.uint16)
    src = tmp_path / "g16.png"
    PILImage.fromarray(values).save(src)
    image = load(src)
    assert image.meta.bit_depth == 16 and image.meta.grey
    assert len(np.unique(np.round(image.rgb[:, :, 0] * 65535))) > 256  # not rounded to 8 bits
    np.testing.assert_array_equal(np.round(image.rgb[:, :, 0] * 65535).astype(np.uint16), values)
    out = save(image, tmp_path / "g16_out.png")
    np.testing.assert_array_equal(
        np.round(load(out).rgb[:, :, 0] * 65535).astype(np.uint16), values
    )


@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_sixteen_bit_rgb_keeps_precision(tmp_path: Path, fmt: str) -> None:
    import cv2
    import tifffile

    rgb16 = (gradient(40, 50) * 65535).round().astype(np.uint16)
    src = tmp_path / f"c16.{fmt}"
    if fmt == "png":
        cv2.imwrite(str(src), rgb16[:, :, ::-1])
    else:
        tifffile.imwrite(src, rgb16, photometric="rgb")
    image = load(src)
    assert image.meta.bit_depth == 16
    np.testing.assert_array_equal(np.round(image.rgb * 65535).astype(np.uint16), rgb16)
    out = save(image, tmp_path / f"c16_out.{fmt}")
    back = load(out)
    assert back.meta.bit_depth == 16
    np.testing.assert_array_equal(np.round(back.rgb * 65535).astype(np.uint16), rgb16)


def test_sixteen_bit_rgba_png(tmp_path: Path) -> None:
    import cv2

    rgba16 = np.dstack(
        [(gradient(20, 30) * 65535).astype(np.uint16), np.full((20, 30), 30000, np.uint16)]
    )
    src = tmp_path / "c16a.png"
    cv2.imwrite(str(src), rgba16[:, :, [2, 1, 0, 3]])
    image = load(src)
    assert image.alpha is not None and image.meta.bit_depth == 16
    np.testing.assert_allclose(image.alpha, 30000 / 65535, atol=1e-6)
    back = load(save(image, tmp_path / "c16a_out.png"))
    np.testing.assert_array_equal(np.round(back.rgb * 65535), np.round(image.rgb * 65535))
    assert back.alpha is not None


def test_eight_bit_save_of_sixteen_bit_to_jpeg(tmp_path: Path) -> None:
    image = Image.from_array((gradient() * 65535).astype(np.uint16))
    assert image.meta.bit_depth == 16
    back = load(save(image, tmp_path / "x.jpg"))
    assert back.meta.bit_depth == 8


# ----------------------------------------------------------------------- orientation, metadata


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied(tmp_path: Path, orientation: int) -> None:
    upright = (gradient(30, 50) * 255).astype(np.uint8)
    # Store the pixels so that applying `orientation` gives the upright image back.
    inverse = {
        1: None,
        2: PILImage.Transpose.FLIP_LEFT_RIGHT,
        3: PILImage.Transpose.ROTATE_180,
        4: PILImage.Transpose.FLIP_TOP_BOTTOM,
        5: PILImage.Transpose.TRANSPOSE,
        6: PILImage.Transpose.ROTATE_90,
        7: PILImage.Transpose.TRANSVERSE,
        8: PILImage.Transpose.ROTATE_270,
    }[orientation]
    stored = PILImage.fromarray(upright)
    if inverse is not None:
        stored = stored.transpose(inverse)
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    src = save_pil(stored, tmp_path / "o.png", exif=exif.tobytes())
    image = load(src)
    assert image.meta.orientation == orientation
    np.testing.assert_array_equal((image.rgb * 255).round().astype(np.uint8), upright)
    out = save(image, tmp_path / "o_out.png")
    with PILImage.open(out) as im:
        assert im.getexif().get(0x0112, 1) == 1  # written upright, viewers must not rotate again


def test_icc_and_exif_kept(tmp_path: Path) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = PILImage.Exif()
    exif[0x010F] = "restora-test-camera"  # Make
    arr = (gradient() * 255).astype(np.uint8)
    src = save_pil(
        PILImage.fromarray(arr),
        tmp_path / "m.jpg",
        icc_profile=icc,
        exif=exif.tobytes(),
        quality=95,
    )
    image = load(src)
    assert image.meta.icc_profile == icc
    for fmt in ("jpg", "png", "webp", "tif"):
        with PILImage.open(save(image, tmp_path / f"m_out.{fmt}")) as im:
            assert im.info.get("icc_profile") == icc, fmt
            assert im.getexif().get(0x010F) == "restora-test-camera", fmt


def test_icc_and_exif_kept_on_sixteen_bit_png(tmp_path: Path) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = PILImage.Exif()
    exif[0x010F] = "cam16"
    image = Image.from_array((gradient() * 65535).astype(np.uint16))
    image.meta = image.meta.__class__(bit_depth=16, icc_profile=icc, exif=exif.tobytes())
    out = save(image, tmp_path / "m16.png")
    with PILImage.open(out) as im:
        assert im.info.get("icc_profile") == icc
        assert im.getexif().get(0x010F) == "cam16"
    assert load(out).meta.bit_depth == 16


def test_jpeg_quality_default_and_setting(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    image = Image(rng.random((64, 64, 3), dtype=np.float32))
    high = len(encode(image, "JPEG"))
    low = len(encode(image, "JPEG", quality=20))
    assert low < high


# ------------------------------------------------------------------------------ bad inputs


def test_missing_directory_empty(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "nope.png")
    with pytest.raises(InputError, match="directory"):
        load(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load(tmp_path / "empty.png")


def test_unsupported_and_corrupt(tmp_path: Path) -> None:
    gif = tmp_path / "x.gif"
    PILImage.new("RGB", (4, 4)).save(gif)
    with pytest.raises(UnsupportedFormatError, match="GIF"):
        load(gif)
    noise = tmp_path / "noise.png"
    noise.write_bytes(os.urandom(2048))
    with pytest.raises(UnsupportedFormatError):
        load(noise)
    good = tmp_path / "good.png"
    PILImage.fromarray((gradient(200, 200) * 255).astype(np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CorruptImageError):
        load(cut)


def test_pixel_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "big.png"
    PILImage.new("RGB", (300, 200)).save(src)
    with pytest.raises(
        ImageTooLargeError, match="60,000 pixels is over the limit of 50,000 pixels"
    ):
        load(src, max_pixels=50_000)
    from restora.settings import reload

    monkeypatch.setattr("restora.settings._CURRENT", [])  # the settings before come back after
    monkeypatch.setenv("RESTORA_MAX_PIXELS", "1000")
    reload()
    with pytest.raises(ImageTooLargeError):
        load(src)
    assert load(src, max_pixels=60_000).rgb.shape == (200, 300, 3)


def test_output_checks(tmp_path: Path) -> None:
    image = Image(gradient())
    src = save(image, tmp_path / "in.png")
    loaded = load(src)
    with pytest.raises(OutputError, match="input"):
        save(loaded, src, overwrite=True)
    other = save(image, tmp_path / "out.png")
    with pytest.raises(OutputError, match="already exists"):
        save(image, other)
    save(image, other, overwrite=True)
    with pytest.raises(OutputError, match="cannot write"):
        save(image, tmp_path / "out.xyz")
    with pytest.raises(OutputError, match="not writable"):
        check_output(read_only_folder(tmp_path) / "out.png")


def test_atomic_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "atomic.png"

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(target, b"x" * 100_000)
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary file


def test_atomic_overwrite_keeps_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")

    def boom(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"new", overwrite=True)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


# -------------------------------------------------------------------------- property tests


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(min_size=1, max_size=4096))
def test_random_bytes_only_raise_our_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(data)
    with contextlib.suppress(InputError):
        load(path)


def _encoded_examples() -> dict[str, bytes]:
    arr = (gradient(64, 64) * 255).astype(np.uint8)
    out = {}
    for fmt in ("PNG", "JPEG", "TIFF", "BMP", "WEBP"):
        buf = io.BytesIO()
        PILImage.fromarray(arr).save(buf, fmt)
        out[fmt] = buf.getvalue()
    return out


ENCODED = _encoded_examples()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fmt=st.sampled_from(sorted(ENCODED)),
    fraction=st.floats(0.0, 0.999),
    flip=st.integers(0, 10_000),
)
def test_truncated_or_corrupted_files_only_raise_our_errors(
    tmp_path: Path, fmt: str, fraction: float, flip: int
) -> None:
    data = bytearray(ENCODED[fmt][: max(1, int(len(ENCODED[fmt]) * fraction))])
    if flip < len(data):
        data[flip] ^= 0xFF
    path = tmp_path / f"broken.{fmt.lower()}"
    path.write_bytes(bytes(data))
    try:
        image = load(path)
    except InputError:
        return
    assert image.rgb.dtype == np.float32 and np.isfinite(image.rgb).all()
