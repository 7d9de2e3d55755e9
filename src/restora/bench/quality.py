"""Quality benchmark: calibration against official outputs and correlation with human scores.

    restora bench --task quality [--data ../shared/data] [--quick]
    python -m restora.bench.quality [--data ../shared/data] [--no-write] [--quick]

1. TID2013 calibration: every metric with an official value in
   ``iqa/TID2013_calibration/results_official.csv`` on its five pairs, ours vs official.
2. LIVE In-the-Wild Challenge, side by side for the no-reference metrics (niqe, piqe, brisque,
   quality_classic and the learned ``quality``):

   - Spearman (SRCC) and Pearson (PLCC, linear, no logistic fit) correlation with the mean
     opinion scores of ``iqa/LIVE_Challenge_subset`` (60 photos no weight ever saw);
   - 5-fold cross-validation on ``iqa/LIVE_Challenge_train`` (496 photos) under the seeded
     folds of :func:`restora.training.quality.cross_validate`: the learned metric's head (the
     ``head`` of ``mos.json``) is refitted on four folds and predicts the fifth, from the
     backbone features of the feature cache; a parameter-free metric is only scored, and its
     SRCC over each fold's held-out part is averaged;
   - seconds per megapixel on one thread.

   Metrics where lower is better are negated first, so positive means "agrees with people".
3. Speed of every metric on one 1 MP photo (and a noisy copy as the distorted image of a
   pair), one CPU thread, as seconds per megapixel and a ratio to SSIM measured in the same run.

Rewrites the ``quality`` section of BENCHMARKS.md (between its BEGIN/END markers, through
:func:`restora.bench.run_named`) unless ``--no-write`` or ``--quick`` (20 of the 60 photos, 50
of the training photos, one timing repeat) is given; prints the section either way.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import time
from collections.abc import Callable, Iterator
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

LIVE_METRICS = ("niqe", "piqe", "brisque", "quality_classic", "quality")
"""The no-reference metrics compared on LIVE Challenge (``quality`` is the learned one)."""
LEARNED = "quality"
NIQE_OFFICIAL = "niqe (official pristine params, reference only)"

SPEED_PHOTO = Path("test") / "Urban100_subset" / "HR" / "img_081.png"
"""A 1024 x 1024 photo (1.05 MP), the only one of about 1 MP in the data folder."""
QUICK_SUBSET, QUICK_TRAIN = 20, 50


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


def _oriented(name: str) -> Callable[[np.ndarray], float]:
    """Metric ``name`` as a function whose larger values mean better (lower-is-better negated)."""
    metric = get_metric(name)
    sign = 1.0 if metric.higher_is_better else -1.0
    return lambda image: sign * metric(image)


def _scores(
    paths: list[Path], measures: dict[str, Callable[[np.ndarray], float]]
) -> dict[str, np.ndarray]:
    """Every measure on every photo, one photo in memory at a time (496 would be 1.5 GB)."""
    values: dict[str, list[float]] = {label: [] for label in measures}
    for index, path in enumerate(paths):
        image = _load(path)
        for label, fn in measures.items():
            values[label].append(fn(image))
        if index % 100 == 99:
            print(f"  scored {index + 1}/{len(paths)} photos", file=sys.stderr, flush=True)
    return {label: np.array(v) for label, v in values.items()}


def _correlations(prediction: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    return float(spearmanr(prediction, truth)[0]), float(pearsonr(prediction, truth)[0])


def subset_rows(data: Path, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """SRCC/PLCC of every LIVE metric (and NIQE with the official pristine model, for
    reference) on the held-out LIVE Challenge subset (its first ``limit`` photos)."""
    from restora.training.quality import live_rows

    rows = live_rows(data, "subset")[:limit]
    pristine = PristineModel.load(data / "iqa" / "TID2013_calibration" / "niqe_pris_params.npz")
    measures = {name: _oriented(name) for name in LIVE_METRICS}
    measures[NIQE_OFFICIAL] = lambda image: -niqe(image, pristine)
    scores = _scores([path for path, _ in rows], measures)
    mos = np.array([m for _, m in rows])
    out = []
    for label, values in scores.items():
        srcc, plcc = _correlations(values, mos)
        out.append({"metric": label, "srcc": srcc, "plcc": plcc})
    return out, len(rows)


def fold_indices(n: int, seed: int) -> list[np.ndarray]:
    """The held-out part of each fold, as :func:`restora.training.quality.cross_validate`
    splits (tests/test_bench_quality.py checks that they agree)."""
    from restora.training.quality import FOLDS

    return list(np.array_split(np.random.default_rng(seed).permutation(n), FOLDS))


def fixed_cv(scores: np.ndarray, mos: np.ndarray, seed: int) -> dict[str, float]:
    """A parameter-free metric under the folds: SRCC/PLCC over all photos (nothing is fitted,
    so every score is out of fold) and the mean/std of SRCC over the folds' held-out parts."""
    per_fold = [
        float(spearmanr(scores[held], mos[held])[0]) for held in fold_indices(len(mos), seed)
    ]
    srcc, plcc = _correlations(scores, mos)
    return {
        "srcc": srcc,
        "plcc": plcc,
        "fold_srcc_mean": float(np.mean(per_fold)),
        "fold_srcc_std": float(np.std(per_fold, ddof=1)),
    }


def learned_cv(features: np.ndarray, mos: np.ndarray, head: str, seed: int) -> dict[str, float]:
    """The learned metric's head refitted under the folds: the out-of-fold SRCC/PLCC of
    :func:`~restora.training.quality.cross_validate`, and the mean/std of SRCC over the folds'
    held-out parts of the same out-of-fold predictions."""
    from restora.errors import InputError
    from restora.training.quality import candidates, cross_validate, fit

    chosen = [c for c in candidates() if c.name == head]
    if not chosen:
        names = ", ".join(c.name for c in candidates())
        raise InputError(f"mos.json names head {head!r}, not one the training tries ({names})")
    candidate = chosen[0]
    pooled = cross_validate(candidate, features, mos, seed)
    folds, per_fold = fold_indices(len(mos), seed), []
    for index, held in enumerate(folds):
        kept = np.concatenate([f for j, f in enumerate(folds) if j != index])
        model = fit(candidate, features[kept], mos[kept], seed)
        per_fold.append(float(spearmanr(model.predict_features(features[held]), mos[held])[0]))
    return {
        "srcc": pooled["srcc"],
        "plcc": pooled["plcc"],
        "fold_srcc_mean": float(np.mean(per_fold)),
        "fold_srcc_std": float(np.std(per_fold, ddof=1)),
    }


def cv_rows(data: Path, limit: int | None = None) -> dict[str, Any]:
    """5-fold cross-validation of every LIVE metric on the training photos (the first
    ``limit`` of them): the learned head refitted, the others only scored."""
    from restora.backbone.cache import FeatureCache
    from restora.quality.learned import shipped_head
    from restora.training.quality import features, live_rows

    rows = live_rows(data, "train")[:limit]
    mos = np.array([m for _, m in rows])
    shipped = shipped_head()
    head, seed = str(shipped.config["head"]), int(shipped.config.get("seed", 0))
    fixed = [name for name in LIVE_METRICS if name != LEARNED]
    scores = _scores([path for path, _ in rows], {name: _oriented(name) for name in fixed})
    cache = FeatureCache()
    # training prints its progress on stdout, which carries this command's table (or JSON)
    with contextlib.redirect_stdout(sys.stderr):
        matrix = features(rows, shipped.spec, cache)
    results = [{"metric": name, **fixed_cv(scores[name], mos, seed)} for name in fixed]
    results.append({"metric": LEARNED, **learned_cv(matrix, mos, head, seed)})
    return {
        "images": len(rows),
        "folds": len(fold_indices(len(rows), seed)),
        "seed": seed,
        "head": head,
        "cache_hits": cache.hits,
        "rows": results,
    }


@contextlib.contextmanager
def one_thread() -> Iterator[bool]:
    """One intra-op thread for torch and, where threadpoolctl is installed, for BLAS; yields
    whether BLAS was limited too."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - scikit-learn brings it
            yield False
            return
        with threadpool_limits(limits=1):
            yield True
    finally:
        torch.set_num_threads(before)


def speed_rows(data: Path, repeats: int = 3) -> dict[str, Any]:
    """Seconds per call of every metric on the 1 MP photo (a pair: the photo and a noisy copy),
    one thread, after one warm-up call, best of ``repeats``: wall clock, and the CPU time of
    this process, which on a busy machine is what one core of its own would take."""
    ref = _load(data / SPEED_PHOTO)
    noise = np.random.default_rng(0).normal(0.0, 0.05, ref.shape).astype(ref.dtype)
    dist = np.clip(ref + noise, 0.0, 1.0)
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}
    with one_thread() as blas_limited:
        for name in list_metrics():
            metric = get_metric(name)
            pair_or_one = (dist, ref) if metric.needs_reference else (dist,)
            metric(*pair_or_one)  # loads weights and imports once, outside the timing
            best, best_cpu = np.inf, np.inf
            for _ in range(repeats):
                start, start_cpu = time.perf_counter(), time.process_time()
                metric(*pair_or_one)
                best = min(best, time.perf_counter() - start)
                best_cpu = min(best_cpu, time.process_time() - start_cpu)
            seconds[name], cpu_seconds[name] = float(best), float(best_cpu)
    return {
        "photo": SPEED_PHOTO.as_posix(),
        "width": int(ref.shape[1]),
        "height": int(ref.shape[0]),
        "megapixels": ref.shape[0] * ref.shape[1] / 1e6,
        "blas_one_thread": blas_limited,
        "repeats": repeats,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
    }


def _fisher_interval(r: float, n: int) -> tuple[float, float]:
    """Approximate 95% interval of a correlation from n samples (Fisher z transform)."""
    z, half = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1.96 / np.sqrt(max(n - 3, 1))
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.2f}"


def measure(data: Path, quick: bool = False) -> dict[str, Any]:
    """Calibration, LIVE Challenge and speed rows as a JSON-able dict (quick: 20 of the 60
    photos, 50 of the training photos, one timing repeat). All of it runs on one thread: the
    numbers do not depend on it, and on a busy machine torch's threads wait on each other."""
    with one_thread():
        subset, n_subset = subset_rows(data, QUICK_SUBSET if quick else None)
        cross_validation = cv_rows(data, QUICK_TRAIN if quick else None)
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
        "subset_images": n_subset,
        "subset": subset,
        "cross_validation": cross_validation,
        "speed": speed_rows(data, 1 if quick else 3),
        "machine": machine_description(),
    }


def _live_table(results: dict[str, Any]) -> list[str]:
    n_subset, cv, speed = results["subset_images"], results["cross_validation"], results["speed"]
    subset = {row["metric"]: row for row in results["subset"]}
    folds = {row["metric"]: row for row in cv["rows"]}
    cpu, megapixels = speed["cpu_seconds"], speed["megapixels"]
    lines = [
        f"### LIVE Challenge: held-out {n_subset} photos, {cv['folds']}-fold CV on the "
        f"{cv['images']} training photos, speed",
        "",
        f"- **Held out**: SRCC / PLCC with the mean opinion scores of "
        f"`iqa/LIVE_Challenge_subset` ({n_subset} photos, never used for training or for a "
        "choice); PLCC is plain Pearson, no logistic fit; lower-is-better metrics are negated, "
        "so positive means agreement. The interval is the 95% Fisher-z interval of SRCC. For "
        "orientation: published NIQE on the full 1162-photo LIVE Challenge has SRCC about 0.45.",
        f"- **{cv['folds']}-fold CV** on `iqa/LIVE_Challenge_train` ({cv['images']} photos), "
        f"the seeded folds (seed {cv['seed']}) the training command chooses its head with. "
        f"`quality` (learned): its head (`{cv['head']}`, from `mos.json`) is refitted on four "
        "folds of cached backbone features and predicts the fifth; SRCC / PLCC are over the "
        "pooled out-of-fold predictions (`restora.training.quality.cross_validate`). The "
        "parameter-free metrics are only scored (nothing is fitted to these photos: NIQE's "
        "pristine model comes from clean photos, BRISQUE's SVR from the synthetic LIVE IQA "
        "database), so their pooled SRCC / PLCC is over all the photos. *Fold SRCC* is, for "
        "every row, the mean ± standard deviation (ddof 1) of SRCC over the folds' held-out parts.",
        f"- **s / MP**: CPU seconds per megapixel on `{speed['photo']}` "
        f"({speed['width']}x{speed['height']}), one thread, as in the speed table below.",
        "",
        "| metric | held-out SRCC | 95% interval | held-out PLCC | CV SRCC | CV PLCC "
        "| fold SRCC mean ± std | s / MP | relative to ssim |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in [*LIVE_METRICS, NIQE_OFFICIAL]:
        if name not in subset:
            continue
        row = subset[name]
        low, high = _fisher_interval(row["srcc"], n_subset)
        cells = [f"{row['srcc']:.3f}", f"[{low:.2f}, {high:.2f}]", f"{row['plcc']:.3f}"]
        if name in folds:
            fold = folds[name]
            cells += [
                f"{fold['srcc']:.3f}",
                f"{fold['plcc']:.3f}",
                f"{fold['fold_srcc_mean']:.3f} ± {fold['fold_srcc_std']:.3f}",
            ]
        else:
            cells += ["-", "-", "-"]
        if name in cpu:
            cells += [f"{cpu[name] / megapixels:.3f}", f"{cpu[name] / cpu['ssim']:.2f}x"]
        else:
            cells += ["-", "-"]
        label = "quality (learned)" if name == LEARNED else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if LEARNED in cpu:
        lines += [
            "",
            f"`quality` scores the {speed['megapixels']:.2f} MP photo in {cpu[LEARNED]:.3f} s "
            f"of CPU time on one thread ({speed['seconds'][LEARNED]:.3f} s wall clock in this "
            "run; target: < 0.5 s per 1 MP photo on one core). The photo is judged downscaled "
            "to at most 512 x 512, so the time barely grows with its size.",
        ]
    return lines


def render(results: dict[str, Any], command: str = "restora bench --task quality") -> str:
    """The ``quality`` section of BENCHMARKS.md from :func:`measure`'s results."""
    speed = results["speed"]
    seconds, cpu, megapixels = speed["seconds"], speed["cpu_seconds"], speed["megapixels"]
    anchor = cpu["ssim"]
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
    lines += ["", *_live_table(results)]
    threads = "torch and BLAS" if speed["blas_one_thread"] else "torch (BLAS not limited)"
    lines += [
        "",
        f"### Speed (one {speed['width']}x{speed['height']} photo or pair; {machine})",
        "",
        f"`{speed['photo']}` and, for full-reference metrics, a copy with Gaussian noise "
        f"(sigma 0.05) as the distorted image; one thread ({threads}), one warm-up call, best "
        f"of {speed['repeats']}, in wall-clock and in this process's CPU time. The machine "
        "may be busy with other work, which stretches wall-clock time but hardly CPU time: "
        "s / MP and the ratio to SSIM (measured in the same run) use CPU time.",
        "",
        "| metric | ms (wall) | ms (CPU) | s / MP | relative to ssim |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {seconds[name] * 1000:.1f} | {s * 1000:.1f} | {s / megapixels:.3f} "
        f"| {s / anchor:.2f}x |"
        for name, s in cpu.items()
    ]
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
