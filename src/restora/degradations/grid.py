"""Draw every degradation type at three severities on one photo (docs/images/degradation_grid.jpg).

python -m restora.degradations.grid -o docs/images/degradation_grid.jpg
python -m restora.degradations.grid --realistic -o docs/images/degradation_grid_realistic.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEVERITIES: tuple[float, ...] = (0.2, 0.5, 0.9)


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    import cv2

    out = np.ascontiguousarray(tile.copy())
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (0, 0, 0), thickness=-1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def make_grid(
    image: np.ndarray | None = None,
    tile: int = 200,
    seed: int = 7,
    gap: int = 4,
    realistic: bool = False,
) -> np.ndarray:
    """A uint8 RGB grid: one row per type, the clean image then three severities
    (``realistic``: each type's camera-realistic variant)."""
    import cv2
    from skimage import data

    from restora.degradations import apply, list_types

    if image is None:
        photo = np.asarray(data.astronaut(), dtype=np.float32)[:400, 60:460] / 255.0
        image = cv2.resize(photo, (tile, tile), interpolation=cv2.INTER_AREA)
    clean = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    rows = []
    for type_name in list_types():
        cells = [_label(clean, "clean")]
        for severity in SEVERITIES:
            rng = np.random.default_rng(seed)
            out, _ = apply(
                type_name, image, severity, rng, **({"realistic": True} if realistic else {})
            )
            if out.shape[:2] != image.shape[:2]:  # low resolution: show the pixels enlarged
                out = cv2.resize(out, (tile, tile), interpolation=cv2.INTER_NEAREST)
            cell = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
            cells.append(_label(cell, f"{type_name} {severity:.1f}"))
        spacer = np.full((tile, gap, 3), 255, np.uint8)
        row = np.concatenate([c for cell in cells for c in (cell, spacer)][:-1], axis=1)
        rows.extend([row, np.full((gap, row.shape[1], 3), 255, np.uint8)])
    return np.concatenate(rows[:-1], axis=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("degradation_grid.jpg"))
    parser.add_argument("--tile", type=int, default=200)
    parser.add_argument("--quality", type=int, default=88)
    parser.add_argument("--realistic", action="store_true", help="the camera-realistic variants")
    args = parser.parse_args(argv)
    from PIL import Image as PILImage

    grid = make_grid(tile=args.tile, realistic=args.realistic)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(grid).save(args.output, quality=args.quality, optimize=True)
    print(f"{args.output}: {grid.shape[1]}x{grid.shape[0]}, {args.output.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
