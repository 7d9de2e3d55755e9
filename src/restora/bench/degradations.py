"""Speed of the degradation engine and the training data pipeline, and the fidelity of the
MATLAB-compatible bicubic resize against Set5's shipped low-resolution files.

    restora bench --task degradations [--quick]     # rewrites the ``degradations`` section
    python -m restora.bench.degradations [--write]  # --write: the same section

The section is written through :func:`restora.bench.run_named` (never with ``--quick``: 3
batches).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from restora.bench import BenchmarkOutcome, command_line, default_command, run_named
from restora.training.data import (
    DegradationDataset,
    cached_image,
    list_training_images,
    random_crop,
    to_chw_tensor,
)


def _time_per_call(func: Any, repeats: int) -> float:
    func()  # warm-up: imports, caches, first-call allocations
    start = time.perf_counter()
    for _ in range(repeats):
        func()
    return (time.perf_counter() - start) / repeats


def machine_name() -> str:
    return (
        f"{os.cpu_count()}-core CPU ({platform.machine()}, this sandbox), torch {torch.__version__}"
    )


def run_benchmark(
    data_dir: str | None = None, batches: int = 15, workers: int = 2
) -> dict[str, Any]:
    """Time degradations per 128 px crop and batches of 16 mixed-degraded crops."""
    import cv2

    from restora.degradations import apply, list_types, synthesize

    # One intra-op thread, as PyTorch gives each DataLoader worker: with several threads a
    # torch.stack of 16 crops spins for ~200 ms on a busy 2-core machine instead of ~4 ms.
    torch.set_num_threads(1)
    files = list_training_images(data_dir)
    rng = np.random.default_rng(0)
    crop = random_crop(cached_image(files[0]), 128, rng)
    anchor = _time_per_call(lambda: cv2.GaussianBlur(crop, (5, 5), 1.0), 500)
    per_type: dict[str, float] = {}
    for name in list_types():
        per_type[name] = _time_per_call(
            lambda n=name: apply(n, crop, float(rng.random()), rng), 100
        )
    per_type["mixed (hard)"] = _time_per_call(
        lambda: synthesize(crop, rng=rng, resize_back=True), 100
    )
    started = time.perf_counter()
    dataset = DegradationDataset(files, crop_size=128, stage="hard", length=16 * (batches + 2))
    preload_s = time.perf_counter() - started

    def clean_batch() -> None:
        torch.stack(
            [to_chw_tensor(random_crop(cached_image(files[i]), 128, rng)) for i in range(16)]
        )

    crop_anchor = _time_per_call(clean_batch, 20)
    counter = iter(range(10**9))

    def one_batch() -> None:
        base = 16 * (next(counter) % batches)
        torch.utils.data.default_collate([dataset[base + i] for i in range(16)])

    serial = _time_per_call(one_batch, batches)
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=True, num_workers=workers)
    iterator = iter(loader)
    next(iterator)  # workers started and warm
    next(iterator)
    start = time.perf_counter()
    count = 0
    for _ in iterator:
        count += 1
    parallel = (time.perf_counter() - start) / max(count, 1)
    return {
        "machine": machine_name(),
        "anchor_blur_ms": anchor * 1e3,
        "per_type_ms": {k: v * 1e3 for k, v in per_type.items()},
        "images": len(files),
        "preload_s": preload_s,
        "clean_batch_ms": crop_anchor * 1e3,
        "serial_batch_ms": serial * 1e3,
        "loader_batch_ms": parallel * 1e3,
        "workers": workers,
        "loader_batches": count,
    }


def set5_bicubic_fidelity(data_dir: str | None = None) -> list[tuple[int, float, float]]:
    """(scale, min PSNR, share of identical pixels) of our imresize vs Set5's shipped LR."""
    from restora.bench.datasets import modcrop, read_uint8
    from restora.degradations.resize import imresize
    from restora.paths import data_dir as find
    from restora.quality.full_reference import psnr_float as psnr

    folder = find(data_dir) / "test" / "Set5"
    rows = []
    for scale in (2, 3, 4):
        psnrs, same = [], []
        for hr_path in sorted((folder / "HR").glob("*.png")):
            hr = modcrop(read_uint8(hr_path, "RGB"), scale)
            lr = read_uint8(
                folder / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png", "RGB"
            )
            mine = imresize(hr, 1.0 / scale)
            psnrs.append(psnr(mine / 255.0, lr / 255.0))
            same.append(float((mine == lr).mean()))
        rows.append((scale, min(psnrs), min(same)))
    return rows


def benchmark_markdown(
    result: dict[str, Any],
    fidelity: list[tuple[int, float, float]],
    command: str = "restora bench --task degradations",
) -> str:
    anchor = result["anchor_blur_ms"]
    lines = [
        "### Degradation engine and training data",
        "",
        f"Measured by `{command}` on a "
        f"{result['machine']} shared with other jobs (torch intra-op threads = 1, as in "
        "DataLoader workers). Anchor: `cv2.GaussianBlur` 5x5 on the same 128x128 crop, "
        f"{anchor:.3f} ms in this run.",
        "",
        "| degradation (128x128 RGB crop, random severity) | ms per crop | x anchor |",
        "|---|---:|---:|",
    ]
    for name, ms in result["per_type_ms"].items():
        lines.append(f"| {name} | {ms:.2f} | {ms / anchor:.1f} |")
    clean = result["clean_batch_ms"]
    lines += [
        "",
        f"Training batches: 16 random 128 px crops of mixed degradations (stage hard) from "
        f"{result['images']} CBSD432 + Train400 images, decoded once into memory "
        f"({result['preload_s']:.1f} s). Anchor: a batch of 16 clean crops (crop, flip, tensor) "
        f"= {clean:.2f} ms.",
        "",
        "| pipeline | ms per batch of 16 | x clean-crop anchor |",
        "|---|---:|---:|",
        f"| `DegradationDataset` in the main process | {result['serial_batch_ms']:.1f} | "
        f"{result['serial_batch_ms'] / clean:.0f} |",
        f"| `DataLoader`, {result['workers']} workers ({result['loader_batches']} batches) | "
        f"{result['loader_batch_ms']:.1f} | {result['loader_batch_ms'] / clean:.0f} |",
        "",
        "MATLAB-compatible bicubic (`restora.degradations.imresize`) against Set5's shipped "
        "`LR_bicubic` files (MATLAB `imresize`):",
        "",
        "| scale | lowest PSNR over the 5 images (dB) | identical pixels (lowest) |",
        "|---:|---:|---:|",
    ]
    for scale, low, same in fidelity:
        value = "inf" if low == float("inf") else f"{low:.1f}"
        lines.append(f"| x{scale} | {value} | {100 * same:.2f} % |")
    return "\n".join(lines) + "\n"


def benchmark(
    data_dir: Path | None,
    quick: bool,
    batches: int | None = None,
    workers: int = 2,
    command: str | None = None,
) -> BenchmarkOutcome:
    """The registered ``degradations`` benchmark (``restora bench --task degradations``);
    quick times 3 batches instead of 15."""
    data = None if data_dir is None else str(data_dir)
    result = run_benchmark(data, batches or (3 if quick else 15), workers)
    fidelity = set5_bicubic_fidelity(data)
    text = benchmark_markdown(result, fidelity, command or default_command("degradations", quick))
    results = {**result, "set5_bicubic": [list(row) for row in fidelity]}
    return BenchmarkOutcome("degradations", text, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data folder (default ../shared/data)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    outcome = run_named(
        "degradations",
        None if args.data is None else Path(args.data),
        False,
        write=args.write,
        batches=args.batches,
        workers=args.workers,
        command=command_line("restora.bench.degradations", argv),
    )
    print(outcome.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
