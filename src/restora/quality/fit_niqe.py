"""Fit the NIQE pristine model on restora's clean training images (``estimatemodelparam.m``).

    python -m restora.quality.fit_niqe --data ../shared/data [--out DIR]

For every image of the standard colour training set CBSD432 (the 432 BSDS500 files listed in
``train/BSDS500/CBSD432_list.txt``; never the CBSD68 / B100 evaluation images) the 36 NIQE
features of each 96x96 block are computed, blocks whose sharpness (mean local deviation at the
first scale) is above 0.75 x the sharpest block of the same image are kept, as in the paper, and
a multivariate Gaussian (NaN-aware mean, covariance of complete rows) is fitted to all of them.
``--include-train400`` adds the grey DnCNN Train400 crops (one block each, always kept).

Writes ``niqe_pristine.npz`` (``mu`` 36, ``cov`` 36x36) and ``niqe_pristine.json`` (the card:
data, counts, threshold, command) next to each other.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from restora.paths import WEIGHTS_DIR, data_dir
from restora.quality.matlab import rgb2gray
from restora.quality.niqe import BLOCK_SIZE, nan_mean_cov, niqe_features

log = logging.getLogger("restora.quality.fit_niqe")

SHARPNESS_THRESHOLD = 0.75
DEFAULT_OUT = WEIGHTS_DIR / "quality"


def pristine_images(data: Path, include_train400: bool = False) -> Iterator[Path]:
    """The clean training images, in a fixed order (CBSD432 list, then Train400 if asked)."""
    listing = data / "train" / "BSDS500" / "CBSD432_list.txt"
    if not listing.is_file():
        raise FileNotFoundError(f"{listing} not found: is {data} restora's data folder?")
    for line in listing.read_text().splitlines():
        if line.strip():
            yield data / "train" / "BSDS500" / line.strip()
    if include_train400:
        yield from sorted((data / "train" / "Train400").glob("*.png"))


def selected_features(grey: np.ndarray, threshold: float = SHARPNESS_THRESHOLD) -> np.ndarray:
    """Features of the blocks of one image whose sharpness exceeds ``threshold`` x its max."""
    features, sharpness = niqe_features(grey, BLOCK_SIZE)
    keep = sharpness > threshold * sharpness.max()
    return features[keep]


def fit(paths: list[Path], threshold: float = SHARPNESS_THRESHOLD) -> tuple[np.ndarray, ...]:
    """mu (36,), cov (36, 36) and the number of patches from the given images."""
    from restora.io import load

    chunks = []
    for i, path in enumerate(paths, 1):
        grey = rgb2gray(load(path).rgb)
        if min(grey.shape) < BLOCK_SIZE:
            continue
        chunks.append(selected_features(grey, threshold))
        if i % 50 == 0:
            log.info("%d/%d images, %d patches", i, len(paths), sum(len(c) for c in chunks))
    features = np.concatenate(chunks, axis=0)
    mu, cov = nan_mean_cov(features)
    return mu, cov, np.asarray(features.shape[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="restora data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--threshold", type=float, default=SHARPNESS_THRESHOLD)
    parser.add_argument("--include-train400", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    data = data_dir(args.data)
    paths = list(pristine_images(data, args.include_train400))
    mu, cov, patches = fit(paths, args.threshold)
    args.out.mkdir(parents=True, exist_ok=True)
    npz_path = args.out / "niqe_pristine.npz"
    np.savez(npz_path, mu=mu, cov=cov)
    sets = ["CBSD432 (train/BSDS500/CBSD432_list.txt)"]
    if args.include_train400:
        sets.append("train/Train400")
    card = {
        "model": "NIQE pristine multivariate Gaussian",
        "file": npz_path.name,
        "sha256": hashlib.sha256(npz_path.read_bytes()).hexdigest(),
        "fitted_by": "restora.quality.fit_niqe (port of estimatemodelparam.m)",
        "command": "python -m restora.quality.fit_niqe --data ../shared/data"
        + (" --include-train400" if args.include_train400 else "")
        + ("" if args.threshold == SHARPNESS_THRESHOLD else f" --threshold {args.threshold}"),
        "data": sets,
        "images": len(paths),
        "patches": int(patches),
        "block_size": BLOCK_SIZE,
        "sharpness_threshold": args.threshold,
        "features": 36,
        "grey_conversion": "MATLAB rgb2gray of the 8-bit image",
        "evaluation_images_excluded": "CBSD68 / B100 (train/BSDS500/val outside the list)",
    }
    (args.out / "niqe_pristine.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"fitted on {len(paths)} images, {int(patches)} patches -> {npz_path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
