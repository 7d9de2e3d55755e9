"""The expert registry and every classical expert on small images."""

from __future__ import annotations

import io
from dataclasses import replace

import cv2
import numpy as np
import pytest

from restora.errors import RestoraError, UnknownNameError
from restora.experts import (
    BUILTIN_EXPERTS,
    Expert,
    experts_for_task,
    get_expert,
    list_experts,
    register,
    unregister,
)
from restora.experts.estimate import motion_kernel
from restora.quality.full_reference import psnr_float as psnr
from restora.vocabulary import TASKS


def test_every_task_has_a_classical_expert() -> None:
    for task in TASKS:
        found = experts_for_task(task)
        assert all(e.task == task for e in found), task
        assert any(e.backend == "classical" for e in found), task


def test_registry_lists_builtins_in_order() -> None:
    from restora.experts.registry import LEARNED_EXPERTS
    from restora.paths import WEIGHTS_DIR

    shipped = [
        name
        for name, (_, stem) in LEARNED_EXPERTS.items()
        if (WEIGHTS_DIR / "experts" / f"{stem}.safetensors").is_file()
    ]
    names = [e.name for e in list_experts()]
    assert names == list(BUILTIN_EXPERTS) + shipped  # classical first, then shipped networks
    assert all(get_expert(n).backend == "learned" for n in shipped)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_expert("no_such_expert")
    assert "nlm" in str(info.value) and "onnx:PATH" in str(info.value)
    with pytest.raises(UnknownNameError):
        list_experts("sharpen")


def test_unknown_parameter_is_a_user_error(small_rgb: np.ndarray) -> None:
    with pytest.raises(RestoraError, match="parameters: sigma, strength"):
        get_expert("nlm")(small_rgb, sigmaa=3)


def test_register_user_expert(small_rgb: np.ndarray) -> None:
    def invert(image: np.ndarray, amount: float = 1.0) -> np.ndarray:
        return 1.0 - image * amount

    expert = Expert("test_invert", "brighten", "classical", run=invert, params={"amount": 1.0})
    register("test_invert", expert)
    try:
        assert get_expert("test_invert") is expert
        assert "test_invert" in [e.name for e in experts_for_task("brighten")]
        with pytest.raises(ValueError, match="already registered"):
            register("test_invert", expert)
        out = get_expert("test_invert")(small_rgb)
        np.testing.assert_allclose(out, 1.0 - small_rgb, atol=1e-6)
    finally:
        unregister("test_invert")
    with pytest.raises(UnknownNameError):
        get_expert("test_invert")


def test_descriptor_validates_image() -> None:
    expert = get_expert("bicubic")
    with pytest.raises(RestoraError):
        expert(np.zeros((4, 4, 2), np.float32))
    with pytest.raises(RestoraError):
        expert(np.full((4, 4, 3), np.nan, np.float32))


def test_info_is_the_json_shape() -> None:
    info = get_expert("wiener").info()
    for key in ("name", "task", "backend", "scale", "params", "needs", "devices", "description"):
        assert key in info
    assert info["needs"] == ["blur_kernel", "noise_sigma"]


def test_grey_input_comes_back_grey(camera: np.ndarray) -> None:
    out = get_expert("lanczos")(camera[:32, :40], scale=2)
    assert out.shape == (64, 80)


def test_cbm3d_on_grey(camera: np.ndarray, rng: np.random.Generator) -> None:
    clean = camera[200:264, 200:264]
    noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)
    out = get_expert("cbm3d")(noisy)
    assert out.shape == clean.shape
    assert psnr(out, clean) > psnr(noisy, clean) + 3.0


# ------------------------------------------------------------------ each expert, small images


@pytest.fixture()
def clean(astronaut: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(astronaut[60:156, 140:268])  # 96 x 128: face and edges


def _check(out: np.ndarray, shape: tuple[int, ...]) -> None:
    assert out.shape == shape
    assert out.dtype == np.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize("name", ["nlm", "cbm3d"])
def test_denoisers_improve_psnr(name: str, clean: np.ndarray, rng: np.random.Generator) -> None:
    image = clean[:64, :64] if name == "cbm3d" else clean
    noisy = np.clip(image + rng.normal(0, 25 / 255, image.shape), 0, 1).astype(np.float32)
    out = get_expert(name)(noisy)
    _check(out, image.shape)
    assert psnr(out, image) > psnr(noisy, image) + 3.0


@pytest.mark.parametrize("name", ["wiener", "richardson_lucy"])
def test_gaussian_deblur_improves_psnr(name: str, clean: np.ndarray) -> None:
    blurred = cv2.GaussianBlur(clean, (0, 0), 2.0)
    out = get_expert(name)(blurred)
    _check(out, clean.shape)
    inner = (slice(8, -8), slice(8, -8))
    assert psnr(out[inner], clean[inner]) > psnr(blurred[inner], clean[inner]) + 1.0


def test_motion_deblur_improves_psnr(astronaut: np.ndarray) -> None:
    clean = np.ascontiguousarray(astronaut[100:292, 100:292])
    blurred = cv2.filter2D(clean, -1, motion_kernel(11, 0.0))
    out = get_expert("wiener_motion")(blurred)
    _check(out, clean.shape)
    inner = (slice(12, -12), slice(12, -12))
    assert psnr(out[inner], clean[inner]) > psnr(blurred[inner], clean[inner]) + 1.0


def test_dejpeg_improves_psnr(clean: np.ndarray) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray((clean * 255).round().astype(np.uint8)).save(buffer, "JPEG", quality=10)
    compressed = np.asarray(Image.open(buffer).convert("RGB"), np.float32) / 255.0
    out = get_expert("bm3d_deblock")(compressed)
    _check(out, clean.shape)
    assert psnr(out, clean) > psnr(compressed, clean) + 0.3


@pytest.mark.parametrize("name", ["bicubic", "lanczos", "ibp"])
def test_upscalers(name: str, clean: np.ndarray) -> None:
    small = cv2.resize(clean, (64, 48), interpolation=cv2.INTER_AREA)
    out = get_expert(name)(small, scale=2)
    _check(out, clean.shape)
    nearest = cv2.resize(small, (128, 96), interpolation=cv2.INTER_NEAREST)
    assert psnr(out, clean) > psnr(nearest, clean) + 0.5


def test_ibp_beats_bicubic(clean: np.ndarray) -> None:
    from restora.experts.classical.upscale import resize_bicubic

    small = resize_bicubic(clean, 48, 64)  # MATLAB-style antialiased downscale
    ibp = get_expert("ibp")(small, scale=2)
    bicubic = get_expert("bicubic")(small, scale=2)
    assert psnr(ibp, clean) > psnr(bicubic, clean) + 0.3


def test_dehaze_improves_psnr(clean: np.ndarray) -> None:
    depth = np.linspace(0.35, 0.85, clean.shape[1], dtype=np.float32)[None, :, None]
    hazy = (clean * depth + 0.9 * (1 - depth)).astype(np.float32)
    out = get_expert("dark_channel")(hazy, patch=7, radius=16)
    _check(out, clean.shape)
    assert psnr(out, clean) > psnr(hazy, clean) + 2.0


@pytest.mark.parametrize("name", ["lime", "clahe_gamma"])
def test_brighteners(name: str, clean: np.ndarray) -> None:
    dark = (clean * 0.25).astype(np.float32)
    out = get_expert(name)(dark)
    _check(out, clean.shape)
    assert out.mean() > dark.mean() + 0.1
    assert psnr(out, clean) > psnr(dark, clean) + 3.0


def test_derain_removes_bright_streaks(clean: np.ndarray, rng: np.random.Generator) -> None:
    streaks = np.zeros(clean.shape[:2], np.float32)
    for _ in range(60):
        x, y = int(rng.integers(0, 128)), int(rng.integers(0, 96))
        cv2.line(streaks, (x, y), (x + 6, y + 18), 0.5, 1)
    rainy = np.clip(clean + streaks[..., None], 0, 1).astype(np.float32)
    out = get_expert("guided_derain")(rainy)
    _check(out, clean.shape)
    assert psnr(out, clean) > psnr(rainy, clean) + 0.5


def test_dereflect_runs_and_keeps_the_scene(clean: np.ndarray, camera: np.ndarray) -> None:
    reflection = cv2.GaussianBlur(camera[:96, :128], (0, 0), 3.0)[..., None]
    mixed = np.clip(0.8 * clean + 0.3 * reflection, 0, 1).astype(np.float32)
    out = get_expert("laplacian_dereflect")(mixed)
    _check(out, clean.shape)
    # the strong scene edges survive: the output correlates with the scene's gradients
    gx_out = np.diff(out.mean(axis=2), axis=1)
    gx_scene = np.diff(clean.mean(axis=2), axis=1)
    assert np.corrcoef(gx_out.ravel(), gx_scene.ravel())[0, 1] > 0.9


def test_predicted_cost_counts_the_overlapping_tiles_of_a_large_photo() -> None:
    from restora.experts.base import Expert

    tiled = Expert("toy_tiled", "denoise", "classical", run=lambda x: x, seconds_per_mp=2.0,
                   tile_size=512, tile_overlap=32)  # fmt: skip
    whole = replace(tiled, name="toy_whole", tile_size=None)
    assert tiled.predicted_seconds(0.1) == pytest.approx(0.2)  # one tile: its own area
    assert whole.predicted_seconds(12.0) == pytest.approx(24.0)
    # 12 MP in 512 px tiles overlapping by 32: 8 x 8 tiles of 0.26 MP for a square photo
    assert tiled.processed_megapixels(12.0) == pytest.approx(64 * 512 * 512 / 1e6)
    assert 1.3 < tiled.predicted_seconds(12.0) / whole.predicted_seconds(12.0) < 1.5
