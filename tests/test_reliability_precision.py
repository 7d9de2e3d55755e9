"""Experts keep the input's precision, dtype and channels; 16-bit files stay 16-bit."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from restora.experts import Expert, get_expert, list_experts

SIZE = 48

SLOW_EXPERTS = frozenset({"realesrgan_x4plus", "realsr_df2k"})
"""Experts that take well over a few seconds on a 48x48 image on two CPU cores (first call,
graph conversion included); their precision is checked in the slow run only."""


def _all_expert_names() -> list[object]:
    return [
        pytest.param(e.name, marks=pytest.mark.slow) if e.name in SLOW_EXPERTS else e.name
        for e in list_experts()
    ]


def _sixteen_bit_image() -> np.ndarray:
    """A 48x48 colour image with 16-bit precision: smooth ramps plus some texture, its values
    on the 1/65535 grid and (almost all) off the 1/255 one."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    base = 0.15 + 0.7 * np.dstack([x / (SIZE - 1), y / (SIZE - 1), (x + y) / (2 * SIZE - 2)])
    base += rng.normal(0.0, 0.02, base.shape)
    return (np.rint(np.clip(base, 0, 1) * 65535) / 65535).astype(np.float32)


def _on_8bit_grid(values: np.ndarray) -> bool:
    scaled = np.asarray(values, np.float64) * 255.0
    return bool(np.all(np.abs(scaled - np.rint(scaled)) < 1e-6 * 255.0))


def _run(expert: Expert, image: np.ndarray) -> np.ndarray:
    return expert(image, device="cpu") if "device" in expert.params else expert(image)


@pytest.mark.parametrize("name", _all_expert_names())
def test_every_expert_keeps_16_bit_precision_and_grey(name: str) -> None:
    expert = get_expert(name)
    image = _sixteen_bit_image()
    assert not _on_8bit_grid(image)
    out = _run(expert, image)
    scale = out.shape[0] // SIZE
    assert out.shape == (SIZE * scale, SIZE * scale, 3) and out.dtype == np.float32
    changed = scale != 1 or not np.allclose(out, image, atol=1e-7)
    if changed:
        # an expert that quantises to 8 bits inside gives back multiples of 1/255 only
        assert not _on_8bit_grid(out), f"{name} returned 8-bit precision"

    grey = np.ascontiguousarray(image[..., 1])
    out_grey = _run(expert, grey)
    assert out_grey.ndim == 2, f"{name} turned a grey image into {out_grey.shape}"
    assert out_grey.shape == (SIZE * scale, SIZE * scale)


@pytest.mark.parametrize("name", ["nlm", "clahe_gamma"])
def test_eight_bit_methods_keep_sub_8_bit_detail(name: str) -> None:
    """OpenCV's NLM and CLAHE take uint8: their change goes onto the full-precision input, so
    a gradient smaller than one 8-bit level survives instead of becoming one flat level."""
    expert = get_expert(name)
    assert expert.precision == "uint8" and expert.info()["precision"] == "uint8"
    levels = 75.6 + np.linspace(0.0, 0.3, SIZE * SIZE)  # in 8-bit units
    ramp = (levels / 255.0).astype(np.float32).reshape(SIZE, SIZE)
    image = np.repeat(ramp[..., None], 3, axis=2)
    # all of it is one 8-bit level, in RGB and in the Lab lightness CLAHE equalises
    assert np.unique(np.rint(image * 255)).size == 1
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0]
    assert np.unique(np.rint(lightness / 100 * 255)).size == 1
    out = expert(image, sigma=5.0) if name == "nlm" else expert(image)
    assert float(np.ptp(out)) > 0.2 / 255.0
    correlation = np.corrcoef(out[..., 1].ravel(), ramp.ravel())[0, 1]
    assert correlation > 0.99


def test_on_8bit_levels_applies_the_change_to_full_precision() -> None:
    from restora.experts.classical._common import on_8bit_levels

    image = _sixteen_bit_image()
    same = on_8bit_levels(image, lambda levels: levels)
    np.testing.assert_allclose(same, image, atol=1e-7)
    brighter = on_8bit_levels(image, lambda levels: cv2.add(levels, np.full_like(levels, 2)))
    np.testing.assert_allclose(brighter - image, 2 / 255, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_images_are_scaled_and_come_back_in_their_dtype(dtype: type) -> None:
    top = np.iinfo(dtype).max
    image = np.rint(_sixteen_bit_image() * top).astype(dtype)
    out = get_expert("lanczos")(image, scale=2)
    assert out.dtype == dtype and out.shape == (96, 96, 3)
    # the same numbers as the float image, rounded to the input's levels
    expected = get_expert("lanczos")(image.astype(np.float32) / top, scale=2)
    assert np.abs(out.astype(np.float64) / top - expected).max() <= 0.5 / top + 1e-6
    if dtype == np.uint16:
        assert np.any(out % 257 != 0)  # not 8-bit levels in disguise


def test_channel_layout_and_float_dtype_are_kept(camera: np.ndarray) -> None:
    plane = np.ascontiguousarray(camera[:32, :40])
    out = get_expert("dark_channel")(plane[..., None].astype(np.float64))
    assert out.shape == (32, 40, 1) and out.dtype == np.float64
    out = get_expert("guided_derain")(plane)
    assert out.shape == (32, 40) and out.dtype == np.float32


def test_sixteen_bit_source_is_saved_as_16_bit_after_an_expert(tmp_path: Path) -> None:
    from restora.io import load, save

    image16 = np.rint(_sixteen_bit_image() * 65535).astype(np.uint16)
    source = tmp_path / "in16.png"
    cv2.imwrite(str(source), image16[..., ::-1])
    image = load(source)
    assert image.meta.bit_depth == 16
    restored = image.with_rgb(get_expert("nlm")(image.rgb, sigma=4.0))
    out = save(restored, tmp_path / "out.png")
    again = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert again.dtype == np.uint16
    assert np.any(again % 257 != 0), "saved with 8-bit precision"
    assert load(out).meta.bit_depth == 16
    # and a 16-bit grey file stays 16-bit grey
    grey_source = tmp_path / "grey16.png"
    cv2.imwrite(str(grey_source), image16[..., 1])
    grey = load(grey_source)
    assert grey.meta.grey and grey.meta.bit_depth == 16
    plane = get_expert("clahe_gamma")(grey.rgb[..., 0])
    grey_out = save(grey.with_rgb(np.repeat(plane[..., None], 3, axis=2)), tmp_path / "g.png")
    written = cv2.imread(str(grey_out), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16 and written.ndim == 2
    assert np.any(written % 257 != 0)
