"""The published super-resolution networks side by side with restora's own upscalers.

    python -m restora.bench.published [--quick] [--method NAME]... [--set NAME]... [--write]
    restora bench --task published [--quick]

Each method upscales the shipped x4 inputs of Set5 and Set14 (``restora.bench.datasets``) and
is scored by the super-resolution convention (BasicSR PSNR and SSIM on the BT.601 Y channel,
a 4-pixel border cropped) and by NIQE on the output (no reference, lower is more natural), with
seconds per input megapixel. PSNR rewards the conditional mean, so the GAN restorers
(Real-ESRGAN, RealSR) score below bicubic-trained networks while looking sharper; NIQE is the
column that shows what they are for. Methods whose wheel (or weights) are not installed are
skipped and named. ``--quick`` runs the first two images of Set5.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from restora.bench import BenchmarkOutcome, command_line, default_command, run_named

METHODS: tuple[str, ...] = (
    "bicubic",
    "ibp",
    "nafnet_upscale",
    "span",
    "srmd",
    "realesrgan_x4plus",
    "realsr_df2k",
    "realesr_animevideov3",
    "waifu2x_photo",
)
SETS: tuple[str, ...] = ("set5_x4", "set14_x4")
SCALE = 4


def run_benchmark(
    data_dir: Path | None,
    methods: tuple[str, ...] = METHODS,
    sets: tuple[str, ...] = SETS,
    limit: int | None = None,
) -> dict[str, Any]:
    """``{"rows": [{method, dataset, images, psnr_y, ssim_y, niqe, seconds_per_mp}], ...}``."""
    from restora.bench.datasets import get_dataset
    from restora.bench.report import machine_description
    from restora.errors import RestoraError
    from restora.experts import get_expert, names
    from restora.quality import psnr, ssim
    from restora.quality.registry import compute

    available = set(names())
    missing = [m for m in methods if m not in available]
    experts = []
    for name in methods:
        if name in available:
            try:
                experts.append(get_expert(name))
            except RestoraError:
                missing.append(name)
    rows: list[dict[str, Any]] = []
    for set_name in sets:
        dataset = get_dataset(set_name, data_dir)
        pairs = [dataset[i] for i in range(min(limit or len(dataset), len(dataset)))]
        for expert in experts:
            expert(pairs[0].input[:32, :32], scale=SCALE)  # warm-up: weights, first allocations
            psnrs, ssims, niqes, seconds, megapixels = [], [], [], 0.0, 0.0
            per_image: dict[str, float] = {}
            for pair in pairs:
                start = time.perf_counter()
                output = expert(pair.input, scale=SCALE)
                seconds += time.perf_counter() - start
                megapixels += pair.input.shape[0] * pair.input.shape[1] / 1e6
                value = psnr(output, pair.target, crop_border=SCALE, y_channel=True)
                per_image[pair.name] = round(value, 4)
                psnrs.append(value)
                ssims.append(ssim(output, pair.target, crop_border=SCALE, y_channel=True))
                niqes.append(compute("niqe", output))
            rows.append(
                {
                    "method": expert.name,
                    "dataset": set_name,
                    "images": len(pairs),
                    "psnr_y": float(np.mean(psnrs)),
                    "ssim_y": float(np.mean(ssims)),
                    "niqe": float(np.mean(niqes)),
                    "seconds_per_mp": seconds / megapixels,
                    "licence": expert.licence,
                    "per_image": per_image,
                }
            )
    return {"machine": machine_description(), "rows": rows, "skipped": missing}


def benchmark_markdown(result: dict[str, Any], command: str) -> str:
    lines = [
        "### Published super-resolution networks (x4)",
        "",
        f"Measured by `{command}` on a {result['machine']} shared with other jobs. "
        "PSNR/SSIM on Y with a 4-pixel border (BasicSR); NIQE on the RGB output, lower is "
        "more natural; seconds per input megapixel. GAN restorers (Real-ESRGAN, RealSR) "
        "trade PSNR for detail: they are ranked behind the PSNR upscalers and run when asked.",
        "",
        "| set | method | images | PSNR-Y | SSIM-Y | NIQE | s/MP |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['dataset']} | {row['method']} | {row['images']} | {row['psnr_y']:.2f} | "
            f"{row['ssim_y']:.4f} | {row['niqe']:.2f} | {row['seconds_per_mp']:.1f} |"
        )
    if result["skipped"]:
        lines += ["", "Not installed here: " + ", ".join(f"`{m}`" for m in result["skipped"])]
    return "\n".join(lines) + "\n"


def benchmark(
    data_dir: Path | None,
    quick: bool,
    methods: tuple[str, ...] | None = None,
    sets: tuple[str, ...] | None = None,
    command: str | None = None,
) -> BenchmarkOutcome:
    """The registered ``published`` benchmark; quick runs the first two images of Set5."""
    result = run_benchmark(
        data_dir,
        tuple(methods or METHODS),
        tuple(sets or (SETS[:1] if quick else SETS)),
        limit=2 if quick else None,
    )
    text = benchmark_markdown(result, command or default_command("published", quick))
    return BenchmarkOutcome("published", text, result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data folder (default ../shared/data)")
    parser.add_argument("--method", action="append", default=None, help="only these methods")
    parser.add_argument("--set", action="append", default=None, help="only these data sets")
    parser.add_argument("--quick", action="store_true", help="two images of Set5")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    outcome = run_named(
        "published",
        None if args.data is None else Path(args.data),
        args.quick,
        write=args.write,
        methods=tuple(args.method) if args.method else None,
        sets=tuple(args.set) if args.set else None,
        command=command_line("restora.bench.published", argv),
    )
    print(outcome.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
