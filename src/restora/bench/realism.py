"""How much synthetic degradations look like real ones: one table of image statistics.

    python -m restora.bench.realism --data ../shared/data [--images 16] [--seed 0] [--json]
    python -m restora.bench.realism --speed      # ms per 128 x 128 crop, classic and realistic

For every type, a few statistics that a viewer (and an analyzer) would use to recognise it are
measured on the real degraded photos of ``real/`` (and ``test/RNI15``, and real JPEG files of
``iqa/LIVE_Challenge_subset`` and ``test/RealSRSet``), and on clean photos (``test/CBSD68``)
degraded by the classic and by the camera-realistic variant of that type with the same seeds
and severities (uniform in the training range, 0.1-1, unless the table says otherwise). The
table gives the median and interquartile range of each statistic and which synthetic median is
closer to the real one. Real photos are used only to measure (evaluation): nothing is fitted
to them. Lives in ``bench`` because it reads evaluation data and uses ``restora.quality``.

Statistics (all on float RGB in [0, 1]):
- noise: the noise level function from flat 16 x 16 blocks (Immerkaer's estimator per block,
  the 20 % least textured blocks per intensity bin): ``sigma`` (8-bit, luma), ``bright/dark``
  (noise above mid-grey over noise below: signal dependence), ``chroma/luma`` (noise sd of
  Cb, Cr over Y; 0.96 for independent RGB noise, 0 for grey noise), ``scale ratio`` (2 x the
  noise of the 2 x 2-binned image over the noise at full size: 1 for white noise, more for
  noise correlated between neighbouring pixels, as demosaicing, denoising and resizing make it).
- blur and motion blur: the slope of the radially averaged power spectrum (log-log, 0.04-0.35
  cycles/px; about -2 for sharp photos, steeper when blurred); ``sharpness spread`` (p90 - p10
  of log10 Laplacian variance over 32 px tiles: large when only part of the frame is sharp);
  ``gradient anisotropy`` (eigenvalue ratio of the structure tensor: motion removes gradients
  along one direction).
- jpeg: ``blockiness`` (:func:`restora.quality.statistics.blockiness`) and ``chroma/luma
  detail`` (mean |Laplacian| of Cb and Cr over that of Y: 4:2:0 subsampling lowers it), at
  quality 75, the quality of every real file here (read from its quantisation tables).
- haze: mean ``dark channel`` (He et al. 2009, 15 px patches), ``airlight saturation``
  ((max - min) / max of the mean colour of the 0.1 % pixels with the brightest dark channel),
  ``dark channel unevenness`` (coefficient of variation over 32 px tiles).
- rain: ``streak coherence`` (coherence of the structure tensor of the high-pass image:
  oriented streaks give a single dominant orientation), ``dark channel`` (the veil).
- low light: mean ``luma``, ``shadow noise`` (noise sd, 8-bit, of flat blocks with luma under
  0.25), ``colour cast`` (|mean R - mean B| / mean luma).
- reflection: ``dark channel``, ``ghost peak`` (largest normalised autocorrelation of the
  high-pass luma at shifts of 3-16 px: a double image gives a peak), ``dark channel
  unevenness``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LEVEL_STATISTICS = frozenset({"sigma (8-bit)", "spectrum slope", "dark channel", "luma"})
"""Statistics that mostly say how strong a degradation is (so depend on the severity range);
the others describe its appearance and are what realism is judged by."""
IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
Statistic = Callable[[np.ndarray], dict[str, float]]


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image as PILImage

    with PILImage.open(path) as pil:
        return np.asarray(pil.convert("RGB"), dtype=np.float32) / 255.0


def _ycc(image: np.ndarray) -> np.ndarray:
    import cv2

    return np.asarray(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2YCrCb))


def _block_sigma(plane: np.ndarray, block: int) -> np.ndarray:
    """Immerkaer noise sd per ``block`` x ``block`` block of one plane."""
    import cv2

    response = np.abs(cv2.filter2D(plane, cv2.CV_32F, IMMERKAER, borderType=cv2.BORDER_REFLECT))
    rows, cols = plane.shape[0] // block, plane.shape[1] // block
    blocks = response[: rows * block, : cols * block].reshape(rows, block, cols, block)
    return np.asarray(math.sqrt(math.pi / 2) / 6 * blocks.mean(axis=(1, 3)))


def _block_mean(plane: np.ndarray, block: int) -> np.ndarray:
    rows, cols = plane.shape[0] // block, plane.shape[1] // block
    return np.asarray(
        plane[: rows * block, : cols * block].reshape(rows, block, cols, block).mean(axis=(1, 3))
    )


def _flat_selection(
    sigma: np.ndarray, level: np.ndarray, valid: np.ndarray, share: float = 0.2
) -> np.ndarray:
    """The ``share`` least noisy (least textured) valid blocks of each intensity quarter."""
    keep = np.zeros_like(valid)
    for low in (0.0, 0.25, 0.5, 0.75):
        in_bin = valid & (level >= low) & (level < low + 0.25)
        if in_bin.sum() < 4:
            continue
        cut = np.quantile(sigma[in_bin], share)
        keep |= in_bin & (sigma <= cut)
    return keep


def noise_statistics(image: np.ndarray, block: int = 16) -> dict[str, float]:
    import cv2

    ycc = _ycc(image)
    luma = np.ascontiguousarray(ycc[:, :, 0])
    sigma_y = _block_sigma(luma, block)
    sigma_c = 0.5 * (
        _block_sigma(np.ascontiguousarray(ycc[:, :, 1]), block)
        + _block_sigma(np.ascontiguousarray(ycc[:, :, 2]), block)
    )
    level = _block_mean(luma, block)
    low = _block_mean((image.min(axis=2) <= 0.01).astype(np.float32), block)
    high = _block_mean((image.max(axis=2) >= 0.99).astype(np.float32), block)
    valid = (low == 0) & (high == 0)
    keep = _flat_selection(sigma_y, level, valid)
    if keep.sum() < 4:
        return {}
    binned = cv2.resize(
        luma, (luma.shape[1] // 2, luma.shape[0] // 2), interpolation=cv2.INTER_AREA
    )
    sigma_half = _block_sigma(np.ascontiguousarray(binned), block // 2)
    rows, cols = min(sigma_half.shape[0], keep.shape[0]), min(sigma_half.shape[1], keep.shape[1])
    half_keep = keep[:rows, :cols]
    dark = keep & (level < 0.5)
    bright = keep & (level >= 0.5)
    out = {
        "sigma (8-bit)": 255.0 * float(np.median(sigma_y[keep])),
        "chroma/luma": float(np.median(sigma_c[keep]) / max(np.median(sigma_y[keep]), 1e-6)),
        "scale ratio": float(
            2.0
            * np.median(sigma_half[:rows, :cols][half_keep])
            / max(np.median(sigma_y[:rows, :cols][half_keep]), 1e-6)
        ),
    }
    if dark.sum() >= 2 and bright.sum() >= 2:
        out["bright/dark"] = float(np.median(sigma_y[bright]) / max(np.median(sigma_y[dark]), 1e-6))
    return out


def spectrum_slope(image: np.ndarray, size: int = 512) -> float:
    """Slope of log power against log frequency (0.04-0.35 cycles/px) of the luma."""
    grey = _ycc(image)[:, :, 0].astype(np.float64)
    side = min(size, grey.shape[0], grey.shape[1])
    top, left = (grey.shape[0] - side) // 2, (grey.shape[1] - side) // 2
    patch = grey[top : top + side, left : left + side]
    patch = (patch - patch.mean()) * np.outer(np.hanning(side), np.hanning(side))
    power = np.abs(np.fft.fftshift(np.fft.fft2(patch))) ** 2
    yy, xx = np.indices(power.shape)
    radius = np.hypot(yy - side // 2, xx - side // 2).astype(np.int64)
    sums = np.bincount(radius.ravel(), power.ravel())
    counts = np.bincount(radius.ravel())
    freqs = np.arange(len(sums)) / side
    band = (freqs >= 0.04) & (freqs <= 0.35) & (counts > 0)
    radial = sums[band] / counts[band]
    slope = np.polyfit(np.log10(freqs[band]), np.log10(radial + 1e-20), 1)[0]
    return float(slope)


def sharpness_spread(image: np.ndarray, tile: int = 32) -> float:
    import cv2

    luma = np.ascontiguousarray(_ycc(image)[:, :, 0])
    laplacian = cv2.Laplacian(luma, cv2.CV_32F)
    rows, cols = luma.shape[0] // tile, luma.shape[1] // tile
    tiles = laplacian[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile)
    energy = np.log10(tiles.var(axis=(1, 3)) + 1e-7)
    return float(np.percentile(energy, 90) - np.percentile(energy, 10))


def gradient_anisotropy(image: np.ndarray) -> float:
    import cv2

    luma = np.ascontiguousarray(_ycc(image)[:, :, 0])
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1)
    tensor = np.array([[np.mean(gx * gx), np.mean(gx * gy)], [np.mean(gx * gy), np.mean(gy * gy)]])
    eigen = np.linalg.eigvalsh(tensor)
    return float(eigen[1] / max(eigen[0], 1e-12))


def blur_statistics(image: np.ndarray) -> dict[str, float]:
    return {
        "spectrum slope": spectrum_slope(image),
        "sharpness spread": sharpness_spread(image),
    }


def motion_statistics(image: np.ndarray) -> dict[str, float]:
    return {
        "spectrum slope": spectrum_slope(image),
        "gradient anisotropy": gradient_anisotropy(image),
    }


def jpeg_statistics(image: np.ndarray) -> dict[str, float]:
    import cv2

    from restora.quality.statistics import blockiness

    ycc = _ycc(image)
    detail = [
        float(np.abs(cv2.Laplacian(np.ascontiguousarray(ycc[:, :, c]), cv2.CV_32F)).mean())
        for c in range(3)
    ]
    return {
        "blockiness": blockiness(image),
        "chroma/luma detail": (detail[1] + detail[2]) / max(2.0 * detail[0], 1e-9),
    }


def dark_channel(image: np.ndarray, patch: int = 15) -> np.ndarray:
    import cv2

    return np.asarray(cv2.erode(image.min(axis=2), np.ones((patch, patch), np.uint8)))


def _unevenness(plane: np.ndarray, tile: int = 32) -> float:
    means = _block_mean(plane, tile)
    return float(means.std() / max(means.mean(), 1e-6))


def haze_statistics(image: np.ndarray) -> dict[str, float]:
    dark = dark_channel(image)
    brightest = dark >= np.quantile(dark, 0.999)
    colour = image[brightest].mean(axis=0)
    return {
        "dark channel": float(dark.mean()),
        "airlight saturation": float((colour.max() - colour.min()) / max(colour.max(), 1e-6)),
        "dark channel unevenness": _unevenness(dark),
    }


def streak_coherence(image: np.ndarray) -> float:
    import cv2

    luma = np.ascontiguousarray(_ycc(image)[:, :, 0])
    high = luma - cv2.GaussianBlur(luma, (0, 0), sigmaX=2.0)
    gx = cv2.Sobel(high, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(high, cv2.CV_32F, 0, 1)
    jxx, jyy, jxy = float(np.mean(gx * gx)), float(np.mean(gy * gy)), float(np.mean(gx * gy))
    return math.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / max(jxx + jyy, 1e-12)


def rain_statistics(image: np.ndarray) -> dict[str, float]:
    return {
        "streak coherence": streak_coherence(image),
        "dark channel": float(dark_channel(image).mean()),
    }


def low_light_statistics(image: np.ndarray) -> dict[str, float]:
    ycc = _ycc(image)
    luma = np.ascontiguousarray(ycc[:, :, 0])
    sigma = _block_sigma(luma, 16)
    level = _block_mean(luma, 16)
    dark = level < 0.25
    out = {"luma": float(luma.mean())}
    if dark.sum() >= 4:
        out["shadow noise (8-bit)"] = 255.0 * float(np.quantile(sigma[dark], 0.2))
    means = image.reshape(-1, 3).mean(axis=0)
    out["colour cast"] = float(abs(means[0] - means[2]) / max(float(luma.mean()), 1e-6))
    return out


def ghost_peak(image: np.ndarray, size: int = 512) -> float:
    import cv2

    luma = np.ascontiguousarray(_ycc(image)[:, :, 0])
    scale = size / max(luma.shape)
    if scale < 1:
        luma = cv2.resize(luma, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    high = (luma - cv2.GaussianBlur(luma, (0, 0), sigmaX=3.0)).astype(np.float64)
    high -= high.mean()
    spectrum = np.fft.fft2(high)
    correlation = np.real(np.fft.ifft2(np.abs(spectrum) ** 2))
    correlation = np.fft.fftshift(correlation / max(correlation[0, 0], 1e-12))
    cy, cx = correlation.shape[0] // 2, correlation.shape[1] // 2
    yy, xx = np.indices(correlation.shape)
    distance = np.hypot(yy - cy, xx - cx)
    ring = (distance >= 3) & (distance <= 16)
    return float(correlation[ring].max())


def reflection_statistics(image: np.ndarray) -> dict[str, float]:
    dark = dark_channel(image)
    return {
        "dark channel": float(dark.mean()),
        "ghost peak": ghost_peak(image),
        "dark channel unevenness": _unevenness(dark),
    }


@dataclass(frozen=True)
class Check:
    """One type: its statistic, real photo folders (relative to the data folder), options."""

    type: str
    statistic: Statistic
    real: tuple[str, ...]
    severity: tuple[float, float] = (0.1, 1.0)
    fixed: dict[str, Any] = field(default_factory=dict)


CHECKS: tuple[Check, ...] = (
    Check("noise", noise_statistics, ("real/noise", "test/RNI15"), severity=(0.05, 0.4)),
    Check("blur", blur_statistics, ("real/blur",)),
    Check("motion_blur", motion_statistics, ("real/motion_blur",)),
    Check(
        "jpeg",
        jpeg_statistics,
        ("iqa/LIVE_Challenge_subset/Images/*.JPG", "test/RealSRSet/*.jpg"),
        fixed={"quality": 75},
    ),
    Check("haze", haze_statistics, ("real/haze",)),
    Check("rain", rain_statistics, ("real/rain",)),
    Check("low_light", low_light_statistics, ("real/low_light",)),
    Check("reflection", reflection_statistics, ("real/reflection",)),
)


def _files(data_dir: Path, pattern: str) -> list[Path]:
    """Image files of a folder, or matching a ``folder/*.ext`` pattern (none when missing)."""
    if "*" in pattern:
        folder, glob = pattern.rsplit("/", 1)
        return sorted((data_dir / folder).glob(glob))
    if not (data_dir / pattern).is_dir():
        return []
    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
    return sorted(p for p in (data_dir / pattern).iterdir() if p.suffix.lower() in suffixes)


def _summaries(values: list[dict[str, float]]) -> dict[str, tuple[float, float, float, int]]:
    names = list(dict.fromkeys(k for v in values for k in v))
    out = {}
    for name in names:
        column = np.array([v[name] for v in values if name in v and np.isfinite(v[name])])
        if column.size:
            q1, med, q3 = np.percentile(column, [25, 50, 75])
            out[name] = (float(med), float(q1), float(q3), int(column.size))
    return out


def run(
    data_dir: Path, images: int = 16, seed: int = 0, types: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Rows of the comparison: type, statistic, real set, and the three summaries."""
    from restora import degradations

    clean_files = _files(data_dir, "test/CBSD68")[:images]
    clean = [load_rgb(p) for p in clean_files]
    rows: list[dict[str, Any]] = []
    for check in CHECKS:
        if types and check.type not in types:
            continue
        real_sets = {pattern: _files(data_dir, pattern) for pattern in check.real}
        synthetic: dict[str, list[dict[str, float]]] = {"classic": [], "realistic": []}
        for index, image in enumerate(clean):
            draw = np.random.default_rng([seed, index])
            severity = float(draw.uniform(*check.severity))
            for variant in synthetic:
                options = dict(check.fixed)
                if variant == "realistic":
                    options["realistic"] = True
                if check.type == "reflection":
                    options["reflection_source"] = clean[(index + 1) % len(clean)]
                out, _ = degradations.apply(
                    check.type, image, severity, np.random.default_rng([seed, index, 1]), **options
                )
                synthetic[variant].append(check.statistic(out))
        clean_stats = _summaries([check.statistic(image) for image in clean])
        classic = _summaries(synthetic["classic"])
        realistic = _summaries(synthetic["realistic"])
        for pattern, files in real_sets.items():
            if not files:
                continue
            real = _summaries([check.statistic(load_rgb(p)) for p in files])
            for name, (med, q1, q3, count) in real.items():
                row: dict[str, Any] = {
                    "type": check.type,
                    "statistic": name,
                    "measures": "level" if name in LEVEL_STATISTICS else "appearance",
                    "real_set": pattern,
                    "real": [med, q1, q3, count],
                    "clean": list(clean_stats.get(name, (math.nan,) * 3 + (0,))),
                    "classic": list(classic.get(name, (math.nan,) * 3 + (0,))),
                    "realistic": list(realistic.get(name, (math.nan,) * 3 + (0,))),
                }
                gap_classic = abs(row["classic"][0] - med)
                gap_realistic = abs(row["realistic"][0] - med)
                row["closer"] = "realistic" if gap_realistic < gap_classic else "classic"
                rows.append(row)
    return rows


def _cell(summary: Sequence[float]) -> str:
    med, q1, q3 = summary[:3]
    if not np.isfinite(med):
        return "-"
    digits = 1 if abs(med) >= 10 else 2 if abs(med) >= 1 else 3
    return f"{med:.{digits}f} [{q1:.{digits}f}, {q3:.{digits}f}]"


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| type | statistic | measures | real set (n) | real | clean | classic | realistic | closer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['type']} | {row['statistic']} | {row['measures']} | "
            f"{row['real_set']} ({row['real'][3]}) | "
            f"{_cell(row['real'])} | {_cell(row['clean'])} | {_cell(row['classic'])} | "
            f"{_cell(row['realistic'])} | {row['closer']} |"
        )
    wins = sum(row["closer"] == "realistic" for row in rows)
    looks = [row for row in rows if row["measures"] == "appearance"]
    look_wins = sum(row["closer"] == "realistic" for row in looks)
    lines.append("")
    lines.append(
        f"realistic closer to the real median in {wins} of {len(rows)} rows "
        f"({look_wins} of {len(looks)} appearance statistics)"
    )
    return "\n".join(lines)


def speed(repeats: int = 100, size: int = 128) -> list[dict[str, Any]]:
    """Median and 90th-percentile milliseconds per call on random ``size`` crops of a photo
    (scikit-image's astronaut), random severity in [0.1, 1], for both variants of each type."""
    import time

    from skimage import data

    from restora import degradations

    photo = np.asarray(data.astronaut(), dtype=np.float32) / 255.0
    rows = []
    for type_name in degradations.list_types():
        row: dict[str, Any] = {"type": type_name}
        for variant in ("classic", "realistic"):
            times = []
            for index in range(repeats + 1):
                rng = np.random.default_rng([7, index])
                top, left = rng.integers(0, photo.shape[0] - size, 2)
                crop = np.ascontiguousarray(photo[top : top + size, left : left + size])
                options = {"realistic": True} if variant == "realistic" else {}
                start = time.perf_counter()
                degradations.apply(type_name, crop, float(rng.uniform(0.1, 1.0)), rng, **options)
                if index:  # the first call imports and warms caches
                    times.append(1000.0 * (time.perf_counter() - start))
            row[variant] = [float(np.median(times)), float(np.percentile(times, 90))]
        rows.append(row)
    return rows


def format_speed(rows: list[dict[str, Any]]) -> str:
    lines = ["| type | classic ms (median / p90) | realistic ms (median / p90) |", "|---|---|---|"]
    for row in rows:
        c, r = row["classic"], row["realistic"]
        lines.append(f"| {row['type']} | {c[0]:.2f} / {c[1]:.2f} | {r[0]:.2f} / {r[1]:.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from restora.paths import data_dir as find_data

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="the public data folder (../shared/data)")
    parser.add_argument("--images", type=int, default=16, help="clean CBSD68 photos per type")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--type", action="append", dest="types", help="only these types")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--speed", action="store_true", help="time every variant instead")
    args = parser.parse_args(argv)
    if args.speed:
        timings = speed()
        print(json.dumps(timings) if args.json else format_speed(timings))
        return 0
    root = find_data(args.data)
    if not (root / "test" / "CBSD68").is_dir() or not (root / "real").is_dir():
        print(f"error: {root} has no test/CBSD68 or real/ (pass --data)", file=sys.stderr)
        return 2
    rows = run(root, images=args.images, seed=args.seed, types=args.types)
    print(json.dumps(rows) if args.json else format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
