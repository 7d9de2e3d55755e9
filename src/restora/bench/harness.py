"""The benchmark harness: every applicable expert and the published anchors, side by side.

For each task, each paired data set (``restora.bench.datasets``) is run through every expert for
the task (blind: experts estimate what they need, as they would on a user's photo) and every
anchor that applies (``restora.bench.anchors``: published networks and CBM3D, given the true
noise level where the published method was). Scores use the restoration-paper convention of
``restora.quality`` (BasicSR: 8-bit rounding; Y channel and a border crop of ``scale`` for
super-resolution and deraining, RGB otherwise; grey sets are scored grey). Speed is seconds per
output megapixel and is quoted as a ratio to a reference method run in the same process, so
tables from different machines compare; peak memory is the rise of the process's resident set
during the call (sampled every 2 ms from /proc, which sees numpy, torch and OpenCV alike).

    restora bench --quick                 # a few images per set, a few minutes on 2 cores
    restora bench --task denoise --out out/bench
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TASK_DATASETS: dict[str, tuple[str, ...]] = {
    "denoise": (
        "cbsd68_sigma15",
        "cbsd68_sigma25",
        "cbsd68_sigma50",
        "bsd68_sigma15",
        "bsd68_sigma25",
        "bsd68_sigma50",
    ),
    "upscale": ("set5_x2", "set5_x4", "set14_x2", "set14_x4", "b100_x2", "b100_x4", "urban100_x4"),
    "dejpeg": ("live1_q10", "live1_q20", "live1_q30", "live1_q40"),
    "derain": ("rain100l", "rain100h"),
    "dehaze": ("sots_outdoor",),
    "deblur": ("cbsd68_blur", "cbsd68_motion", "gopro_real"),
    "brighten": ("cbsd68_lowlight",),
    "dereflect": ("cbsd68_reflection",),
}
"""Paired sets per task. brighten and dereflect have no paired public set in the data folder:
theirs are CBSD68 degraded by the engine (``restora.bench.datasets.SYNTHETIC_SETS``); deblur
has those and two real GoPro camera-shake pairs (``gopro_real``)."""

QUICK_DATASETS: dict[str, tuple[str, ...]] = {
    "denoise": ("cbsd68_sigma25", "bsd68_sigma25"),
    "upscale": ("set5_x4",),
    "dejpeg": ("live1_q10",),
    "derain": ("rain100l",),
    "dehaze": ("sots_outdoor",),
    "deblur": ("cbsd68_blur", "cbsd68_motion"),
    "brighten": ("cbsd68_lowlight",),
    "dereflect": ("cbsd68_reflection",),
}
QUICK_IMAGES = 2
SLOW_METHODS = {"cbm3d": 1, "cbm3d_known_sigma": 1, "bm3d_deblock": 2}
"""Images per set for the slow methods (CBM3D ~30 s per 0.15 MP colour image on 2 cores):
this cap applies in quick mode; the full run caps them at FULL_SLOW_IMAGES."""
FULL_SLOW_IMAGES = 10

REFERENCE_FOR_TASK = {
    "denoise": ("cdncnn_b", "dncnn_kair_25", "dncnn_s25"),
    "upscale": ("bicubic",),
    "dejpeg": ("bm3d_deblock",),
    "derain": ("prenet",),
    "dehaze": ("dark_channel",),
    "deblur": ("wiener",),
    "brighten": ("lime",),
    "dereflect": ("laplacian_dereflect",),
}
"""Speed reference per task: the first of these run on the set."""


@dataclass
class Row:
    """One method on one data set: means over the images it ran on."""

    dataset: str
    method: str
    kind: str
    images: int = 0
    psnr: float = math.nan
    ssim: float = math.nan
    seconds_per_mp: float = math.nan
    peak_mb: float = math.nan
    published: float | None = None
    speed_ratio: float | None = None
    note: str = ""
    per_image: dict[str, float] = field(default_factory=dict)


class PeakRSS:
    """Peak rise of the resident set size during a ``with`` block (Linux /proc sampling)."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm", encoding="ascii") as f:
                return int(f.read().split()[1]) * self.page
        except OSError:
            return 0

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.start = self._rss()
        self.peak = self.start
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def rise_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def convention(task: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Crop and channel of the published figures for this task."""
    if task == "upscale":
        return {"crop_border": int(meta.get("scale", 4)), "y_channel": True}
    if task == "derain":
        return {"crop_border": 0, "y_channel": True}
    return {"crop_border": 0, "y_channel": False}


def _methods(task: str, dataset: str) -> list[tuple[str, str]]:
    from restora.bench.anchors import anchors_for
    from restora.experts import experts_for_task

    methods = [(e.name, "expert") for e in experts_for_task(task)]
    methods += [(a.name, "anchor") for a in anchors_for(dataset)]
    return methods


def _runner(name: str, kind: str, data_dir: Path) -> Callable[[np.ndarray, dict], np.ndarray]:
    if kind == "anchor":
        from restora.bench.anchors import run_anchor

        return lambda image, meta: run_anchor(name, image, meta, data_dir)
    from restora.experts import get_expert

    expert = get_expert(name)

    def run(image: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
        params: dict[str, Any] = {}
        if "scale" in expert.params and "scale" in meta:
            params["scale"] = int(meta["scale"])
        # experts take [0, 1] images; the unclipped benchmark noise is clipped for them only
        return expert(np.clip(image, 0.0, 1.0), **params)

    return run


def benchmark_dataset(
    task: str,
    dataset_name: str,
    data_dir: Path,
    max_images: int | None,
    slow_cap: int | None,
    methods: Iterable[str] | None = None,
) -> list[Row]:
    """Every method on one data set (at most ``max_images`` images)."""
    from restora.bench.anchors import ANCHORS
    from restora.bench.datasets import get_dataset
    from restora.quality import psnr, ssim

    dataset = get_dataset(dataset_name, data_dir)
    count = len(dataset) if max_images is None else min(max_images, len(dataset))
    pairs = [dataset[i] for i in range(count)]
    rows: list[Row] = []
    wanted = set(methods) if methods else None
    for name, kind in _methods(task, dataset_name):
        if wanted is not None and name not in wanted:
            continue
        cap = SLOW_METHODS.get(name)
        # slow methods: their own cap in quick mode (slow_cap 1), else the full-run cap
        if cap is None or slow_cap is None:
            n = count
        else:
            n = min(count, cap if slow_cap <= 1 else slow_cap)
        row = Row(dataset_name, name, kind)
        if kind == "anchor":
            row.published = ANCHORS[name].published.get(dataset_name)
        try:
            run = _runner(name, kind, data_dir)
        except Exception as exc:  # a missing optional library or weights file: say so
            row.note = f"not run: {exc}"
            rows.append(row)
            continue
        psnrs, ssims, seconds, megapixels, peaks = [], [], 0.0, 0.0, []
        for pair in pairs[:n]:
            with PeakRSS() as memory:
                start = time.perf_counter()
                output = run(pair.input, pair.meta)
                seconds += time.perf_counter() - start
            peaks.append(memory.rise_mb)
            megapixels += output.shape[0] * output.shape[1] / 1e6
            rule = convention(task, pair.meta)
            value = psnr(output, pair.target, **rule)
            psnrs.append(value)
            ssims.append(ssim(output, pair.target, **rule))
            row.per_image[pair.name] = round(value, 4)
        row.images = n
        row.psnr = float(np.mean(psnrs))
        row.ssim = float(np.mean(ssims))
        row.seconds_per_mp = seconds / max(megapixels, 1e-9)
        row.peak_mb = float(max(peaks))
        if n < count:
            row.note = f"first {n} of {count} images (slow)"
        log.info("%s %s: %.2f dB (%d images)", dataset_name, name, row.psnr, n)
        rows.append(row)
    # the degraded input itself, for scale
    input_row = Row(dataset_name, "(input)", "input", images=count)
    if task != "upscale":
        rule = convention(task, pairs[0].meta)
        input_row.ssim = float(
            np.mean([ssim(np.clip(p.input, 0, 1), p.target, **rule) for p in pairs])
        )
        input_row.per_image = _input_psnrs(task, pairs)
        input_row.psnr = float(np.mean(list(input_row.per_image.values())))
        rows.insert(0, input_row)
    _speed_ratios(task, rows)
    return rows


def _input_psnrs(task: str, pairs: list[Any]) -> dict[str, float]:
    """PSNR of each degraded input (clipped, as the experts get it) against its target."""
    from restora.quality import psnr

    return {
        p.name: round(psnr(np.clip(p.input, 0, 1), p.target, **convention(task, p.meta)), 4)
        for p in pairs
    }


def backfill_input_rows(report: dict[str, Any], data_dir: Path | str | None = None) -> None:
    """Give the input rows of a report written before they kept per-image PSNRs their values
    (recomputed from the data set: no expert runs), so :func:`to_markdown` can compare every
    method on the images the capped slow methods ran on."""
    from restora.bench.datasets import get_dataset
    from restora.paths import data_dir as find_data

    task_of = {name: task for task, names in TASK_DATASETS.items() for name in names}
    root = find_data(data_dir)
    for row in report["rows"]:
        if row["kind"] != "input" or row.get("per_image") or row["dataset"] not in task_of:
            continue
        dataset = get_dataset(row["dataset"], root)
        count = min(int(row["images"]), len(dataset))
        row["per_image"] = _input_psnrs(task_of[row["dataset"]], [dataset[i] for i in range(count)])


def _speed_ratios(task: str, rows: list[Row]) -> None:
    timed = {r.method: r for r in rows if r.images and math.isfinite(r.seconds_per_mp)}
    reference = next((timed[n] for n in REFERENCE_FOR_TASK.get(task, ()) if n in timed), None)
    if reference is None:  # the usual reference was not run: the first anchor, else expert
        ordered = sorted(timed.values(), key=lambda r: r.kind != "anchor")
        if not ordered:
            return
        reference = ordered[0]
    for row in timed.values():
        row.speed_ratio = reference.seconds_per_mp / max(row.seconds_per_mp, 1e-12)
        row.note = (row.note + "; " if row.note else "") + (
            "speed reference" if row is reference else ""
        )
        row.note = row.note.strip("; ")


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            match = re.search(r"model name\s*:\s*(.+)", f.read())
            if match:
                cpu = match.group(1).strip()
    except OSError:
        pass
    import torch

    threads = torch.get_num_threads()
    return f"{os.cpu_count()}-core CPU ({cpu}), torch {torch.__version__} with {threads} threads"


def run_benchmark(
    tasks: Iterable[str] | None = None,
    data_dir: str | Path | None = None,
    quick: bool = False,
    max_images: int | None = None,
    methods: Iterable[str] | None = None,
    datasets: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Run the harness; returns the JSON-able report (machine, settings, rows). ``datasets``
    keeps only those sets of the chosen tasks."""
    from restora.errors import UnknownNameError
    from restora.paths import data_dir as find_data

    root = find_data(data_dir)
    chosen = list(tasks) if tasks else list(TASK_DATASETS)
    for task in chosen:
        if task not in TASK_DATASETS:
            raise UnknownNameError("benchmark task", task, list(TASK_DATASETS))
    table = QUICK_DATASETS if quick else TASK_DATASETS
    limit = max_images if max_images is not None else (QUICK_IMAGES if quick else None)
    slow_cap = 1 if quick else FULL_SLOW_IMAGES
    started = time.perf_counter()
    rows: list[Row] = []
    only = set(datasets) if datasets else None
    if only is not None:
        known = {n for t in chosen for n in table[t]}
        if not only <= known:
            raise UnknownNameError(
                "data set of these tasks", sorted(only - known)[0], sorted(known)
            )
    for task in chosen:
        for name in table[task]:
            if only is not None and name not in only:
                continue
            rows.extend(benchmark_dataset(task, name, root, limit, slow_cap, methods))
    return {
        "machine": machine_description(),
        "quick": quick,
        "max_images": limit,
        "seconds": round(time.perf_counter() - started, 1),
        "tasks": chosen,
        "rows": [_row_dict(r) for r in rows],
    }


def _row_dict(row: Row) -> dict[str, Any]:
    out = asdict(row)
    for key in ("psnr", "ssim", "seconds_per_mp", "peak_mb"):
        out[key] = None if not math.isfinite(out[key]) else round(out[key], 4)
    if out["speed_ratio"] is not None:
        out["speed_ratio"] = round(out["speed_ratio"], 4)
    return out


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def to_markdown(report: dict[str, Any]) -> str:
    """The report as one Markdown table per data set."""
    lines = [
        f"Machine: {report['machine']}. Mode: {'quick' if report['quick'] else 'full'}; "
        f"run took {report['seconds']} s. PSNR/SSIM: BasicSR convention (RGB; Y channel and "
        "a border of the scale for SR and rain; grey sets grey). Experts are blind; anchors "
        "get the true sigma where the published method does. Speed: seconds per output "
        "megapixel, and as a multiple of the speed reference's speed in the same run (>1 "
        "is faster). Peak: rise of resident memory during one call.",
        "",
    ]
    by_set: dict[str, list[dict[str, Any]]] = {}
    for row in report["rows"]:
        by_set.setdefault(row["dataset"], []).append(row)
    for dataset, rows in by_set.items():
        counts = [r["images"] for r in rows if r["images"]]
        # slow methods ran on the first `subset` images only: compare everyone there too
        subset = min(counts) if counts and min(counts) < max(counts) else None
        extra = f" PSNR on first {subset} |" if subset else ""
        lines += [
            f"**{dataset}**",
            "",
            "| method | kind | images | PSNR | SSIM | published | s/MP | speed vs ref | peak MB "
            f"|{extra} note |",
            "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if subset else ""),
        ]
        for r in rows:
            ratio = "" if r["speed_ratio"] is None else f"{r['speed_ratio']:.3g}x"
            cell = ""
            if subset:
                values = list((r.get("per_image") or {}).values())[:subset]
                cell = f" {_fmt(float(np.mean(values)), 2) if len(values) == subset else ''} |"
            lines.append(
                f"| {r['method']} | {r['kind']} | {r['images']} | {_fmt(r['psnr'], 2)} "
                f"| {_fmt(r['ssim'], 4)} | {_fmt(r['published'], 2)} "
                f"| {_fmt(r['seconds_per_mp'], 3)} | {ratio} | {_fmt(r['peak_mb'], 0)} "
                f"|{cell} {r['note']} |"
            )
        lines.append("")
    return "\n".join(lines)


EXPERTS_INTRO = (
    "Each block below names the command that wrote it; every method in a block ran in the same "
    "process on the same images, so speed ratios compare like with like. The full run is one "
    "`restora bench --task T` per task. Slow methods (CBM3D, `bm3d_deblock`) run on the first "
    f"{FULL_SLOW_IMAGES} images of each set (1 with `--quick`); where they did, the column "
    "*PSNR on first N* scores every method, and the input, on those same images."
)


def update_benchmarks_file(markdown: str, path: Path, command: str) -> bool:
    """Put this run's tables into the ``experts`` section of BENCHMARKS.md, under a heading
    naming the command; blocks written by other commands stay. False without the markers."""
    from restora.bench.report import read_section, write_section

    section = read_section("experts", path)
    if section is None:
        return False
    heading = f"### `{command}`"
    blocks = [b for b in re.split(r"(?m)^(?=### `)", section) if b.startswith("### `")]
    blocks = [b for b in blocks if not b.startswith(heading + "\n")]
    blocks.append(f"{heading}\n\n{markdown.strip()}\n\n")
    title = "## Restoration experts and anchors\n\n" + EXPERTS_INTRO + "\n\n"
    write_section("experts", title + "".join(blocks), path)
    return True


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    from restora.io import write_bytes_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "bench_experts.json", out_dir / "bench_experts.md"
    write_bytes_atomic(json_path, json.dumps(report, indent=2).encode(), overwrite=True)
    write_bytes_atomic(md_path, to_markdown(report).encode(), overwrite=True)
    return json_path, md_path


def measure_tiled_memory(
    megapixels: float = 24.0, tile: int = 512, depth: int = 17
) -> dict[str, float]:
    """Peak memory of a ``megapixels`` image through a DnCNN-sized torch expert, tiled.

    The expert is a ``depth``-layer, 64-channel conv net (random weights: the cost is the size,
    not the values). In inference mode activations are freed layer by layer, so the peak does
    not depend on the depth (only the time does): a shallow net measures the same bound faster.
    Returns the input/output sizes and the peak resident-memory rise in MB.
    """
    import torch

    from restora.experts.learned import torch_expert

    def build() -> torch.nn.Module:
        from restora.bench.anchor_archs import PlainDnCNN

        return PlainDnCNN(depth=depth, in_channels=3)

    expert = torch_expert("memory_probe", "denoise", build, tile_size=tile, tile_overlap=32)
    side = int(math.sqrt(megapixels * 1e6 / 1.5))
    image = np.random.default_rng(0).random((side, int(side * 1.5), 3), dtype=np.float32)
    with PeakRSS(interval=0.01) as memory:
        start = time.perf_counter()
        expert(image)
        seconds = time.perf_counter() - start
    return {
        "megapixels": image.shape[0] * image.shape[1] / 1e6,
        "image_mb": image.nbytes / 2**20,
        "peak_rise_mb": memory.rise_mb,
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="restora expert benchmark helpers")
    parser.add_argument("--tiling-memory", type=float, default=24.0, help="megapixels")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--depth", type=int, default=17, help="conv layers (64 channels)")
    parser.add_argument(
        "--rerender",
        type=Path,
        default=None,
        metavar="JSON",
        help="render a bench_experts.json again as Markdown (next to it), after backfilling "
        "the per-image input PSNRs of older reports; no expert runs",
    )
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument(
        "--update-benchmarks",
        type=Path,
        default=None,
        help="with --rerender: replace the block of --command in this BENCHMARKS.md",
    )
    parser.add_argument("--command", default=None, help="the command that wrote the report")
    args = parser.parse_args(argv)
    if args.rerender is not None:
        report = json.loads(args.rerender.read_text())
        backfill_input_rows(report, args.data)
        args.rerender.write_text(json.dumps(report, indent=2))
        markdown = to_markdown(report)
        args.rerender.with_suffix(".md").write_text(markdown)
        command = args.command or report.get("command")
        if args.update_benchmarks is not None:
            if not command:
                parser.error("--update-benchmarks needs --command (older reports lack it)")
            if not update_benchmarks_file(markdown, args.update_benchmarks, command):
                parser.error(f"{args.update_benchmarks} has no experts section markers")
        print(markdown)
        return 0
    result = measure_tiled_memory(args.tiling_memory, args.tile, args.depth)
    print(json.dumps({**result, "tile": args.tile, "depth": args.depth}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
