"""Quality benchmark: calibration against official outputs and correlation with human scores.

    restora bench --task quality [--data ../shared/data] [--quick]
    python -m restora.bench.quality [--data ../shared/data] [--no-write]

1. TID2013 calibration: every metric with an official value in
   ``iqa/TID2013_calibration/results_official.csv`` on its five pairs, ours vs official.
2. LIVE In-the-Wild Challenge subset (60 photos with MOS): Spearman (SRCC) and Pearson (PLCC,
   linear, no logistic fit) correlation of every no-reference metric with the MOS. Metrics
   where lower is better are negated first, so positive means "agrees with people".
3. Speed on one 512x384 pair, as a ratio to SSIM measured in the same run.

Rewrites the ``quality`` section of BENCHMARKS.md (between its BEGIN/END markers, through
:func:`restora.bench.run_named`) unless ``--no-write`` or ``--quick`` (20 of the LIVE photos, one
timing repeat) is given; prints the section either way.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import pearsonr, spearmanr

from restora.bench import BenchmarkOutcome, command_line, default_command, run_named
from restora.bench.report import machine_description
from restora.paths import data_dir as find_data_dir
from restora.quality.niqe import PristineModel, niqe
from restora.quality.registry import get_metric, list_metrics

CALIBRATION_TOLERANCE = {"niqe_official_params": 6e-2}
DEFAULT_TOLERANCE = 1e-2


def _load(path: Path) -> np.ndarray:
    from restora.io import load

    return load(path).rgb


def _full_or_no_reference(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    metric = get_metric(name)

    def run(dist: np.ndarray, ref: np.ndarray) -> float:
        return metric(dist, ref if metric.needs_reference else None)

    return run


def calibration_rows(data: Path) -> list[tuple[str, list[float], list[float], float]]:
    """(metric, ours per image, official per image, tolerance) for each calibrated metric."""
    folder = data / "iqa" / "TID2013_calibration"
    with open(folder / "results_official.csv", newline="") as fh:
        official = {row["Method"]: row for row in csv.DictReader(fh)}
    keys = [k for k in official["psnr"] if k != "Method"]
    pairs = [
        (
            _load(folder / "dist_dir" / f"{Path(k).stem}.png"),
            _load(folder / "ref_dir" / f"{Path(k).stem}.png"),
        )
        for k in keys
    ]
    pristine = PristineModel.load(folder / "niqe_pris_params.npz")
    checks: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], float]]] = {
        name: (name, _full_or_no_reference(name)) for name in list_metrics() if name in official
    }
    checks.pop("niqe", None)
    # Both BRISQUE rows come from other SVRs (pyiqa: the MATLAB allmodel; brisque_matlab: the
    # Image Processing Toolbox's), not the one restora ships: tests/test_quality_brisque.py
    # checks it against the 'brisque' package instead (docs/quality.md).
    checks.pop("brisque", None)
    checks["niqe_official_params"] = ("niqe", lambda d, r: niqe(d, pristine))
    rows = []
    for label, (official_name, fn) in checks.items():
        ours = [fn(d, r) for d, r in pairs]
        reference = [float(official[official_name][k]) for k in keys]
        rows.append((label, ours, reference, CALIBRATION_TOLERANCE.get(label, DEFAULT_TOLERANCE)))
    return rows


def correlation_rows(
    data: Path, limit: int | None = None
) -> tuple[list[tuple[str, float, float]], int]:
    """(metric, SRCC, PLCC) on the LIVE Challenge subset (its first ``limit`` photos), each
    oriented so higher = better."""
    folder = data / "iqa" / "LIVE_Challenge_subset"
    with open(folder / "mos_subset.csv", newline="") as fh:
        entries = list(csv.DictReader(fh))[:limit]
    images = [_load(folder / "Images" / e["image"]) for e in entries]
    mos = np.array([float(e["mos"]) for e in entries])
    pristine = PristineModel.load(data / "iqa" / "TID2013_calibration" / "niqe_pris_params.npz")
    measures: dict[str, Callable[[np.ndarray], float]] = {
        name: get_metric(name) for name in list_metrics("no-reference")
    }
    measures["niqe (official pristine params, reference only)"] = lambda im: niqe(im, pristine)
    rows = []
    for label, fn in measures.items():
        higher_is_better = get_metric(label.split()[0]).higher_is_better
        scores = np.array([fn(im) for im in images]) * (1 if higher_is_better else -1)
        rows.append((label, float(spearmanr(scores, mos)[0]), float(pearsonr(scores, mos)[0])))
    return rows, len(images)


def speed_rows(data: Path, repeats: int = 3) -> list[tuple[str, float]]:
    """Milliseconds per 512x384 image (pair) for every metric, best of ``repeats``."""
    folder = data / "iqa" / "TID2013_calibration"
    dist, ref = _load(folder / "dist_dir" / "I19.png"), _load(folder / "ref_dir" / "I19.png")
    rows = []
    for name in list_metrics():
        metric = get_metric(name)
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            metric(dist, ref if metric.needs_reference else None)
            best = min(best, time.perf_counter() - start)
        rows.append((name, best * 1000))
    return rows


def _fisher_interval(r: float, n: int) -> tuple[float, float]:
    """Approximate 95% interval of a correlation from n samples (Fisher z transform)."""
    z, half = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1.96 / np.sqrt(max(n - 3, 1))
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.2f}"


def measure(data: Path, quick: bool = False) -> dict[str, Any]:
    """Calibration, correlation and speed rows as a JSON-able dict (quick: the first 20 LIVE
    photos, one timing repeat)."""
    correlations, n_images = correlation_rows(data, 20 if quick else None)
    return {
        "calibration": [
            {
                "metric": label,
                "ours": [float(v) for v in ours],
                "official": official,
                "tolerance": tolerance,
            }
            for label, ours, official, tolerance in calibration_rows(data)
        ],
        "correlation_images": n_images,
        "correlation": [
            {"metric": label, "srcc": srcc, "plcc": plcc} for label, srcc, plcc in correlations
        ],
        "speed_ms": dict(speed_rows(data, 1 if quick else 3)),
        "machine": machine_description(),
    }


def render(results: dict[str, Any], command: str = "restora bench --task quality") -> str:
    """The ``quality`` section of BENCHMARKS.md from :func:`measure`'s results."""
    speeds = results["speed_ms"]
    anchor = speeds["ssim"]
    n_images = results["correlation_images"]
    machine = results["machine"]
    lines = [
        "## Quality assessment",
        "",
        f"Written by `{command}`.",
        "",
        "### Calibration on TID2013 (5 pairs, `iqa/TID2013_calibration`)",
        "",
        "Ours vs the official implementations (`results_official.csv`); the test "
        "`tests/test_quality_calibration.py` enforces the tolerance (pyiqa's: relative 1e-2, "
        "6e-2 for NIQE). NIQE is checked here with the official pristine parameters; the NIQE "
        "restora ships uses its own fitted model (see docs/quality.md).",
        "",
        "| metric | I03 ours / official | I04 | I06 | I08 | I19 | max rel. error | tolerance |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["calibration"]:
        label, ours, official, tolerance = (
            row[k] for k in ("metric", "ours", "official", "tolerance")
        )
        rel = max(abs(o - r) / max(abs(r), 1e-12) for o, r in zip(ours, official, strict=True))
        cells = " | ".join(f"{_fmt(o)} / {_fmt(r)}" for o, r in zip(ours, official, strict=True))
        lines.append(f"| {label} | {cells} | {rel:.1e} | {tolerance:.0e} |")
    lines += [
        "",
        f"### Correlation with human opinion (LIVE Challenge subset, {n_images} photos)",
        "",
        "SRCC / PLCC with the mean opinion scores (PLCC is plain Pearson, no logistic fit); "
        "lower-is-better metrics are negated, so positive means agreement. For orientation: "
        "published NIQE on the full 1162-image LIVE Challenge has SRCC about 0.45; a 60-image "
        "subset gives a wide interval, shown per row.",
        "",
        "| no-reference metric | SRCC | SRCC 95% interval (Fisher z) | PLCC |",
        "|---|---|---|---|",
    ]
    for row in results["correlation"]:
        label, srcc, plcc = row["metric"], row["srcc"], row["plcc"]
        low, high = _fisher_interval(srcc, n_images)
        lines.append(f"| {label} | {srcc:.3f} | [{low:.2f}, {high:.2f}] | {plcc:.3f} |")
    lines += [
        "",
        f"### Speed (one 512x384 image or pair; {machine})",
        "",
        "| metric | ms | relative to ssim |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {ms:.1f} | {ms / anchor:.2f}x |" for name, ms in speeds.items()]
    return "\n".join(lines) + "\n"


def benchmark(data_dir: Path | None, quick: bool, command: str | None = None) -> BenchmarkOutcome:
    """The registered ``quality`` benchmark (``restora bench --task quality [--quick]``)."""
    from restora.errors import InputError

    data = find_data_dir(data_dir)
    if not (data / "iqa").is_dir():
        raise InputError(f"{data}/iqa not found (set --data or RESTORA_DATA)")
    results = measure(data, quick)
    return BenchmarkOutcome(
        "quality", render(results, command or default_command("quality", quick)), results
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="restora data folder")
    parser.add_argument("--quick", action="store_true", help="a subset; BENCHMARKS.md stays")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args(argv)
    from restora.errors import RestoraError

    command = command_line("restora.bench.quality", argv)
    try:
        outcome = run_named(
            "quality", args.data, args.quick, write=not args.no_write, command=command
        )
    except RestoraError as error:
        print(f"restora: error: {error}", file=sys.stderr)
        return 2
    print(outcome.markdown)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
