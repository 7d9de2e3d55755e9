"""Measure every registered expert's cost and write it into ``restora/experts/costs.json``.

    python -m restora.bench.costs [--side 384] [--repeats 2]

Each expert runs on the same ``side`` x ``side`` crop of scikit-image's astronaut with noise and
JPEG added (its default parameters, the shipped torch threads); the fastest of ``repeats`` calls
after a warm-up gives seconds per input megapixel. The agent reads the figures from the expert
descriptors (``Expert.seconds_per_mp``) to budget its candidates, so rerun this after adding an
expert or changing one. A cost is a property of the machine: the file records which one.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np


def test_image(side: int) -> np.ndarray:
    """A ``side`` px crop of the astronaut (tiled when larger) with sigma 15 noise and JPEG q50."""
    from skimage import data

    from restora.degradations import apply

    base = data.astronaut()
    reps = (-(-side // base.shape[0]), -(-side // base.shape[1]), 1)
    crop = np.tile(base, reps)[:side, :side].astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    noisy, _ = apply("noise", crop, 0.3, rng)
    damaged, _ = apply("jpeg", noisy, 0.5, rng)
    return np.asarray(damaged, dtype=np.float32)


def measure(side: int = 384, repeats: int = 2, names: list[str] | None = None) -> dict[str, Any]:
    """``{"seconds_per_mp": {name: s}, ...}`` for every expert that loads (or ``names``)."""
    from restora.bench.report import machine_description
    from restora.experts import get_expert, list_experts

    image = test_image(side)
    megapixels = side * side / 1e6
    experts = [get_expert(n) for n in names] if names else list_experts()
    costs: dict[str, float] = {}
    for expert in experts:
        expert(image[:64, :64])  # warm-up: imports, weights, first-call allocations
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            expert(image)
            best = min(best, time.perf_counter() - start)
        costs[expert.name] = round(best / megapixels, 3)
        print(f"{expert.name}: {costs[expert.name]:.2f} s/MP", flush=True)
    return {
        "command": f"python -m restora.bench.costs --side {side} --repeats {repeats}",
        "machine": machine_description(),
        "image": f"{side}x{side} astronaut, noise sigma 15 + JPEG q50",
        "seconds_per_mp": costs,
    }


def main(argv: list[str] | None = None) -> int:
    from restora.experts.registry import COSTS_FILE
    from restora.io import write_bytes_atomic

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--expert", action="append", default=None, help="only these (repeatable)")
    args = parser.parse_args(argv)
    result = measure(args.side, args.repeats, args.expert)
    if args.expert and COSTS_FILE.is_file():  # a partial run updates the others' figures
        old = json.loads(COSTS_FILE.read_text(encoding="utf-8"))
        result["seconds_per_mp"] = {**old.get("seconds_per_mp", {}), **result["seconds_per_mp"]}
    text = json.dumps(result, indent=2) + "\n"
    write_bytes_atomic(COSTS_FILE, text.encode("utf-8"), overwrite=True)
    print(f"wrote {COSTS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
