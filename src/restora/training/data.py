"""The training data pipeline: random clean crops degraded on the fly, with labels and captions.

:class:`DegradationDataset` reads a folder (or list) of clean images once into memory (uint8,
shared copy-on-write with forked DataLoader workers), and each item is a random crop, randomly
flipped and rotated, degraded by :func:`restora.degradations.synthesize` at the dataset's
curriculum ``stage``. Item ``i`` of epoch ``e`` is deterministic: its generator is seeded with
``(seed, e, i)``.

    from restora.training.data import DegradationDataset, list_training_images
    files = list_training_images()                  # CBSD432 + Train400 from <data>/train
    ds = DegradationDataset(files, crop_size=128, stage="easy")
    loader = DataLoader(ds, batch_size=16, shuffle=True, num_workers=2)

Do not call ``cv2.setNumThreads`` in a forked worker: OpenCV then waits forever on its
thread pool inherited from the parent (seen here with opencv-python-headless); OpenCV resets
the pool in forked children by itself.

Its speed is measured by ``python -m restora.bench.degradations`` (BENCHMARKS.md section
``degradations``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from restora.errors import NotAvailableError, UnknownNameError
from restora.vocabulary import DEGRADATION_TYPES

TRAINING_SETS: dict[str, str] = {
    "CBSD432": "train/BSDS500 (the 432 files of CBSD432_list.txt)",
    "Train400": "train/Train400 (400 grey 180x180)",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_CACHE: dict[Path, np.ndarray] = {}
"""Decoded uint8 images by path, per process (workers forked after preloading share it)."""


def list_training_images(
    data_dir: str | os.PathLike[str] | None = None,
    sets: Sequence[str] = ("CBSD432", "Train400"),
) -> list[Path]:
    """Clean training images of the named ``sets`` under ``<data_dir>/train``.

    ``CBSD432`` is exactly the list in ``train/BSDS500/CBSD432_list.txt`` (never the CBSD68
    images in ``val/``); ``Train400`` is every PNG of ``train/Train400``.
    """
    from restora.paths import data_dir as find

    root = find(data_dir) / "train"
    files: list[Path] = []
    for name in sets:
        if name == "CBSD432":
            listing = root / "BSDS500" / "CBSD432_list.txt"
            if not listing.is_file():
                raise NotAvailableError(f"{listing} not found (set RESTORA_DATA)")
            entries = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
            files.extend(root / "BSDS500" / entry for entry in entries)
        elif name == "Train400":
            folder = root / "Train400"
            if not folder.is_dir():
                raise NotAvailableError(f"{folder} not found (set RESTORA_DATA)")
            files.extend(sorted(folder.glob("*.png")))
        else:
            raise UnknownNameError("training set", name, list(TRAINING_SETS))
    return files


def _decode(path: Path) -> np.ndarray:
    """uint8 (H, W, 3), or (H, W) for grey files (repeated to RGB per crop, not in memory)."""
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        mode = "L" if im.mode in ("L", "I;16", "I") else "RGB"
        return np.asarray(im.convert(mode), dtype=np.uint8)


def cached_image(path: Path) -> np.ndarray:
    image = _CACHE.get(path)
    if image is None:
        image = _decode(path)
        _CACHE[path] = image
    return image


def random_crop(
    image: np.ndarray, size: int, rng: np.random.Generator, augment: bool = True
) -> np.ndarray:
    """A ``size`` x ``size`` crop (reflect-padded if the image is smaller) as float32 RGB, with
    a random flip and quarter turn when ``augment``."""
    height, width = image.shape[:2]
    if height < size or width < size:
        pad_h, pad_w = max(0, size - height), max(0, size - width)
        pads = ((0, pad_h), (0, pad_w)) + (((0, 0),) if image.ndim == 3 else ())
        image = np.pad(image, pads, mode="reflect")
        height, width = image.shape[:2]
    top = int(rng.integers(height - size + 1))
    left = int(rng.integers(width - size + 1))
    crop = image[top : top + size, left : left + size]
    if augment:
        crop = np.rot90(crop, int(rng.integers(4)))
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
    if crop.ndim == 2:
        crop = np.repeat(crop[:, :, None], 3, axis=2)
    return np.ascontiguousarray(crop, dtype=np.float32) * np.float32(1.0 / 255.0)


class _ReflectionPool(Sequence[np.ndarray]):
    """The dataset's own images as a reflection source (indexing decodes only what is used)."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: Any) -> Any:
        return cached_image(self.files[index])


def to_chw_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


class DegradationDataset(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Random crops of clean images with on-the-fly single or mixed degradations.

    Items are dicts: ``degraded`` and ``clean`` (float32 CHW tensors in [0, 1], same size),
    ``label`` (multi-hot over :data:`restora.vocabulary.DEGRADATION_TYPES`), ``severity``
    (the same order, 0 when absent), ``caption`` (one of the record's phrasings) and
    ``degradations`` (the record as JSON text). ``as_tuple=True`` gives
    (degraded, clean, label, severity, caption) instead.

    ``root_or_files``: a folder of images (searched recursively), the data folder itself
    (then :func:`list_training_images` is used), or a list of files. ``types``: the pool for
    mixed sampling (default the analyzer's eight types; add ``low_resolution`` to include it,
    resized back to the crop size). ``stage``: curriculum stage (see
    :mod:`restora.degradations.mixed`), changeable with :meth:`set_stage`. ``length``: items per
    epoch (default the number of images). ``clean_probability``: share of undegraded items.
    """

    def __init__(
        self,
        root_or_files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        crop_size: int = 128,
        stage: float | str = "hard",
        types: Sequence[str] | None = None,
        length: int | None = None,
        seed: int = 0,
        *,
        second_order: bool | None = None,
        clean_probability: float = 0.0,
        preload: bool = True,
        as_tuple: bool = False,
    ) -> None:
        from restora.degradations import check_type
        from restora.degradations.mixed import stage_value

        self.files = self._resolve_files(root_or_files)
        if not self.files:
            raise NotAvailableError(f"no training images found in {root_or_files}")
        self.crop_size = int(crop_size)
        self.stage = stage_value(stage)
        self.types = tuple(DEGRADATION_TYPES if types is None else types)
        for name in self.types:
            check_type(name)
        self.length = len(self.files) if length is None else int(length)
        self.seed = int(seed)
        self.second_order = second_order
        self.clean_probability = float(clean_probability)
        self.as_tuple = as_tuple
        self.epoch = 0
        self._pool = _ReflectionPool(self.files)
        if preload:
            self.preload()

    @staticmethod
    def _resolve_files(
        root_or_files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    ) -> list[Path]:
        if isinstance(root_or_files, (str, os.PathLike)):
            root = Path(root_or_files)
            if (root / "train" / "BSDS500" / "CBSD432_list.txt").is_file():
                return list_training_images(root)
            if root.is_file():
                return [root]
            return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        return [Path(p) for p in root_or_files]

    def preload(self) -> None:
        """Decode every image into the process cache (call before forking workers)."""
        for path in self.files:
            cached_image(path)

    def set_epoch(self, epoch: int) -> None:
        """New random crops and degradations for another epoch."""
        self.epoch = int(epoch)

    def set_stage(self, stage: float | str) -> None:
        """Move the curriculum (takes effect in workers created afterwards)."""
        from restora.degradations.mixed import stage_value

        self.stage = stage_value(stage)

    def __len__(self) -> int:
        return self.length

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray, Any]:
        """(degraded HWC, clean HWC, record or None for a clean item) as numpy arrays."""
        from restora.degradations import synthesize

        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        clean = random_crop(cached_image(self.files[index % len(self.files)]), self.crop_size, rng)
        if rng.random() < self.clean_probability:
            return clean, clean, None
        degraded, record = synthesize(
            clean,
            "mixed",
            rng=rng,
            stage=self.stage,
            pool=self.types,
            second_order=self.second_order,
            resize_back=True,
            reflection_pool=self._pool,
        )
        return degraded, clean, record

    def __getitem__(self, index: int) -> Any:
        import json

        from restora.degradations.captions import caption_for

        degraded, clean, record = self.sample(index)
        if record is None:
            label = severity = np.zeros(len(DEGRADATION_TYPES), np.float32)
            caption, description = caption_for([]), "[]"
        else:
            label, severity = record.labels()
            choice = (self.seed + self.epoch + int(index)) % len(record.captions)
            caption = record.captions[choice]
            description = json.dumps(record.to_dict()["degradations"])
        item = (
            to_chw_tensor(degraded),
            to_chw_tensor(clean),
            torch.from_numpy(label),
            torch.from_numpy(severity),
            caption,
        )
        if self.as_tuple:
            return item
        keys = ("degraded", "clean", "label", "severity", "caption")
        return {**dict(zip(keys, item, strict=True)), "degradations": description}
