"""Paired benchmark data sets: (degraded input, ground truth) from ``<data>/test``.

Every set is a :class:`PairedDataset` (``len()``, iteration, indexing, ``.name``, ``.task``)
yielding :class:`Pair` objects with float32 arrays in [0, 1]: (H, W, 3) for colour sets, (H, W)
for grey sets (BSD68, Set12, classic5 and the luminance of LIVE1). Conventions, chosen to match
the published numbers of the anchors:

- **Gaussian denoising** (``cbsd68_sigma*``, ``bsd68_sigma*``, ``set12_sigma*``): the clean PNG
  divided by 255 plus ``np.random.RandomState(0).normal(0, sigma / 255, shape)``, re-seeded with
  0 for every image and **not clipped**, exactly as KAIR's ``main_test_dncnn.py`` /
  ``main_test_ffdnet.py`` do (``np.random.seed(seed=0)`` then ``np.random.normal``); the input
  can therefore lie slightly outside [0, 1]. ``meta["clipped"]`` is False.
- **Super-resolution** (``set5_x*``, ``set14_x*``, ``b100_x2``/``b100_x4``, ``urban100_x4``): the target
  is the HR image cropped to a multiple of the scale ("modcrop"); the input is the LR image
  (smaller, ``meta["scale"]``). Set5, B100 and Urban100 use the LR files shipped with the data
  (MATLAB bicubic); Set14 LR is made here with the MATLAB-compatible
  :func:`restora.degradations.resize.imresize` on uint8, which reproduces Set5's shipped files
  (over 99 % of pixels identical, none off by more than 2 grey levels; see the tests).
  Set14's grey ``bridge`` is repeated to RGB.
- **JPEG artefact removal** (``live1_q*``, ``classic5_q*``): grey images as in ARCNN/DnCNN-3:
  classic5 as is, LIVE1 as the luma Y of MATLAB's ``rgb2ycbcr`` (BT.601, studio range 16-235,
  rounded to uint8); encoded at the quality with libjpeg through Pillow (IJG tables, as OpenCV).
- **Deraining / dehazing** (``rain100h``, ``rain100l``, ``sots_outdoor``): the shipped pairs.
- **Real camera shake** (``gopro_real``): the GoPro photos of ``real/motion_blur`` whose sharp
  frame is in ``real/motion_blur_gt`` (same name; evaluation data, never trained on).
- **Synthetic single degradations** (``cbsd68_blur``, ``cbsd68_motion``, ``cbsd68_lowlight``,
  ``cbsd68_reflection``): deblurring, brightening and reflection removal have no paired public
  set in the data folder, so these are made from CBSD68 with the degradation engine at severity
  0.6, seed ``SYNTHETIC_SEED + i`` per image (a reflection comes from the next CBSD68 image).
  They are in the distribution the learned experts were trained on (other images, same
  renderer), which favours them over the classical experts: read them as such.
- **Mixed degradations** (``mixed_cbsd68``): 100 items built from CBSD68 (image ``i % 68`` in
  sorted order) with 2-3 of the analyzer's degradation types each at curriculum stage "hard",
  seed ``MIXED_SEED + i``, no second-order pass; a reflection comes from another CBSD68 image.
  The manifest (``restora/data/mixed_cbsd68.json``, shipped package data) records every item's degradations and
  caption; :func:`build_mixed_manifest` re-creates it and loading checks the two agree.
  Its ``task`` is ``"mixed"``; each pair's ``meta["tasks"]`` lists the tasks it needs.

    python -m restora.bench.datasets --list
    python -m restora.bench.datasets --write-manifest   # after changing the degradation engine
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from restora.errors import NotAvailableError, UnknownNameError
from restora.paths import PACKAGE_DIR
from restora.vocabulary import DEGRADATION_TYPES, TASK_FOR_TYPE, TASKS

log = logging.getLogger(__name__)

MIXED_TASK = "mixed"
MIXED_SEED = 20240
MIXED_COUNT = 100
MANIFEST_PATH = PACKAGE_DIR / "data" / "mixed_cbsd68.json"
NOISE_SEED = 0


@dataclass(frozen=True)
class Pair:
    """One benchmark item: a degraded ``input``, its ground-truth ``target`` and metadata."""

    name: str
    input: np.ndarray
    target: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict, hash=False)


class PairedDataset:
    """A named, ordered collection of pairs, loaded lazily one at a time."""

    def __init__(
        self,
        name: str,
        task: str,
        keys: Sequence[str],
        load_pair: Callable[[str], Pair],
        description: str = "",
    ) -> None:
        if task not in (*TASKS, MIXED_TASK):
            raise ValueError(f"unknown task {task!r}")
        self.name = name
        self.task = task
        self.keys = list(keys)
        self.description = description
        self._load_pair = load_pair

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> Pair:
        return self._load_pair(self.keys[index])

    def __iter__(self) -> Iterator[Pair]:
        for key in self.keys:
            yield self._load_pair(key)

    def __repr__(self) -> str:
        return f"PairedDataset({self.name!r}, task={self.task!r}, {len(self)} pairs)"


# ----------------------------------------------------------------------------- pixel helpers


def read_uint8(path: Path, mode: str) -> np.ndarray:
    """Decode with Pillow to uint8 ``mode`` ("RGB" or "L")."""
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        return np.asarray(im.convert(mode), dtype=np.uint8)


def to_unit(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float32) / np.float32(255.0)


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    height, width = image.shape[:2]
    return image[: height - height % scale, : width - width % scale]


def matlab_luma(rgb: np.ndarray) -> np.ndarray:
    """Y of MATLAB ``rgb2ycbcr`` on uint8 RGB (BT.601 studio range), rounded to uint8."""
    weights = np.array([65.481, 128.553, 24.966]) / 255.0
    return np.round(16.0 + rgb.astype(np.float64) @ weights).astype(np.uint8)


def add_benchmark_noise(clean: np.ndarray, sigma: float, seed: int = NOISE_SEED) -> np.ndarray:
    """Clean float image plus KAIR's noise: ``RandomState(seed).normal(0, sigma/255)``, no clip."""
    noise = np.random.RandomState(seed).normal(0.0, sigma / 255.0, clean.shape)
    return (clean + noise).astype(np.float32)


def _files(folder: Path, suffixes: tuple[str, ...] = (".png", ".jpg", ".bmp", ".tif")) -> list[str]:
    if not folder.is_dir():
        raise NotAvailableError(f"benchmark folder {folder} not found (set RESTORA_DATA)")
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in suffixes)


# ------------------------------------------------------------------------------- the builders


def _denoising(root: Path, name: str, folder: str, sigma: int, grey: bool) -> PairedDataset:
    base = root / "test" / folder

    def load(key: str) -> Pair:
        clean = to_unit(read_uint8(base / key, "L" if grey else "RGB"))
        meta = {"sigma": sigma, "noise_seed": NOISE_SEED, "clipped": False, "grey": grey}
        return Pair(Path(key).stem, add_benchmark_noise(clean, sigma), clean, meta)

    return PairedDataset(name, "denoise", _files(base), load, f"{folder} + Gaussian sigma {sigma}")


def _sr_shipped(
    root: Path, name: str, hr_dir: Path, lr_for: Callable[[str], Path], scale: int
) -> PairedDataset:
    def load(key: str) -> Pair:
        lr = read_uint8(lr_for(key), "RGB")
        hr = modcrop(read_uint8(hr_dir / key, "RGB"), scale)
        hr = hr[: lr.shape[0] * scale, : lr.shape[1] * scale]
        if hr.shape[:2] != (lr.shape[0] * scale, lr.shape[1] * scale):
            raise ValueError(f"{name}/{key}: LR {lr.shape} does not match HR {hr.shape} x{scale}")
        meta = {"scale": scale, "lr": "shipped (MATLAB bicubic)"}
        return Pair(Path(key).stem, to_unit(lr), to_unit(hr), meta)

    return PairedDataset(name, "upscale", _files(hr_dir), load, f"{name}: shipped LR x{scale}")


def _set5(root: Path, name: str, scale: int) -> PairedDataset:
    base = root / "test" / "Set5"
    return _sr_shipped(
        root,
        name,
        base / "HR",
        lambda key: base / "LR_bicubic" / f"X{scale}" / f"{Path(key).stem}x{scale}.png",
        scale,
    )


def _urban100(root: Path, name: str, scale: int) -> PairedDataset:
    base = root / "test" / "Urban100_subset"
    return _sr_shipped(root, name, base / "HR", lambda key: base / f"LR_x{scale}" / key, scale)


def _set14(root: Path, name: str, scale: int) -> PairedDataset:
    from restora.degradations.resize import imresize

    base = root / "test" / "Set14"

    def load(key: str) -> Pair:
        hr = modcrop(read_uint8(base / key, "RGB"), scale)
        lr = imresize(hr, 1.0 / scale)
        meta = {"scale": scale, "lr": "restora imresize (MATLAB bicubic, uint8)"}
        return Pair(Path(key).stem, to_unit(lr), to_unit(hr), meta)

    return PairedDataset(name, "upscale", _files(base), load, f"Set14 x{scale}, MATLAB bicubic")


def _b100(root: Path, name: str, scale: int) -> PairedDataset:
    base = root / "test" / "BSD100_LR_x4"
    mapping_file = base / "mapping_to_BSDS500_val.tsv"
    if not mapping_file.is_file():
        raise NotAvailableError(f"{mapping_file} not found (set RESTORA_DATA)")
    mapping: dict[str, tuple[str, int, int]] = {}
    for line in mapping_file.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lr_name, hr_name, size = line.split("\t")
        width, height = (int(v) for v in size.split("x"))
        mapping[lr_name] = (hr_name, width, height)
    hr_dir = root / "train" / "BSDS500" / "val"

    def load(key: str) -> Pair:
        hr_name, width, height = mapping[key]
        hr = read_uint8(hr_dir / hr_name, "RGB")[:height, :width]
        if scale != 4:
            # Other factors: the same HR crop, downscaled here with the MATLAB-exact bicubic.
            from restora.degradations.resize import imresize

            lr = imresize(hr, 1.0 / scale)
            meta = {"scale": scale, "lr": "restora imresize (MATLAB bicubic, uint8)",
                    "hr_source": f"BSDS500/val/{hr_name}"}  # fmt: skip
            return Pair(Path(key).stem, to_unit(lr), to_unit(hr), meta)
        lr = read_uint8(base / key, "RGB")
        if hr.shape[:2] != (lr.shape[0] * scale, lr.shape[1] * scale):
            raise ValueError(f"{name}/{key}: LR {lr.shape} does not match HR {hr.shape}")
        meta = {"scale": scale, "lr": "shipped (SelfExSR)", "hr_source": f"BSDS500/val/{hr_name}"}
        return Pair(Path(key).stem, to_unit(lr), to_unit(hr), meta)

    what = "B100 x4 (SelfExSR LR)" if scale == 4 else f"B100 x{scale}, MATLAB bicubic"
    return PairedDataset(name, "upscale", sorted(mapping), load, what)


def _jpeg(root: Path, name: str, folder: str, quality: int, luma: bool) -> PairedDataset:
    from restora.degradations.jpeg import decode_jpeg, encode_jpeg

    base = root / "test" / folder

    def load(key: str) -> Pair:
        grey = matlab_luma(read_uint8(base / key, "RGB")) if luma else read_uint8(base / key, "L")
        compressed = decode_jpeg(encode_jpeg(grey, quality))
        meta = {"quality": quality, "channel": "Y (rgb2ycbcr)" if luma else "grey"}
        return Pair(Path(key).stem, compressed, to_unit(grey), meta)

    return PairedDataset(name, "dejpeg", _files(base), load, f"{folder} grey JPEG q{quality}")


def _paired_folder(
    root: Path, name: str, folder: str, task: str, target_for: Callable[[str], str]
) -> PairedDataset:
    base = root / "test" / folder

    def load(key: str) -> Pair:
        degraded = read_uint8(base / "input" / key, "RGB")
        target = read_uint8(base / "target" / target_for(key), "RGB")
        if degraded.shape != target.shape:
            raise ValueError(f"{name}/{key}: input {degraded.shape} != target {target.shape}")
        return Pair(Path(key).stem, to_unit(degraded), to_unit(target), {"source": folder})

    return PairedDataset(name, task, _files(base / "input"), load, f"{folder} pairs")


def _gopro_real(root: Path, name: str) -> PairedDataset:
    blurred, sharp = root / "real" / "motion_blur", root / "real" / "motion_blur_gt"
    keys = [k for k in _files(sharp) if (blurred / k).is_file()]

    def load(key: str) -> Pair:
        degraded = read_uint8(blurred / key, "RGB")
        target = read_uint8(sharp / key, "RGB")
        if degraded.shape != target.shape:
            raise ValueError(f"{name}/{key}: input {degraded.shape} != target {target.shape}")
        return Pair(Path(key).stem, to_unit(degraded), to_unit(target), {"source": "GoPro"})

    return PairedDataset(name, "deblur", keys, load, "real GoPro camera-shake pairs")


# ----------------------------------------------------------------------- mixed degradations


class _LazyImages(Sequence[np.ndarray]):
    """Images read on first access (a reflection pool that loads only the one it uses)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: Any) -> Any:
        return to_unit(read_uint8(self.paths[index], "RGB"))


def _mixed_item(base: Path, images: list[str], index: int) -> tuple[np.ndarray, Any, dict]:
    """Synthesise item ``index`` of the mixed benchmark: (degraded, record, manifest entry)."""
    from restora.degradations import synthesize

    image = images[index % len(images)]
    other = images[(index * 37 + 11) % len(images)]
    if other == image:
        other = images[(index * 37 + 12) % len(images)]
    clean = to_unit(read_uint8(base / image, "RGB"))
    seed = MIXED_SEED + index
    degraded, record = synthesize(
        clean,
        "mixed",
        seed=seed,
        stage="hard",
        num_types=(2, 3),
        pool=DEGRADATION_TYPES,
        second_order=False,
        reflection_pool=_LazyImages([base / other]),
    )
    entry = {
        "id": f"mixed_{index:03d}",
        "image": image,
        "reflection_image": other,
        "seed": seed,
        **record.to_dict(),
        "captions": list(record.captions),
    }
    return degraded, record, entry


def build_mixed_manifest(data_dir: str | Path | None = None) -> dict[str, Any]:
    """The mixed-degradation benchmark's manifest, re-created from CBSD68 and the fixed seeds."""
    from restora.paths import data_dir as find

    base = find(data_dir) / "test" / "CBSD68"
    images = _files(base)
    items = [_mixed_item(base, images, i)[2] for i in range(MIXED_COUNT)]
    return {
        "name": "mixed_cbsd68",
        "source": "test/CBSD68",
        "seed": MIXED_SEED,
        "count": MIXED_COUNT,
        "recipe": "synthesize(clean, 'mixed', seed=seed, stage='hard', num_types=(2, 3), "
        "pool=DEGRADATION_TYPES, second_order=False, reflection_pool=[reflection_image])",
        "items": items,
    }


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def _mixed(root: Path, name: str) -> PairedDataset:
    base = root / "test" / "CBSD68"
    images = _files(base)
    saved = (
        {item["id"]: item for item in load_manifest()["items"]} if MANIFEST_PATH.is_file() else {}
    )

    def load(key: str) -> Pair:
        index = int(key.rsplit("_", 1)[1])
        degraded, record, entry = _mixed_item(base, images, index)
        expected = saved.get(key)
        if expected is not None and expected["degradations"] != entry["degradations"]:
            log.warning("%s: synthesis differs from the saved manifest (engine changed?)", key)
        clean = to_unit(read_uint8(base / entry["image"], "RGB"))
        tasks = list(dict.fromkeys(TASK_FOR_TYPE[t] for t in record.types))
        meta = {**entry, "tasks": tasks, "record": record}
        return Pair(key, degraded, clean, meta)

    keys = [f"mixed_{i:03d}" for i in range(MIXED_COUNT)]
    return PairedDataset(name, MIXED_TASK, keys, load, "CBSD68 with 2-3 mixed degradations")


# ------------------------------------------------------------------------------ the registry


SYNTHETIC_SEED = 6800
SYNTHETIC_SETS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "cbsd68_blur": ("deblur", "blur", {}),
    "cbsd68_motion": ("deblur", "motion_blur", {}),
    "cbsd68_lowlight": ("brighten", "low_light", {}),
    "cbsd68_reflection": ("dereflect", "reflection", {}),
}
"""name -> (task, degradation type, options) of the synthetic CBSD68 sets."""


def _synthetic(root: Path, name: str, severity: float = 0.6) -> PairedDataset:
    from restora.degradations import apply

    task, type_name, options = SYNTHETIC_SETS[name]
    base = root / "test" / "CBSD68"
    files = _files(base)

    def load(key: str) -> Pair:
        index = files.index(key)
        clean = to_unit(read_uint8(base / key, "RGB"))
        extra = dict(options)
        if type_name == "reflection":
            extra["reflection_source"] = to_unit(
                read_uint8(base / files[(index + 1) % len(files)], "RGB")
            )
        rng = np.random.default_rng(SYNTHETIC_SEED + index)
        degraded, params = apply(type_name, clean, severity, rng, **extra)
        meta = {"type": type_name, "severity": severity, "params": params}
        return Pair(Path(key).stem, np.asarray(degraded, np.float32), clean, meta)

    return PairedDataset(name, task, files, load, f"CBSD68 + {type_name} (severity {severity})")


def _same_name(key: str) -> str:
    return key


def _sots_target(key: str) -> str:
    return key.split("_")[0] + ".png"  # 0001_0.8_0.2.jpg -> 0001.png


def _registry() -> dict[str, Callable[[Path], PairedDataset]]:
    """Name -> builder taking the data root; nothing is read until a data set is asked for."""
    table: dict[str, Callable[[Path], PairedDataset]] = {}
    for sigma in (15, 25, 50):
        for prefix, folder, grey in (
            ("cbsd68", "CBSD68", False),
            ("bsd68", "BSD68", True),
            ("set12", "Set12", True),
        ):
            name = f"{prefix}_sigma{sigma}"
            table[name] = partial(_denoising, name=name, folder=folder, sigma=sigma, grey=grey)
    for scale in (2, 3, 4):
        table[f"set5_x{scale}"] = partial(_set5, name=f"set5_x{scale}", scale=scale)
    for scale in (2, 4):
        table[f"set14_x{scale}"] = partial(_set14, name=f"set14_x{scale}", scale=scale)
    table["b100_x2"] = partial(_b100, name="b100_x2", scale=2)
    table["b100_x4"] = partial(_b100, name="b100_x4", scale=4)
    table["urban100_x4"] = partial(_urban100, name="urban100_x4", scale=4)
    for quality in (10, 20, 30, 40):
        for prefix, folder, luma in (("live1", "LIVE1", True), ("classic5", "classic5", False)):
            name = f"{prefix}_q{quality}"
            table[name] = partial(_jpeg, name=name, folder=folder, quality=quality, luma=luma)
    for name, folder, task, target_for in (
        ("rain100h", "Rain100H_subset", "derain", _same_name),
        ("rain100l", "Rain100L_subset", "derain", _same_name),
        ("sots_outdoor", "SOTS_outdoor_subset", "dehaze", _sots_target),
    ):
        table[name] = partial(
            _paired_folder, name=name, folder=folder, task=task, target_for=target_for
        )
    table["gopro_real"] = partial(_gopro_real, name="gopro_real")
    for name in SYNTHETIC_SETS:
        table[name] = partial(_synthetic, name=name)
    table["mixed_cbsd68"] = partial(_mixed, name="mixed_cbsd68")
    return table


_DATASETS = _registry()


def list_datasets() -> list[str]:
    """Names of every benchmark data set."""
    return list(_DATASETS)


def get_dataset(name: str, data_dir: str | Path | None = None) -> PairedDataset:
    """The paired data set ``name`` over ``data_dir`` (default :func:`restora.paths.data_dir`)."""
    from restora.paths import data_dir as find

    if name not in _DATASETS:
        raise UnknownNameError("benchmark data set", name, list(_DATASETS))
    root = find(data_dir)
    if not (root / "test").is_dir():
        raise NotAvailableError(f"data folder {root} has no test/ (set RESTORA_DATA)")
    return _DATASETS[name](root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark data sets of restora.")
    parser.add_argument("--data", default=None, help="data folder (default ../shared/data)")
    parser.add_argument("--list", action="store_true", help="list the data sets and their sizes")
    parser.add_argument(
        "--write-manifest", action="store_true", help=f"re-create {MANIFEST_PATH.name}"
    )
    args = parser.parse_args(argv)
    if args.write_manifest:
        manifest = build_mixed_manifest(args.data)
        MANIFEST_PATH.write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"wrote {MANIFEST_PATH} ({len(manifest['items'])} items)")
    if args.list or not args.write_manifest:
        for name in list_datasets():
            try:
                dataset = get_dataset(name, args.data)
                print(f"{name:16s} {dataset.task:8s} {len(dataset):4d}  {dataset.description}")
            except NotAvailableError as error:
                print(f"{name:16s} not available: {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
