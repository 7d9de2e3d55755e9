"""Real photo sizes on a laptop CPU: the agent's time and memory from 0.25 to 24 megapixels.

    restora bench --task speed [--quick]          # quick: 0.25 / 1 / 4 MP, 4 mixed items
    python -m restora.bench.speed --write         # the full table into BENCHMARKS.md

Each photo is scikit-image's astronaut (public domain) resized to the size, with the damage of a
phone photo sent by a messenger (noise sigma 15, then JPEG q60). Every case runs in a fresh
process, so its peak resident memory is its own (``os.wait4``) and every model load is counted:

- ``anchor``: one pass of ``nafnet_denoise`` on the same photo (the speed is quoted as a
  multiple of it, measured in the same run);
- ``agent``: ``restora.restore`` with no instruction, deciding on a crop and running the kept
  chain once on the whole photo (the shipped path);
- ``agent, "remove the noise"``: the same with that instruction;
- ``agent, full-image decisions``: the path before decisions moved to crops
  (``AgentConfig(decision_side=0)``), on the sizes where it finishes in reasonable time.

Then, on ``mixed_cbsd68`` items (481x321), the PSNR of crop-based decisions (forced with a 224 px
decision crop) against full-image decisions: what deciding on a crop costs in quality.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from restora.bench import BenchmarkOutcome, command_line, default_command, run_named

FULL_SIZES: tuple[float, ...] = (0.25, 1.0, 4.0, 12.0, 24.0)
QUICK_SIZES: tuple[float, ...] = (0.25, 1.0, 4.0)
OLD_PATH_MAX_MP = 4.0
"""Full-image decisions are measured up to this size (beyond, one run takes many minutes)."""

CASE_SCRIPT = r"""
import json, sys, time
from dataclasses import replace
kind, path, instruction, side = sys.argv[1], sys.argv[2], sys.argv[3] or None, int(sys.argv[4])
start = time.perf_counter()
from restora.io import load
image = load(path, max_pixels=10**9)
if kind == "anchor":
    from restora.experts import get_expert
    get_expert("nafnet_denoise")(image.rgb)
    kept = ["nafnet_denoise"]
else:
    import restora
    from restora.agent import AgentConfig
    config = AgentConfig(decision_side=side)
    if kind == "warm":  # models loaded by a first photo, as in batch or the web app
        restora.restore(image.rgb[:256, :256], instruction, config=config)
        start = time.perf_counter()
    result = restora.restore(image, instruction, config=config)
    kept = [s.label for s in result.trace.kept]
    judging = sum(a.judge_seconds for s in result.trace.steps for a in s.attempts)
print(json.dumps({"seconds": time.perf_counter() - start, "kept": kept,
                  "judging": judging if kind != "anchor" else 0.0}))
"""


def make_photo(megapixels: float, folder: Path) -> Path:
    """The astronaut at ``megapixels`` (4:3) with noise sigma 15 and JPEG q60, as a PNG."""
    import cv2
    from skimage import data

    from restora.degradations import apply
    from restora.io import Image, save

    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = round(width * 3 / 4)
    base = np.asarray(data.astronaut(), np.float32) / 255.0
    big = np.clip(cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    rng = np.random.default_rng(0)
    noisy, _ = apply("noise", big, 0.3, rng)
    damaged, _ = apply("jpeg", noisy, 0.39, rng)
    path = folder / f"photo_{megapixels:g}mp.png"
    save(Image.from_array(np.clip(damaged, 0.0, 1.0)), path, overwrite=True)
    return path


def _make_photo_elsewhere(megapixels: float, folder: Path) -> Path:
    """:func:`make_photo` in a child process: a child's peak RSS starts from its parent's
    (Linux keeps the high-water mark across fork and exec), so the parent must stay small."""
    code = (
        "import sys; from pathlib import Path; from restora.bench.speed import make_photo; "
        "print(make_photo(float(sys.argv[1]), Path(sys.argv[2])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(megapixels), str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip().splitlines()[-1])


def run_case(kind: str, photo: Path, instruction: str = "", side: int = 384) -> dict[str, Any]:
    """One case in a fresh process: its seconds (model loading included), peak RSS in MB, and
    the experts it kept."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-c", CASE_SCRIPT, kind, str(photo), instruction, str(side)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""
    if status != 0:
        raise RuntimeError(f"{kind} on {photo.name} failed: {err.strip()[-300:]}")
    payload = json.loads(out.strip().splitlines()[-1])
    return {"wall": wall, "seconds": payload["seconds"], "rss_mb": usage.ru_maxrss / 1024,
            "kept": payload["kept"], "judging": payload["judging"]}  # fmt: skip


def crop_decisions(data_dir: Path | None, items: int, log: Any) -> dict[str, float]:
    """Mean PSNR on the first ``items`` of mixed_cbsd68: full-image decisions and decisions
    on a 224 px crop (then the kept chain on the whole image)."""
    import restora
    from restora.agent import AgentConfig
    from restora.bench.datasets import get_dataset
    from restora.quality import psnr

    dataset = get_dataset("mixed_cbsd68", data_dir)
    full, cropped = [], []
    for index in range(min(items, len(dataset))):
        pair = dataset[index]
        source = np.clip(np.asarray(pair.input, np.float32), 0.0, 1.0)
        target = np.asarray(pair.target, np.float32)
        whole = restora.restore(source, config=AgentConfig(decision_side=0, small_side=0))
        crop = restora.restore(source, config=AgentConfig(decision_side=224, small_side=0))
        full.append(psnr(whole.rgb, target))
        cropped.append(psnr(crop.rgb, target))
        log(f"mixed_cbsd68 {pair.name}: full {full[-1]:.2f} dB, crop {cropped[-1]:.2f} dB")
    return {"items": len(full), "full": float(np.mean(full)), "crop": float(np.mean(cropped))}


def run(
    sizes: tuple[float, ...], mixed_items: int, data_dir: Path | None, log: Any = print
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="restora-speed-") as tmp:
        for megapixels in sizes:
            photo = _make_photo_elsewhere(megapixels, Path(tmp))
            anchor = run_case("anchor", photo)
            cases = [("agent", "", "agent", 384),
                     ("agent, models loaded", "", "warm", 384),
                     ('agent, "remove the noise"', "remove the noise", "agent", 384)]  # fmt: skip
            if megapixels <= OLD_PATH_MAX_MP:
                cases.append(("agent, full-image decisions", "", "agent", 0))
            rows.append({"megapixels": megapixels, "case": "anchor: nafnet_denoise", **anchor,
                         "x_anchor": 1.0})  # fmt: skip
            for name, instruction, kind, side in cases:
                measured = run_case(kind, photo, instruction, side)
                measured["x_anchor"] = measured["seconds"] / anchor["seconds"]
                rows.append({"megapixels": megapixels, "case": name, **measured})
                log(f"{megapixels:g} MP {name}: {measured['seconds']:.1f} s, "
                    f"{measured['rss_mb']:.0f} MB, kept {measured['kept']}")  # fmt: skip
            photo.unlink()
    mixed = crop_decisions(data_dir, mixed_items, log) if mixed_items else None
    return {"rows": rows, "mixed": mixed}


def to_markdown(results: dict[str, Any], command: str, machine: str, seconds: float) -> str:
    lines = [
        "## Speed on real photo sizes",
        "",
        f"Written by `{command}` on {machine}; the run took {seconds:.0f} s. Each case ran in a "
        "fresh process (model loading included, except in *models loaded*: the process first "
        "restores a 256 px corner of the photo, as batch and the web app have their models "
        "loaded, and the time is that of the second call); peak RSS is that process's. The "
        "photo: the astronaut resized to the size, noise sigma 15 then JPEG q60. x anchor: "
        "seconds over one pass of `nafnet_denoise` on the same photo in the same run. judging: "
        "the share of the seconds the judge spent on the candidates (their quality score, "
        "change measurements and prediction). Targets (issue): 1 MP < 10 s, 12 MP < 90 s, "
        "24 MP peak RSS < 3 GB, judging <= 30 %.",
        "",
        "| MP | case | seconds | s/MP | peak RSS (MB) | x anchor | judging | kept |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in results["rows"]:
        kept = ", ".join(row["kept"]) or "-"
        judging = row.get("judging", 0.0) / row["seconds"] if row["seconds"] else 0.0
        lines.append(
            f"| {row['megapixels']:g} | {row['case']} | {row['seconds']:.1f} | "
            f"{row['seconds'] / row['megapixels']:.1f} | {row['rss_mb']:.0f} | "
            f"{row['x_anchor']:.2f} | {judging:.0%} | {kept} |"
        )
    mixed = results.get("mixed")
    if mixed:
        lines += [
            "",
            f"Decisions on a crop against decisions on the whole image, first {mixed['items']} "
            f"items of `mixed_cbsd68` (481x321, a 224 px decision crop forced): full-image "
            f"decisions {mixed['full']:.2f} dB, crop decisions {mixed['crop']:.2f} dB "
            f"({mixed['crop'] - mixed['full']:+.2f} dB).",
        ]
    return "\n".join(lines) + "\n"


def benchmark(
    data_dir: Path | None,
    quick: bool,
    sizes: tuple[float, ...] | None = None,
    mixed_items: int | None = None,
    command: str | None = None,
) -> BenchmarkOutcome:
    """The registered ``speed`` benchmark (``restora bench --task speed [--quick]``)."""
    from restora.bench.report import machine_description

    start = time.perf_counter()
    chosen = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    items = mixed_items if mixed_items is not None else (4 if quick else 20)
    results = run(chosen, items, data_dir, log=lambda line: print(line, file=sys.stderr))
    text = to_markdown(results, command or default_command("speed", quick),
                       machine_description(), time.perf_counter() - start)  # fmt: skip
    return BenchmarkOutcome("speed", text, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default=None, help="megapixels, comma-separated")
    parser.add_argument("--mixed-items", type=int, default=None)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    sizes = tuple(float(s) for s in args.sizes.split(",")) if args.sizes else None
    outcome = run_named(
        "speed",
        args.data,
        args.quick,
        write=args.write,
        sizes=sizes,
        mixed_items=args.mixed_items,
        command=command_line("restora.bench.speed", argv),
    )
    print(outcome.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
