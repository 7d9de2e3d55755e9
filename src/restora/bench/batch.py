"""Throughput of ``restora batch``: local (1 and N workers) against Ray Data on the same folder.

    restora bench --task batch [--quick]      # 200 and 24 images (quick: 20 and 4, no write)
    python -m restora.bench.batch --images 200 --agent-images 24 --write

makes a folder of small noisy crops of scikit-image's astronaut (the same maker the tests use),
runs each pipeline (``--task denoise``, and the agent with no instruction) through every engine,
checks that every engine wrote byte-identical outputs and the same summary rows, and prints a
Markdown table (``restora bench --task batch``, or ``--write`` here: into the ``batch`` section
of BENCHMARKS.md, through :func:`restora.bench.run_named`). Speed is quoted as a
ratio to the local one-process run measured in the same invocation, so tables from different
machines compare. Ray's start-up (``ray.init`` of a local instance) is timed on its own: on a
cluster it is paid once, not per run; actor start and model loading are in the run's time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from restora.batch.job import BatchConfig
from restora.batch.run import run_batch
from restora.bench import BenchmarkOutcome, command_line, default_command, run_named


def noisy_tiles(source: np.ndarray, count: int, side: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` different noisy ``side`` px crops of a photo (float in [0, 1]), as uint8."""
    rng = np.random.default_rng(seed)
    tiles = []
    for k in range(count):
        y, x = (k * 37) % (source.shape[0] - side), (k * 53) % (source.shape[1] - side)
        crop = source[y : y + side, x : x + side]
        noisy = np.clip(crop + rng.normal(0.0, 0.06, crop.shape), 0.0, 1.0)
        tiles.append((noisy * 255.0 + 0.5).astype(np.uint8))
    return tiles


def make_folder(root: Path, source: np.ndarray, count: int, side: int = 48) -> list[str]:
    """Write ``count`` tiles as PNG under ``root`` (every other one in a subfolder)."""
    from PIL import Image as PILImage

    names = []
    for k, tile in enumerate(noisy_tiles(source, count, side)):
        name = f"set{k % 3}/img{k:03d}.png" if k % 2 else f"img{k:03d}.png"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        PILImage.fromarray(tile).save(root / name)
        names.append(name)
    return names


def _digests(folder: Path, names: list[str]) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def _rows(folder: Path) -> list[dict[str, Any]]:
    rows = json.loads((folder / "batch_summary.json").read_text())["files"]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def run(
    images: int, agent_images: int, workers: int, work: Path, log: Any = print
) -> dict[str, Any]:
    """Time every (pipeline, engine) pair; returns the JSON-able results."""
    import ray
    from skimage import data

    photo = np.asarray(data.astronaut(), dtype=np.float32) / 255.0
    start = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - start
    pipelines = [
        ("task denoise", BatchConfig(tasks=("denoise",), threads=1), images),
        ("agent", BatchConfig(threads=1), agent_images),
    ]
    engines = [("local", 1), ("local", workers), ("ray", workers)]
    results: list[dict[str, Any]] = []
    try:
        for label, config, count in pipelines:
            if count <= 0:
                continue
            src = work / f"in_{label.replace(' ', '_')}"
            names = make_folder(src, photo, count)
            reference: tuple[dict[str, str], list[dict[str, Any]]] | None = None
            base_seconds = None
            for engine, n in engines:
                out = work / f"out_{label.replace(' ', '_')}_{engine}_{n}"
                begin = time.perf_counter()
                report = run_batch(src, out, config, engine=engine, workers=n, progress=False)
                seconds = time.perf_counter() - begin
                outputs = (_digests(out, names), _rows(out))
                reference = reference or outputs
                base_seconds = base_seconds or seconds
                results.append(
                    {
                        "pipeline": label,
                        "engine": engine,
                        "workers": n,
                        "images": count,
                        "done": report.done,
                        "seconds": round(seconds, 2),
                        "images_per_s": round(count / seconds, 3),
                        "speed_vs_local_1": round(base_seconds / seconds, 3),
                        "identical_to_local_1": outputs == reference,
                    }
                )
                log(json.dumps(results[-1]))
    finally:
        ray.shutdown()
    return {"ray_init_seconds": round(ray_start, 2), "workers": workers, "rows": results}


def to_markdown(results: dict[str, Any], command: str, machine: str) -> str:
    lines = [
        "## Batch throughput (`restora batch`)",
        "",
        f"Measured by `{command}` on {machine}, while other jobs shared the machine. Images: "
        "48x48 noisy crops of scikit-image's astronaut; one torch thread per worker (`--threads "
        "1`); wall-clock time of `run_batch`, including worker/actor start and model "
        "loading; speed as a multiple of the local "
        "one-process run in the same invocation (>1 is faster). `identical`: every output PNG "
        "byte-identical and every summary row equal to the local one-process run. Starting "
        f"the local Ray instance took {results['ray_init_seconds']} s (not in the times: a "
        "cluster is started once).",
        "",
        "| pipeline | engine | workers | images | s | images/s | speed vs local 1 | identical |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        lines.append(
            f"| {r['pipeline']} | {r['engine']} | {r['workers']} | {r['images']} | "
            f"{r['seconds']:.1f} | {r['images_per_s']:.2f} | {r['speed_vs_local_1']:.2f}x | "
            f"{'yes' if r['identical_to_local_1'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


def benchmark(
    data_dir: Path | None,
    quick: bool,
    images: int | None = None,
    agent_images: int | None = None,
    workers: int = 2,
    command: str | None = None,
) -> BenchmarkOutcome:
    """The registered ``batch`` benchmark (``restora bench --task batch [--quick]``): the images
    are made here, so ``data_dir`` is not read; quick runs 20 and 4 images."""
    from restora.bench.report import machine_description

    del data_dir
    images = images if images is not None else (20 if quick else 200)
    agent_images = agent_images if agent_images is not None else (4 if quick else 24)
    with tempfile.TemporaryDirectory(prefix="restora-batch-bench-") as tmp:
        results = run(
            images, agent_images, workers, Path(tmp), log=lambda line: print(line, file=sys.stderr)
        )
    text = to_markdown(results, command or default_command("batch", quick), machine_description())
    return BenchmarkOutcome("batch", text, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200, help="images for --task denoise")
    parser.add_argument("--agent-images", type=int, default=24, help="images for the agent")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument(
        "--make-folder", type=Path, default=None, help="only write --images images here"
    )
    args = parser.parse_args(argv)
    if args.make_folder is not None:
        from skimage import data

        photo = np.asarray(data.astronaut(), dtype=np.float32) / 255.0
        make_folder(args.make_folder, photo, args.images)
        return 0
    outcome = run_named(
        "batch",
        None,
        False,
        write=args.write,
        images=args.images,
        agent_images=args.agent_images,
        workers=args.workers,
        command=command_line("restora.bench.batch", argv),
    )
    print(outcome.markdown)
    return 0 if all(r["identical_to_local_1"] for r in outcome.results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
