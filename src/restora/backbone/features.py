"""Multi-level backbone features of a photo: pooled statistics of several stages of the frozen
EfficientNet-Lite, over a whole-image view and native-resolution crops.

Early stages (1: 24 channels at 1/4 resolution, 2: 40 at 1/8) keep grain, JPEG blocks and fine
blur, but only at native resolution: a downscaled view averages them away, hence the crops.
Late stages and the head (7: 1280 channels) see the scene, so they read haze, light, rain and
reflections from the whole-image view. Each chosen stage contributes the mean and the standard
deviation of every channel over space (the "mean + std pooling" of quality models such as
HyperIQA's and MUSIQ's multi-scale heads).

    >>> spec = FeatureSpec(levels=(1, 2, 3, 5, 7))
    >>> vector = extract(image, spec)                  # float32, spec.dimension(...) long
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from restora.backbone.efficientnet_lite import EfficientNetLite

HEAD = 7
"""The stage index of the 1280-channel head (stages 0-6 are the seven MBConv stages)."""


@dataclass(frozen=True)
class FeatureSpec:
    """What :func:`extract` computes; its :meth:`key` names cached features.

    ``whole_pixels``: the whole-image view is area-downscaled to at most this many pixels
    (never upscaled), so time and memory are bounded for any photo (a 12 MP photo costs what a
    0.26 MP one does). ``crops`` native-resolution crops of ``crop_size`` px (0: none) are
    taken on a regular grid, and their statistics averaged. ``flip`` averages each view with
    its mirror image (test-time augmentation that never changes quality).
    """

    variant: str = "lite0"
    levels: tuple[int, ...] = (1, 2, 3, 4, 5, 6, HEAD)
    whole: bool = True
    whole_pixels: int = 512 * 512
    crops: int = 0
    crop_size: int = 224
    crop_levels: tuple[int, ...] = (0, 1, 2, 3)
    flip: bool = False

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        fields: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**fields)

    def dimension(self, stage_channels: list[int]) -> int:
        channels = [*stage_channels, 1280]
        whole = 2 * sum(channels[i] for i in self.levels) if self.whole else 0
        crops = 2 * sum(channels[i] for i in self.crop_levels) if self.crops else 0
        return whole + crops


def as_float(image: Any) -> np.ndarray:
    """(H, W) or (H, W, 3) float32 in [0, 1] from an array (grey, RGB, RGBA; uint8, uint16 or
    float) or a :class:`restora.io.Image`, without copying a float32 array already in range
    (a 12 MP photo is read where it lies: only the views taken of it are new arrays)."""
    if hasattr(image, "rgb") and hasattr(image, "meta"):
        image = image.rgb
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / np.float32(65535.0)
    arr = arr.astype(np.float32, copy=False)
    if arr.size and (float(arr.min()) < 0.0 or float(arr.max()) > 1.0):
        arr = np.clip(arr, 0.0, 1.0)
    return arr


def as_rgb(image: Any) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] (grey repeated into three channels)."""
    arr = as_float(image)
    return np.repeat(arr[..., None], 3, axis=2) if arr.ndim == 2 else arr


def whole_view(rgb: np.ndarray, max_pixels: int) -> np.ndarray:
    """The photo area-downscaled (aspect kept) to at most ``max_pixels`` pixels."""
    import cv2

    height, width = rgb.shape[:2]
    if height * width <= max_pixels:
        return rgb
    factor = (max_pixels / (height * width)) ** 0.5
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))


def crop_origins(height: int, width: int, size: int, count: int) -> list[tuple[int, int]]:
    """``count`` crop corners on a regular grid covering the photo (deterministic: the same
    photo always gives the same crops); a photo smaller than a crop gives one crop at 0, 0."""
    if count <= 0:
        return []
    if height <= size and width <= size:
        return [(0, 0)]
    cols = max(1, round((count * width / max(height, 1)) ** 0.5))
    rows = max(1, -(-count // cols))
    ys = np.linspace(0, max(height - size, 0), rows).round().astype(int)
    xs = np.linspace(0, max(width - size, 0), cols).round().astype(int)
    corners = [(int(y), int(x)) for y in ys for x in xs]
    if len(corners) > count:  # keep an even spread when the grid has more cells
        keep = np.linspace(0, len(corners) - 1, count).round().astype(int)
        corners = [corners[i] for i in keep]
    return corners


def native_crops(rgb: np.ndarray, size: int, count: int) -> list[np.ndarray]:
    height, width = rgb.shape[:2]
    return [rgb[y : y + size, x : x + size] for y, x in crop_origins(height, width, size, count)]


def _tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    import torch

    from restora.backbone.efficientnet_lite import normalise

    batch = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
    return normalise(batch.to(device=device, dtype=torch.float32))


def pooled_statistics(maps: list[torch.Tensor], levels: tuple[int, ...]) -> np.ndarray:
    """Per chosen stage: channel means, then channel standard deviations over space."""
    import torch

    parts = []
    for level in levels:
        fmap = maps[level].flatten(2)  # (N, C, H*W)
        std = (
            fmap.std(dim=2, unbiased=False) if fmap.shape[2] > 1 else torch.zeros_like(fmap[..., 0])
        )
        parts += [fmap.mean(dim=2), std]
    return torch.cat(parts, dim=1).mean(dim=0).double().cpu().numpy()


def _view_statistics(
    model: EfficientNetLite, rgb: np.ndarray, levels: tuple[int, ...], flip: bool
) -> np.ndarray:
    import torch

    from restora.backbone.loading import model_device

    device = model_device(model)
    upto = max(levels)
    with torch.inference_mode():
        x = _tensor(rgb, device)
        stats = pooled_statistics(model.forward_stages(x, upto=upto), levels)
        if flip:
            mirrored = pooled_statistics(model.forward_stages(x.flip(3), upto=upto), levels)
            stats = (stats + mirrored) / 2
    return stats


def extract(image: Any, spec: FeatureSpec | None = None, device: str | None = None) -> np.ndarray:
    """The feature vector of ``image`` under ``spec`` (float32): the whole view's statistics,
    then the crops' averaged statistics."""
    from restora.backbone.loading import load_efficientnet_lite

    spec = spec or FeatureSpec()
    model = load_efficientnet_lite(spec.variant, device)
    pixels = as_float(image)  # views are taken before grey becomes RGB: no full-size copy
    parts = []
    if spec.whole:
        view = as_rgb(whole_view(pixels, spec.whole_pixels))
        parts.append(_view_statistics(model, view, spec.levels, spec.flip))
    if spec.crops:
        crops = [as_rgb(c) for c in native_crops(pixels, spec.crop_size, spec.crops)]
        stats = [_view_statistics(model, crop, spec.crop_levels, spec.flip) for crop in crops]
        parts.append(np.mean(stats, axis=0))
    return np.concatenate(parts).astype(np.float32)
