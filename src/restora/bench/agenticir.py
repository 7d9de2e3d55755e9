"""The AgenticIR protocol: ``python -m restora.bench.agenticir`` or ``restora bench --task agenticir``.

Zhu, Gu, You, Qiao & Dong, "An Intelligent Agentic System for Complex Image Restoration
Problems", ICLR 2025 (code: GitHub ``Kaiwen-Zhu/AgenticIR``). The upstream repository is not in
the reference index; its files were read from the forks ``MeetSummerInSpring/AgenticIR``
(commit ``3c8c6fecd06710b7ec60442c5c684e0e58e62b32``, whose README is the upstream one) and
``krishna22112023/AgenticIR`` (same ``dataset/degradations.txt``):

- ``dataset/degradations.txt``: the 16 combinations, in four blocks of four;
- ``eval/compare_methods.py`` (``groups = {...}``): group A = the first eight pairs, B = the
  next four pairs, C = the four triples (:data:`GROUPS` below, same names and order); results
  are averaged per combination, then over the combinations of a group (``fill_data``);
- ``dataset/synthesize.py``: each combination is applied left to right to every clean image
  (``for degra in comb: img = degrade(img, degra)``), on uint8 images;
- ``dataset/add_single_degradation.py``: the parameters of each degradation, below;
- ``pipeline/iragent.py`` (``extract_agenda``): super-resolution is planned when the input's
  longer side is under 300 px; the SR tools upscale x4.

The paper's clean images are MiO100 (MiOIR's test set) with precomputed depth maps; here they
are a public test set of this checkout (default CBSD68 under ``$RESTORA_DATA/test/CBSD68``),
the first ``--images`` files in name order (the same images for every combination), centre
cropped to ``--size`` and cut to a multiple of 4 (the SR scale).

Each AgenticIR degradation is one of restora's (:mod:`restora.degradations`) called with
explicit physical parameters drawn from AgenticIR's ranges (:data:`DEGRADATIONS`), then rounded
to 8 bits as AgenticIR's uint8 pipeline does:

==========================  ===============  ==================================================
AgenticIR                   restora          parameters (AgenticIR -> restora)
==========================  ===============  ==================================================
noise                       noise            Gaussian or Poisson, 1:1. Gaussian: BasicSR
                                             ``random_add_gaussian_noise_pt``, sigma U(20, 50)
                                             per channel -> ``kind="gaussian", sigma``.
                                             Poisson: BasicSR ``random_add_poisson_noise_pt``,
                                             scale U(1, 3): std ``scale * sqrt(x / 256)`` on an
                                             8-bit image -> ``kind="poisson_gaussian",
                                             shot_fraction=1, sigma = scale * 255 *
                                             sqrt(0.5 / 256)`` (the same std at every level,
                                             Gaussian approximation of the Poisson draw)
jpeg compression artifact   jpeg             quality randint(10, 30), OpenCV 4:2:0 ->
                                             ``quality`` (libjpeg through Pillow, 4:2:0)
dark                        low_light        one of three on HSV value, 1:1:1, no noise
                                             (``noise=False``): gamma ``V ** (1 / g)``, g
                                             U(0.5, 0.7) -> ``ev=0, gamma=1 / g`` (exact up to
                                             per-channel vs value); linear map of V to
                                             ``[0, d]``, d randint(100, 150) -> exposure
                                             ``ev = 2.2 log2(255 / d)`` (sRGB x k is linear x
                                             k ** 2.2); shift ``V - s``, s randint(30, 50) ->
                                             the exposure that darkens mid-grey alike, ``ev =
                                             2.2 log2(127.5 / (127.5 - s))`` (an approximation:
                                             a shift also crushes the shadows to black)
haze                        haze             ``I = J t + A (1 - t)``, ``t = exp(-beta d)``, A
                                             U(0.7, 1.0) grey, beta U(0.6, 1.8), d a predicted
                                             depth map / its max -> ``beta, airlight=A`` and
                                             restora's depth proxy (no depth maps for CBSD68;
                                             relative depth 0.15-1, far at the top)
motion blur                 motion_blur      imagecorruptions' kernel: a one-sided line of
                                             ``2 r + 1`` px at an angle U(-90, 90) weighted
                                             ``exp(-i^2 / 2 sigma^2)``, (r, sigma) one of (10,
                                             3), (15, 5), (15, 8) -> ``trajectory="linear"``
                                             (random angle) of the length whose uniform line
                                             has the same spread: ``length = sqrt(12) * std``
                                             = 6.5, 10.7, 17.0 px (the restora kernel is
                                             centred; AgenticIR's shifts the image by its mean
                                             offset, 2-6 px)
defocus blur                blur             imagecorruptions' disk, radius 3, 4 or 6 (with a
                                             Gaussian anti-alias of 0.1-0.5 px) ->
                                             ``kind="defocus", sigma=radius / 2`` (restora's
                                             anti-aliased disk of radius ``2 sigma``)
rain                        rain             MiOIR's streaks: drop density ``value / 25600``,
                                             value randint(50, 100); length randint(20, 40) in a
                                             rotated diagonal kernel scaled by ``1 - L / 100``;
                                             angle randint(-30, 30) from vertical; 3x3 Gaussian
                                             (about 2 px wide); layer min-max normalised to
                                             255, added -> ``density``, ``length = min(L,
                                             sqrt(2) L (1 - L / 100))`` (the visible extent),
                                             ``angle``, ``width=1`` (restora's streaks are
                                             blurred 0.4-1.2 px) and ``opacity=0.7``. The
                                             opacity is not a parameter of MiOIR's recipe (its
                                             normalisation sets it per image); 0.7 was chosen
                                             here by simulating MiOIR's recipe at 192-481 px:
                                             both then cover about 22 % of the pixels with a
                                             mean rain layer of 0.05
low resolution              low_resolution   BasicSR ``imresize(scale=0.25)`` (MATLAB bicubic,
                                             antialiased), not resized back -> ``scale=4,
                                             kernel="matlab_bicubic", antialias=False``
==========================  ===============  ==================================================

Every item is seeded (``np.random.default_rng([seed, combination, image])``), so a run is
reproducible and every variant restores the same inputs.

Rows, per combination and averaged per group as AgenticIR does, PSNR / SSIM in RGB against the
clean crop (``restora.quality``, BasicSR convention), with the same analyzer and expert pool
(the agent's default budget) for every row, all from :mod:`restora.bench.agent`:

- ``input``: the degraded image (a low-resolution one enlarged x4 by MATLAB bicubic);
- ``seed``: the seed routing baseline (classify once, the first expert of the top class);
- ``fixed``: AgenticIR's fixed pipelines: the dedicated (first-ranked) expert of each of the
  combination's known degradations, one step per degradation, in a fixed order, no checks.
  Every order is run (2 per pair, 6 per triple) and listed per combination; a group reports
  the best and the worst order of each combination (chosen by mean PSNR over its images, so
  the best is a hindsight choice no fixed rule beats) and the agent's own order rule
  (``restora.agent.planning.order_tasks``) applied to the known tasks. The agent beats every
  fixed pipeline of a group when it beats the mean of the per-combination best orders;
- ``agent``: :func:`restora.restore` (analysis, plan, candidates, judge, rollback);
- ``oracle``: the same agent whose judge knows the clean image
  (:class:`restora.bench.agent.OracleJudge`; a low-resolution state is compared with the clean
  image reduced to its size): the headroom of the decisions.

Super-resolution: AgenticIR upscales when the input's longer side is under 300 px, the size of
an x4-reduced MiO100 image. Here the same rule is scaled to the benchmark: every input whose
longer side is under the clean crop's is upscaled x4 (``AgentConfig(small_side=crop side,
small_scale=4)``); seed routing (whose analyzer does not see resolution) gets that upscale
appended with the first upscale expert. A fixed pipeline's upscale is one of its ordered steps.
An output still smaller than the clean crop (the agent's judge can reject the upscale: its
no-reference guard) is enlarged by MATLAB bicubic to be measured, as the input is, and counted
(``low_resolution`` in the results; "low-res" in the tables).

Left out: MiO100 and its depth maps (CBSD68 and a depth proxy instead), the LPIPS, MANIQA,
CLIP-IQA and MUSIQ columns of the paper, and AgenticIR's own tools (restora's pool instead).
A full run (``restora bench --task agenticir``: 4 images per combination at 256 px) took
4.6 minutes on a 2-core CPU shared with a training run; ``--quick`` runs 1 image at 96 px.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from restora.agent.judge import DefaultJudge
from restora.agent.learned_judge import shipped_judge
from restora.agent.planning import AgentConfig, order_tasks
from restora.bench.agent import (
    CachedAnalyzer,
    OracleJudge,
    Tally,
    agent_variant,
    fixed_pipeline,
    pair_arrays,
    seed_baseline,
)
from restora.vocabulary import TASK_FOR_TYPE

if TYPE_CHECKING:
    from restora.bench import BenchmarkOutcome
    from restora.bench.datasets import Pair

SCALE = 4
"""The super-resolution factor of AgenticIR's low-resolution degradation and SR tools."""
DEFAULT_SEED = 2025
DEFAULT_SOURCE = Path("test") / "CBSD68"
"""Clean images, relative to the data folder ($RESTORA_DATA)."""
FULL_IMAGES, FULL_SIZE = 4, 256
QUICK_IMAGES, QUICK_SIZE = 1, 96


@dataclass(frozen=True)
class Degradation:
    """One AgenticIR degradation: its name there, the restora type that synthesises it and how
    its physical parameters are drawn (keyword arguments of the restora function)."""

    name: str
    type: str
    draw: Callable[[np.random.Generator], dict[str, Any]] = field(repr=False)

    @property
    def task(self) -> str:
        return TASK_FOR_TYPE[self.type]


def _noise(rng: np.random.Generator) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {"kind": "gaussian", "sigma": float(rng.uniform(20.0, 50.0))}
    scale = float(rng.uniform(1.0, 3.0))
    return {
        "kind": "poisson_gaussian",
        "shot_fraction": 1.0,
        "sigma": scale * 255.0 * math.sqrt(0.5 / 256.0),
    }


def _jpeg(rng: np.random.Generator) -> dict[str, Any]:
    return {"quality": int(rng.integers(10, 30))}


def _dark(rng: np.random.Generator) -> dict[str, Any]:
    method = int(rng.integers(3))
    if method == 0:  # constant shift of V
        shift = int(rng.integers(30, 50))
        ev = 2.2 * math.log2(127.5 / (127.5 - shift))
        return {"ev": ev, "gamma": 1.0, "noise": False}
    if method == 1:  # gamma correction of V
        return {"ev": 0.0, "gamma": 1.0 / float(rng.uniform(0.5, 0.7)), "noise": False}
    top = int(rng.integers(100, 150))  # linear mapping of V onto [0, top]
    return {"ev": 2.2 * math.log2(255.0 / top), "gamma": 1.0, "noise": False}


def _haze(rng: np.random.Generator) -> dict[str, Any]:
    airlight = float(rng.uniform(0.7, 1.0))
    return {"airlight": airlight, "beta": float(rng.uniform(0.6, 1.8))}


MOTION_KERNELS: tuple[tuple[int, float], ...] = ((10, 3.0), (15, 5.0), (15, 8.0))
"""imagecorruptions' motion blur (radius, sigma) of AgenticIR's three severities."""
DEFOCUS_RADII: tuple[int, ...] = (3, 4, 6)
"""imagecorruptions' defocus disk radius of AgenticIR's three severities."""
RAIN_OPACITY = 0.7
"""Calibrated against MiOIR's rain recipe (module docstring)."""


def motion_length(radius: int, sigma: float) -> float:
    """The length of a uniform line with the spread of imagecorruptions' one-sided Gaussian
    line kernel (``2 radius + 1`` taps weighted ``exp(-i^2 / 2 sigma^2)``)."""
    taps = np.arange(2 * radius + 1, dtype=np.float64)
    weights = np.exp(-(taps**2) / (2.0 * sigma**2))
    weights /= weights.sum()
    mean = float((weights * taps).sum())
    return math.sqrt(12.0 * float((weights * (taps - mean) ** 2).sum()))


def _motion(rng: np.random.Generator) -> dict[str, Any]:
    radius, sigma = MOTION_KERNELS[int(rng.integers(3))]
    return {"length": motion_length(radius, sigma), "trajectory": "linear"}


def _defocus(rng: np.random.Generator) -> dict[str, Any]:
    return {"kind": "defocus", "sigma": DEFOCUS_RADII[int(rng.integers(3))] / 2.0}


def _rain(rng: np.random.Generator) -> dict[str, Any]:
    length = int(rng.integers(20, 40))
    angle = int(rng.integers(-30, 30))
    value = int(rng.integers(50, 100))
    return {
        "density": value / 100.0 / 256.0,
        "length": min(float(length), math.sqrt(2.0) * length * (1.0 - length / 100.0)),
        "angle": float(angle),
        "width": 1,
        "opacity": RAIN_OPACITY,
    }


def _low_resolution(rng: np.random.Generator) -> dict[str, Any]:
    del rng
    return {"scale": SCALE, "kernel": "matlab_bicubic", "antialias": False}


DEGRADATIONS: dict[str, Degradation] = {
    d.name: d
    for d in (
        Degradation("noise", "noise", _noise),
        Degradation("jpeg compression artifact", "jpeg", _jpeg),
        Degradation("dark", "low_light", _dark),
        Degradation("haze", "haze", _haze),
        Degradation("motion blur", "motion_blur", _motion),
        Degradation("defocus blur", "blur", _defocus),
        Degradation("rain", "rain", _rain),
        Degradation("low resolution", "low_resolution", _low_resolution),
    )
}
"""AgenticIR's degradation names -> how restora synthesises them (module docstring)."""

GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "A": (
        ("rain", "haze"),
        ("motion blur", "low resolution"),
        ("dark", "noise"),
        ("defocus blur", "jpeg compression artifact"),
        ("noise", "jpeg compression artifact"),
        ("rain", "low resolution"),
        ("motion blur", "dark"),
        ("defocus blur", "haze"),
    ),
    "B": (
        ("motion blur", "jpeg compression artifact"),
        ("haze", "noise"),
        ("defocus blur", "low resolution"),
        ("rain", "dark"),
    ),
    "C": (
        ("haze", "motion blur", "low resolution"),
        ("rain", "noise", "low resolution"),
        ("dark", "defocus blur", "jpeg compression artifact"),
        ("motion blur", "defocus blur", "noise"),
    ),
}
"""AgenticIR's test groups (``eval/compare_methods.py``), each combination in the order its
degradations are applied."""


def combinations() -> list[tuple[str, tuple[str, ...]]]:
    """(group, combination) for all 16, in AgenticIR's order."""
    return [(group, combo) for group, combos in GROUPS.items() for combo in combos]


def combination_name(combo: Sequence[str]) -> str:
    """AgenticIR's name of a combination: ``"rain+haze"``."""
    return "+".join(combo)


def combination_types(combo: Sequence[str]) -> tuple[str, ...]:
    """The restora degradation types of a combination, in application order."""
    return tuple(DEGRADATIONS[name].type for name in combo)


def synthesize(
    clean: np.ndarray, combo: Sequence[str], rng: np.random.Generator
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Degrade ``clean`` (float32 RGB in [0, 1]) by ``combo``, left to right, rounding to 8 bits
    after each degradation; returns the image and each degradation's parameters."""
    from restora.degradations import apply

    image = np.asarray(clean, dtype=np.float32)
    applied: list[dict[str, Any]] = []
    for name in combo:
        spec = DEGRADATIONS[name]
        # every physical parameter is given, so the severity argument is unused
        image, params = apply(spec.type, image, 0.5, rng, **spec.draw(rng))
        image = (np.round(np.clip(image, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)
        applied.append({"name": name, "type": spec.type, "params": params})
    return image, applied


def centre_crop(image: np.ndarray, size: int | None) -> np.ndarray:
    """The centre ``size`` square (or the largest that fits), cut to a multiple of :data:`SCALE`
    on both sides; ``None`` keeps the whole image, cut to a multiple of the scale."""
    height, width = image.shape[:2]
    if size is not None:
        height, width = min(height, size), min(width, size)
    height, width = height - height % SCALE, width - width % SCALE
    if height <= 0 or width <= 0:
        raise ValueError(f"crop size {size} leaves no {SCALE}x{SCALE} block")
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def clean_images(source: Path, count: int, size: int | None) -> list[tuple[str, np.ndarray]]:
    """The first ``count`` images of ``source`` in name order, centre cropped."""
    from restora.bench.datasets import read_uint8, to_unit
    from restora.errors import NotAvailableError

    suffixes = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
    if not source.is_dir():
        raise NotAvailableError(f"clean image folder {source} not found (set RESTORA_DATA)")
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in suffixes)[:count]
    if not files:
        raise NotAvailableError(f"no images in {source}")
    return [(p.stem, centre_crop(to_unit(read_uint8(p, "RGB")), size)) for p in files]


def make_pair(
    stem: str, clean: np.ndarray, combo: Sequence[str], seed: int, combo_index: int, index: int
) -> Pair:
    """One benchmark item: ``clean`` degraded by ``combo`` with its own seeded generator."""
    from restora.bench.datasets import Pair

    rng = np.random.default_rng([seed, combo_index, index])
    degraded, applied = synthesize(clean, combo, rng)
    meta = {"combination": combination_name(combo), "degradations": applied}
    return Pair(f"{stem}", degraded, clean, meta)


@dataclass(frozen=True)
class ScaledOracle(OracleJudge):
    """:class:`OracleJudge` that also judges a smaller (low-resolution) state: against the clean
    image reduced to that size by MATLAB bicubic."""

    def assess(self, image: np.ndarray, analysis: Any = None) -> Any:
        from restora.agent.judge import Assessment
        from restora.bench.agent import _psnr
        from restora.degradations.resize import imresize

        assert self.target is not None
        if image.shape[:2] == self.target.shape[:2]:
            return super().assess(image, analysis)
        found = analysis if analysis is not None else self.analysis(image)
        reduced = np.clip(imresize(self.target, output_shape=image.shape[:2]), 0.0, 1.0)
        return Assessment(found, _psnr(image, reduced))


def fixed_orders(combo: Sequence[str]) -> list[tuple[str, ...]]:
    """Every order of the combination's restora types (each permutation once)."""
    return list(dict.fromkeys(itertools.permutations(combination_types(combo))))


def order_label(order: Sequence[str]) -> str:
    """``"derain > dehaze"``; a task that appears twice names its type (``deblur(blur)``)."""
    tasks = [TASK_FOR_TYPE[t] for t in order]
    return " > ".join(
        f"{task}({t})" if tasks.count(task) > 1 else task
        for task, t in zip(tasks, order, strict=True)
    )


def agent_order(combo: Sequence[str]) -> tuple[str, ...]:
    """The combination's types in the order the agent's rule undoes their tasks."""
    types = combination_types(combo)
    ranked = order_tasks(list(dict.fromkeys(TASK_FOR_TYPE[t] for t in types)))
    return tuple(sorted(types, key=lambda t: ranked.index(TASK_FOR_TYPE[t])))


def _measure(out: np.ndarray, target: np.ndarray, tally: Tally, seconds: float) -> bool:
    """Record one output's PSNR/SSIM; an output left smaller than the target (not upscaled) is
    enlarged by MATLAB bicubic first, as the input is, and True is returned."""
    from restora.bench.agent import _psnr
    from restora.quality import ssim

    small = out.shape[:2] != target.shape[:2]
    out = _enlarged(np.clip(out, 0.0, 1.0), target)
    tally.seconds.append(seconds)
    tally.psnr.append(_psnr(out, target))
    tally.ssim.append(float(ssim(out, target)))
    return small


def _since(start: float) -> float:
    return time.perf_counter() - start


def _enlarged(image: np.ndarray, target: np.ndarray) -> np.ndarray:
    from restora.degradations.resize import imresize

    if image.shape[:2] == target.shape[:2]:
        return image
    return np.clip(imresize(image, output_shape=target.shape[:2]), 0.0, 1.0)


def run(
    source: Path,
    images: int,
    size: int | None,
    seed: int = DEFAULT_SEED,
    groups: Sequence[str] = tuple(GROUPS),
    judge: DefaultJudge | None = None,
    config: AgentConfig | None = None,
    log: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Every variant on ``images`` clean images of ``source`` for each combination of
    ``groups``; returns the tables as a dict (JSON-able)."""
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        from restora.errors import UnknownNameError

        raise UnknownNameError("AgenticIR group", unknown[0], list(GROUPS))
    base_config = config or AgentConfig()
    judge = judge or shipped_judge()
    analyzer = CachedAnalyzer(judge.get_analyzer())
    judge = replace(judge, analyzer=analyzer)
    cleans = clean_images(source, images, size)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "settings": {
            "source": str(source),
            "images": [stem for stem, _ in cleans],
            "size": size,
            "seed": seed,
            "scale": SCALE,
            "config": {
                **base_config.__dict__,
                "small_side": "the clean image's longer side",
                "small_scale": SCALE,
            },
        },
        "combinations": {},
        "groups": {},
    }
    for combo_index, (group, combo) in enumerate(combinations()):
        if group not in groups:
            continue
        name = combination_name(combo)
        orders = fixed_orders(combo)
        labels = [order_label(o) for o in orders]
        tallies = {v: Tally() for v in ("input", "seed", *labels, "agent", "oracle")}
        low_resolution = dict.fromkeys(tallies, 0)
        for index, (stem, clean) in enumerate(cleans):
            pair = make_pair(stem, clean, combo, seed, combo_index, index)
            rgb, target = pair_arrays(pair)
            side = max(target.shape[:2])
            config = replace(base_config, small_side=side, small_scale=SCALE)
            _measure(rgb, target, tallies["input"], 0.0)

            start = time.perf_counter()
            out = seed_baseline(rgb, analyzer, config, tallies["seed"], target)
            if max(out.shape[:2]) < side:
                upscale = ("low_resolution",)
                out = fixed_pipeline(
                    out, analyzer, config, tallies["seed"], target, False, order=upscale
                )
            low_resolution["seed"] += _measure(out, target, tallies["seed"], _since(start))

            for order, label in zip(orders, labels, strict=True):
                start = time.perf_counter()
                out = fixed_pipeline(
                    rgb, analyzer, config, tallies[label], target, False, order=order
                )
                low_resolution[label] += _measure(out, target, tallies[label], _since(start))

            start = time.perf_counter()
            out, _ = agent_variant(rgb, judge, config, tallies["agent"], target)
            low_resolution["agent"] += _measure(out, target, tallies["agent"], _since(start))

            start = time.perf_counter()
            oracle = ScaledOracle.around(judge, target)
            out, _ = agent_variant(rgb, oracle, config, tallies["oracle"], target)
            low_resolution["oracle"] += _measure(out, target, tallies["oracle"], _since(start))
            log(
                f"{group} {name} {stem}: "
                + ", ".join(f"{v} {t.psnr[-1]:.2f}" for v, t in tallies.items())
            )
        rows = {v: {**_row(t), "low_resolution": low_resolution[v]} for v, t in tallies.items()}
        rows["input"]["low_resolution"] = 0  # enlarged by bicubic by definition
        fixed = sorted(labels, key=lambda label: rows[label]["psnr"])
        results["combinations"][name] = {
            "group": group,
            "degradations": list(combo),
            "types": list(combination_types(combo)),
            "fixed_orders": labels,
            "best_order": fixed[-1],
            "worst_order": fixed[0],
            "agent_order": order_label(agent_order(combo)),
            "variants": rows,
        }
    results["groups"] = summarize(results["combinations"])
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def merge_results(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One result from the results of runs over disjoint groups with the same settings; its
    ``seconds`` is the sum of theirs (compute time, not the wall time of parallel runs)."""
    settings = parts[0]["settings"]
    combos: dict[str, Any] = {}
    for part in parts:
        if part["settings"] != settings:
            raise ValueError("the runs to merge differ in their settings (images, size, seed)")
        for name, combo in part["combinations"].items():
            if name in combos:
                raise ValueError(f"combination {name} is in more than one run")
            combos[name] = combo
    order = [combination_name(c) for _, c in combinations()]
    combos = {name: combos[name] for name in order if name in combos}
    seconds = sum(float(part.get("seconds", 0.0)) for part in parts)
    return {"settings": settings, "combinations": combos, "groups": summarize(combos),
            "seconds": seconds}  # fmt: skip


def _row(tally: Tally) -> dict[str, Any]:
    row = tally.row()
    del row["quality"]  # not measured here
    return row


GROUP_ROWS: tuple[tuple[str, str], ...] = (
    ("input", "input"),
    ("seed", "seed routing"),
    ("fixed_best", "fixed, best order of each combination"),
    ("fixed_worst", "fixed, worst order of each combination"),
    ("fixed_agent_order", "fixed, in the agent's order rule"),
    ("agent", "agent"),
    ("oracle", "oracle (judge knows the truth)"),
)


def summarize(combos: dict[str, Any]) -> dict[str, Any]:
    """Per group: the mean over its combinations of each row (AgenticIR's averaging), and
    whether the agent beats every fixed pipeline (the per-combination best order)."""
    groups: dict[str, Any] = {}
    for group in GROUPS:
        members = [c for c in combos.values() if c["group"] == group]
        if not members:
            continue
        picks = {
            "input": lambda c: c["variants"]["input"],
            "seed": lambda c: c["variants"]["seed"],
            "fixed_best": lambda c: c["variants"][c["best_order"]],
            "fixed_worst": lambda c: c["variants"][c["worst_order"]],
            "fixed_agent_order": lambda c: c["variants"][c["agent_order"]],
            "agent": lambda c: c["variants"]["agent"],
            "oracle": lambda c: c["variants"]["oracle"],
        }
        rows = {
            key: {
                **{
                    metric: float(np.mean([pick(c)[metric] for c in members]))
                    for metric in ("psnr", "ssim", "seconds")
                },
                "low_resolution": int(sum(pick(c).get("low_resolution", 0) for c in members)),
                "outputs": int(sum(pick(c)["images"] for c in members)),
            }
            for key, pick in picks.items()
        }
        wins = sum(
            c["variants"]["agent"]["psnr"] > c["variants"][c["best_order"]]["psnr"] for c in members
        )
        groups[group] = {
            "combinations": len(members),
            "images": members[0]["variants"]["agent"]["images"],
            "rows": rows,
            "agent_beats_every_fixed_psnr": rows["agent"]["psnr"] > rows["fixed_best"]["psnr"],
            "agent_beats_every_fixed_ssim": rows["agent"]["ssim"] > rows["fixed_best"]["ssim"],
            "combinations_agent_beats_best_fixed": wins,
        }
    return groups


def group_tables(results: dict[str, Any]) -> str:
    """One markdown table per group, and the check "agent > every fixed pipeline"."""
    lines: list[str] = []
    for group, block in results["groups"].items():
        kind = "triples" if len(GROUPS[group][0]) == 3 else "pairs"
        lines += [
            f"**Group {group}** ({block['combinations']} {kind}, {block['images']} images each)",
            "",
            "| method | PSNR | SSIM | s/image |",
            "|---|---:|---:|---:|",
        ]
        for key, label in GROUP_ROWS:
            row = block["rows"][key]
            seconds = "" if key == "input" else f"{row['seconds']:.2f}"
            lines.append(f"| {label} | {row['psnr']:.2f} | {row['ssim']:.4f} | {seconds} |")
        small = [
            f"{label} {block['rows'][key]['low_resolution']} of {block['rows'][key]['outputs']}"
            for key, label in GROUP_ROWS
            if block["rows"][key].get("low_resolution")
        ]
        if small:
            lines += [
                "",
                "Outputs left at low resolution (not upscaled; enlarged by bicubic to be "
                f"measured, as the input): {', '.join(small)}.",
            ]
        best = block["rows"]["fixed_best"]
        agent = block["rows"]["agent"]
        verdict = "yes" if block["agent_beats_every_fixed_psnr"] else "no"
        lines += [
            "",
            f"Agent > every fixed pipeline (PSNR): {verdict} ({agent['psnr'] - best['psnr']:+.2f} "
            f"dB against the best order of each combination; SSIM "
            f"{agent['ssim'] - best['ssim']:+.4f}); the agent beats the best fixed order in "
            f"{block['combinations_agent_beats_best_fixed']} of {block['combinations']} "
            "combinations.",
            "",
        ]
    return "\n".join(lines)


def combination_table(results: dict[str, Any]) -> str:
    """One row per combination with every fixed order's PSNR (best first)."""
    lines = [
        "| group | degradations | input | seed | fixed orders, PSNR (best first; * = the agent's "
        "rule) | agent | oracle |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for name, combo in results["combinations"].items():
        variants = combo["variants"]
        orders = sorted(combo["fixed_orders"], key=lambda label: -variants[label]["psnr"])
        fixed = "; ".join(
            f"{label}{'*' if label == combo['agent_order'] else ''} {variants[label]['psnr']:.2f}"
            for label in orders
        )
        lines.append(
            f"| {combo['group']} | {name} | {variants['input']['psnr']:.2f} | "
            f"{_cell(variants['seed'])} | {fixed} | {_cell(variants['agent'])} | "
            f"{_cell(variants['oracle'])} |"
        )
    return "\n".join(lines) + "\n"


def _cell(row: dict[str, Any]) -> str:
    """PSNR, and how many outputs were left at low resolution."""
    small = row.get("low_resolution", 0)
    return f"{row['psnr']:.2f}" + (f" ({small} low-res)" if small else "")


def to_markdown(results: dict[str, Any], command: str, machine: str, seconds: float) -> str:
    settings = results["settings"]
    size = f"{settings['size']} px centre crops" if settings["size"] else "whole images"
    head = [
        "## AgenticIR protocol",
        "",
        f"Written by `{command}` on {machine}; the run took {seconds:.0f} s. AgenticIR's 16 "
        "degradation combinations (Zhu et al., ICLR 2025; groups A: 8 pairs, B: 4 pairs, C: 4 "
        f"triples) synthesised with their parameters (`restora.bench.agenticir`) on "
        f"{len(settings['images'])} images of `{settings['source']}` ({size}, seed "
        f"{settings['seed']}). PSNR/SSIM in RGB against the clean crop, averaged per "
        "combination, then over the group's combinations. Same analyzer and expert pool for "
        "every row. `fixed`: the first expert of each known degradation, in a fixed order, no "
        "checks (best/worst: that combination's best/worst order on these images). `oracle`: "
        "the agent whose judge knows the clean image.",
        "",
    ]
    return "\n".join(head) + group_tables(results) + "\n" + combination_table(results)


def benchmark(
    data_dir: Path | None,
    quick: bool,
    images: int | None = None,
    size: int | None = None,
    seed: int = DEFAULT_SEED,
    groups: Sequence[str] = tuple(GROUPS),
    source: Path | None = None,
    command: str | None = None,
    merge: Sequence[Path] = (),
) -> BenchmarkOutcome:
    """The registered ``agenticir`` benchmark (``restora bench --task agenticir [--quick]``):
    ``images`` per combination (default 4; quick 1) at ``size`` px (256; quick 96; 0: whole
    images) from ``source`` (default ``test/CBSD68`` of the data folder). ``merge``: instead of
    running, join the ``--json`` results of runs over other groups (same images and settings),
    so that groups can run in parallel processes. It writes nothing."""
    from restora.bench import BenchmarkOutcome, default_command
    from restora.bench.report import machine_description
    from restora.paths import data_dir as find

    start = time.perf_counter()
    if merge:
        results = merge_results([json.loads(Path(p).read_text()) for p in merge])
        seconds = float(results["seconds"])
    else:
        images = images if images is not None else (QUICK_IMAGES if quick else FULL_IMAGES)
        size = size if size is not None else (QUICK_SIZE if quick else FULL_SIZE)
        folder = source if source is not None else find(data_dir) / DEFAULT_SOURCE
        results = run(
            folder, images, size or None, seed, groups,
            log=lambda line: print(line, file=sys.stderr),
        )  # fmt: skip
        seconds = time.perf_counter() - start
    command = command or default_command("agenticir", quick)
    text = to_markdown(results, command, machine_description(), seconds)
    return BenchmarkOutcome("agenticir", text, results)


def main(argv: list[str] | None = None) -> int:
    from restora.bench import command_line, run_named

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder ($RESTORA_DATA)")
    parser.add_argument(
        "--source", type=Path, default=None, help="folder of clean images (default CBSD68)"
    )
    parser.add_argument("--images", type=int, default=FULL_IMAGES, help="images per combination")
    parser.add_argument(
        "--size", type=int, default=FULL_SIZE, help="centre crop side, px (0: whole images)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--group", dest="groups", action="append", choices=list(GROUPS), help="only these groups"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="also print the per-combination table with every fixed order",
    )
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument(
        "--merge", type=Path, nargs="+", default=(), metavar="JSON",
        help="join the --json results of runs over other groups instead of running",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.images < 1 or (args.size and args.size < SCALE):
        parser.error(f"--images must be >= 1 and --size 0 (whole images) or >= {SCALE}")
    outcome = run_named(
        "agenticir",
        args.data,
        False,
        write=args.write,
        images=args.images,
        size=args.size,
        seed=args.seed,
        groups=tuple(args.groups or GROUPS),
        source=args.source,
        command=command_line("restora.bench.agenticir", argv),
        merge=tuple(args.merge),
    )
    print(group_tables(outcome.results))
    if args.markdown:
        print(combination_table(outcome.results))
    if args.json:
        args.json.write_text(json.dumps(outcome.results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
