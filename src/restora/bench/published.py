"""The published networks side by side with restora's own experts: super-resolution and denoising.

    python -m restora.bench.published [--sets Set5,Set14,B100,Urban100,CBSD68] [--scales 4,2]
        [--sigmas 15,25,50] [--limit N] [--method NAME]... [--quick] [--write]
    restora bench --task published [--quick]

**Super-resolution.** Each method upscales the LR inputs of Set5 (shipped MATLAB-bicubic LR),
Set14 (LR made with restora's MATLAB-exact bicubic, as :mod:`restora.bench.datasets` does),
B100 x4 (the SelfExSR LR; HR = the BSDS500/val JPEG cropped from the top-left to the size in
``mapping_to_BSDS500_val.tsv``, i.e. 4x the LR; x2 LR is made from that HR crop) and the
Urban100 subset (shipped x4 only: there is no x2 set). Scored by the SR convention (BasicSR
PSNR and SSIM on the BT.601 Y channel, a border of ``scale`` pixels cropped) and by NIQE on the
output (no reference, lower is more natural). A method runs at a factor it has a model for
(:data:`SR_SCALES`), not at one it would only reach by resizing another factor's output.
PSNR rewards the conditional mean, so the GAN restorers (Real-ESRGAN, RealSR) score below
bicubic-trained networks while looking sharper; NIQE is the column that shows what they are for.

**Denoising.** CBSD68 with seeded Gaussian noise (KAIR's convention, not clipped), PSNR/SSIM on
RGB: ``nafnet_denoise`` (blind) next to SRMD's noise-aware network and waifu2x's photo denoise
levels. Neither published network has an x1 model: their ``scale=1`` path (what restora runs
when asked to denoise with them) is the x4 (SRMD) or x2 (waifu2x) network followed by an
antialiased bicubic resize back to the input size. SRMD gets ``noise_sigma`` twice: as the agent
would pass it (the analyzer's noise severity through ``restora.experts.quantities``; an image
the analyzer finds clean gets SRMDNF, the noise-free model) and as the true sigma. waifu2x's
levels 0-3 were trained on JPEG noise, not Gaussian noise.

**Speed.** Seconds per input megapixel of the expert call alone (not the analysis), on
``device`` (default CPU), and as a multiple of the speed of the reference (``nafnet_upscale``
for SR, else ``bicubic``; ``nafnet_denoise`` for denoising) on the same images in the same run
(> 1 is faster). Methods whose wheel (or weights) are not installed are skipped and named.
``--quick`` runs two images of Set5 x4 and of CBSD68 sigma 25.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
"""The super-resolution methods."""

DENOISE_METHODS: tuple[str, ...] = ("nafnet_denoise", "srmd", "waifu2x_photo")
"""The denoising methods (SRMD and waifu2x expand to several rows, see :func:`denoise_entries`)."""

SR_SETS: dict[str, str] = {
    "Set5": "set5",
    "Set14": "set14",
    "B100": "b100",
    "Urban100": "urban100",
}
"""Set name on the command line -> prefix of its ``restora.bench.datasets`` names (``_x4``...)."""

DENOISE_SET = "CBSD68"
SETS: tuple[str, ...] = (*SR_SETS, DENOISE_SET)
SCALES: tuple[int, ...] = (4, 2)
SIGMAS: tuple[int, ...] = (15, 25, 50)
WAIFU2X_LEVELS: tuple[int, ...] = (0, 1, 2, 3)

SR_SCALES: dict[str, tuple[int, ...]] = {
    "nafnet_upscale": (2, 4),
    "span": (2, 4),
    "srmd": (2, 3, 4),
    "realesr_animevideov3": (2, 3, 4),
    "waifu2x_photo": (2, 4),
    "realesrgan_x4plus": (4,),
    "realsr_df2k": (4,),
}
"""Factors a network is benchmarked at: those its wheel has a model file for (waifu2x's x4 is its
x2 model run twice, as waifu2x itself does). At another factor the expert would resize another
factor's output, which measures the resize. Methods not listed (the classical interpolators)
run at any factor."""

SR_REFERENCES: tuple[str, ...] = ("nafnet_upscale", "bicubic")
DENOISE_REFERENCES: tuple[str, ...] = ("nafnet_denoise",)
QUICK_LIMIT = 2


def supports_scale(method: str, scale: int) -> bool:
    """Whether ``method`` is benchmarked at ``scale`` (:data:`SR_SCALES`)."""
    return scale in SR_SCALES.get(method, (scale,))


def parse_names(text: str | Sequence[str] | None, valid: Sequence[str]) -> tuple[str, ...] | None:
    """``"Set5,B100"`` (or a list of such) -> ``("Set5", "B100")``, matched case-insensitively
    to ``valid``; an unknown name raises :class:`~restora.errors.UnknownNameError`."""
    from restora.errors import UnknownNameError

    if text is None:
        return None
    parts = [text] if isinstance(text, str) else list(text)
    by_lower = {name.lower(): name for name in valid}
    out: list[str] = []
    for part in parts:
        for name in (n.strip() for n in part.split(",")):
            if not name:
                continue
            if name.lower() not in by_lower:
                raise UnknownNameError("published benchmark set", name, list(valid))
            out.append(by_lower[name.lower()])
    return tuple(dict.fromkeys(out))


def parse_ints(text: str | None) -> tuple[int, ...] | None:
    """``"4,2"`` -> ``(4, 2)``."""
    if text is None:
        return None
    return tuple(dict.fromkeys(int(v) for v in text.split(",") if v.strip()))


def sr_dataset(set_name: str, scale: int) -> str | None:
    """The ``restora.bench.datasets`` name of SR set ``set_name`` at ``scale`` (None when the
    data has no such set, e.g. Urban100 x2)."""
    from restora.bench.datasets import list_datasets

    name = f"{SR_SETS[set_name]}_x{scale}"
    return name if name in list_datasets() else None


@dataclass(frozen=True)
class Entry:
    """One row's method: an expert and how each call is parameterised."""

    label: str
    expert: str
    params: Mapping[str, Any] = field(default_factory=dict)
    sigma_source: str | None = None
    """``"analyzer"`` or ``"true"``: the ``noise_sigma`` the call gets (SRMD), else None."""


def denoise_entries(methods: Sequence[str], levels: Sequence[int] = WAIFU2X_LEVELS) -> list[Entry]:
    """The denoising rows for ``methods``: SRMD twice (analyzer sigma, true sigma), waifu2x once
    per noise level, any other expert blind."""
    entries: list[Entry] = []
    for name in methods:
        if name == "srmd":
            entries.append(Entry("srmd, sigma from analyzer", name, {"scale": 1}, "analyzer"))
            entries.append(Entry("srmd, true sigma", name, {"scale": 1}, "true"))
        elif name == "waifu2x_photo":
            entries += [
                Entry(f"waifu2x_photo, noise_level {n}", name, {"scale": 1, "noise_level": n})
                for n in levels
            ]
        else:
            entries.append(Entry(name, name))
    return entries


def entry_params(
    entry: Entry,
    image: np.ndarray,
    true_sigma: float | None,
    analysis_of: Callable[[np.ndarray], Any] | None,
    from_analysis: Mapping[str, str],
) -> dict[str, Any]:
    """The parameters of one call of ``entry`` on ``image``. The analyzer's sigma goes through
    :func:`restora.experts.quantities.params_from_analysis` with the expert's ``from_analysis``,
    exactly as the agent passes it (nothing when the analyzer reports no noise)."""
    params = dict(entry.params)
    if entry.sigma_source == "true":
        if true_sigma is None:
            raise ValueError(f"{entry.label}: the pair has no true sigma")
        params["noise_sigma"] = float(true_sigma)
    elif entry.sigma_source == "analyzer":
        from restora.experts.quantities import params_from_analysis

        if analysis_of is None:
            raise ValueError(f"{entry.label}: no analyzer given")
        params.update(params_from_analysis(from_analysis, analysis_of(image), image))
    return params


def _load_experts(names: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    from restora.errors import RestoraError
    from restora.experts import get_expert
    from restora.experts import names as expert_names

    available = set(expert_names())
    loaded: dict[str, Any] = {}
    missing: list[str] = []
    for name in dict.fromkeys(names):
        if name not in available:
            missing.append(name)
            continue
        try:
            loaded[name] = get_expert(name)
        except RestoraError:
            missing.append(name)
    return loaded, missing


def _speed_ratios(rows: list[dict[str, Any]], references: Sequence[str]) -> None:
    """``speed_vs_ref``: the reference's s/MP over the row's (same images, same run)."""
    by_method = {row["method"]: row for row in rows}
    reference = next((by_method[n] for n in references if n in by_method), None)
    for row in rows:
        row["reference"] = None if reference is None else reference["method"]
        row["speed_vs_ref"] = (
            None if reference is None else reference["seconds_per_mp"] / row["seconds_per_mp"]
        )


def _timed(expert: Any, image: np.ndarray, **params: Any) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    output = expert(image, **params)
    return output, time.perf_counter() - start


def _sr_rows(
    set_name: str, scale: int, pairs: list[Any], experts: Mapping[str, Any], device: str | None
) -> list[dict[str, Any]]:
    from restora.quality import psnr, ssim
    from restora.quality.registry import compute

    rows: list[dict[str, Any]] = []
    for name, expert in experts.items():
        expert(pairs[0].input[:32, :32], scale=scale, device=device)  # weights, allocations
        psnrs, ssims, niqes, seconds, megapixels = [], [], [], 0.0, 0.0
        per_image: dict[str, float] = {}
        for pair in pairs:
            output, took = _timed(expert, pair.input, scale=scale, device=device)
            seconds += took
            megapixels += pair.input.shape[0] * pair.input.shape[1] / 1e6
            value = psnr(output, pair.target, crop_border=scale, y_channel=True)
            per_image[pair.name] = round(value, 4)
            psnrs.append(value)
            ssims.append(ssim(output, pair.target, crop_border=scale, y_channel=True))
            niqes.append(compute("niqe", output))
        rows.append(
            {
                "task": "upscale",
                "dataset": set_name,
                "scale": scale,
                "method": name,
                "expert": name,
                "images": len(pairs),
                "psnr": float(np.mean(psnrs)),
                "ssim": float(np.mean(ssims)),
                "niqe": float(np.mean(niqes)),
                "seconds_per_mp": seconds / megapixels,
                "licence": expert.licence,
                "per_image": per_image,
            }
        )
    _speed_ratios(rows, SR_REFERENCES)
    return rows


def _denoise_rows(
    sigma: int,
    pairs: list[Any],
    entries: Sequence[Entry],
    experts: Mapping[str, Any],
    analysis_of: Callable[[np.ndarray], Any] | None,
    device: str | None,
) -> list[dict[str, Any]]:
    from restora.quality import psnr, ssim

    noisy = [(np.clip(pair.input, 0.0, 1.0), pair.target) for pair in pairs]
    rows: list[dict[str, Any]] = [
        {
            "task": "denoise",
            "dataset": DENOISE_SET,
            "sigma": sigma,
            "method": "noisy input",
            "expert": None,
            "images": len(pairs),
            "psnr": float(np.mean([psnr(x, clean) for x, clean in noisy])),
            "ssim": float(np.mean([ssim(x, clean) for x, clean in noisy])),
            "seconds_per_mp": None,
        }
    ]
    timed: list[dict[str, Any]] = []
    for entry in entries:
        expert = experts[entry.expert]
        warm = {**entry.params, **({"noise_sigma": float(sigma)} if entry.sigma_source else {})}
        expert(pairs[0].input[:32, :32], device=device, **warm)
        psnrs, ssims, sigmas, seconds, megapixels = [], [], [], 0.0, 0.0
        per_image: dict[str, float] = {}
        for pair in pairs:
            params = entry_params(entry, pair.input, sigma, analysis_of, expert.from_analysis)
            output, took = _timed(expert, pair.input, device=device, **params)
            seconds += took
            megapixels += pair.input.shape[0] * pair.input.shape[1] / 1e6
            value = psnr(output, pair.target)
            per_image[pair.name] = round(value, 4)
            psnrs.append(value)
            ssims.append(ssim(output, pair.target))
            if entry.sigma_source:
                sigmas.append(float(params.get("noise_sigma", -1.0)))
        timed.append(
            {
                "task": "denoise",
                "dataset": DENOISE_SET,
                "sigma": sigma,
                "method": entry.label,
                "expert": entry.expert,
                "params": dict(entry.params),
                "images": len(pairs),
                "psnr": float(np.mean(psnrs)),
                "ssim": float(np.mean(ssims)),
                "sigma_given": sigmas or None,
                "seconds_per_mp": seconds / megapixels,
                "licence": expert.licence,
                "per_image": per_image,
            }
        )
    _speed_ratios(timed, DENOISE_REFERENCES)
    return rows + timed


def run_benchmark(
    data_dir: Path | None,
    methods: Sequence[str] | None = None,
    sets: Sequence[str] = SETS,
    scales: Sequence[int] = SCALES,
    sigmas: Sequence[int] = SIGMAS,
    limit: int | None = None,
    device: str | None = "cpu",
    analysis_of: Callable[[np.ndarray], Any] | None = None,
) -> dict[str, Any]:
    """``{"rows": [...], "skipped": [...], "not_run": [...], "limit", "machine"}``.

    ``methods`` filters both method lists (default all); ``sets`` names SR sets of
    :data:`SR_SETS` and/or ``"CBSD68"``; ``limit`` caps the images per set (the first N in
    sorted order). ``analysis_of(image) -> Analysis`` gives SRMD its analyzer sigma (default the
    embedded analyzer)."""
    from restora.bench.datasets import get_dataset
    from restora.bench.report import machine_description

    sr_methods = [m for m in METHODS if methods is None or m in methods]
    dn_methods = [m for m in DENOISE_METHODS if methods is None or m in methods]
    extra = [m for m in (methods or ()) if m not in METHODS and m not in DENOISE_METHODS]
    sr_methods += extra  # any other upscaler named on the command line
    sr_sets = [s for s in sets if s in SR_SETS]
    wanted = (sr_methods if sr_sets else []) + (dn_methods if DENOISE_SET in sets else [])
    experts, missing = _load_experts(wanted)
    rows: list[dict[str, Any]] = []
    not_run: list[str] = []
    for set_name in sr_sets:
        for scale in scales:
            dataset_name = sr_dataset(set_name, scale)
            if dataset_name is None:
                not_run.append(f"{set_name} x{scale} (no such LR set in the data)")
                continue
            dataset = get_dataset(dataset_name, data_dir)
            pairs = [dataset[i] for i in range(min(limit or len(dataset), len(dataset)))]
            chosen = {}
            for name in sr_methods:
                if name not in experts:
                    continue
                if supports_scale(name, scale):
                    chosen[name] = experts[name]
                else:
                    not_run.append(f"{name} x{scale} (no x{scale} model)")
            rows += _sr_rows(set_name, scale, pairs, chosen, device)
    if DENOISE_SET in sets:
        entries = [e for e in denoise_entries(dn_methods) if e.expert in experts]
        if analysis_of is None and any(e.sigma_source == "analyzer" for e in entries):
            from restora.perception.backends import get_analyzer

            analysis_of = get_analyzer(device=device).analysis
        for sigma in sigmas:
            dataset = get_dataset(f"cbsd68_sigma{sigma}", data_dir)
            pairs = [dataset[i] for i in range(min(limit or len(dataset), len(dataset)))]
            rows += _denoise_rows(sigma, pairs, entries, experts, analysis_of, device)
    return {
        "machine": machine_description(),
        "device": device or "auto",
        "limit": limit,
        "rows": rows,
        "skipped": missing,
        "not_run": list(dict.fromkeys(not_run)),
    }


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _references(rows: list[dict[str, Any]]) -> str:
    used = dict.fromkeys(row["reference"] for row in rows if row.get("reference"))
    return ", ".join(f"`{name}`" for name in used) or "none"


def _sigma_given(row: dict[str, Any]) -> str:
    values = row.get("sigma_given")
    if not values:
        return "-"
    noise_free = sum(v < 0 for v in values)
    given = [v for v in values if v >= 0]
    text = f"{np.mean(given):.1f}" if given else ""
    if noise_free:
        text += f"{' ' if text else ''}({noise_free} noise-free)"
    return text


def benchmark_markdown(result: dict[str, Any], command: str) -> str:
    limit = result.get("limit")
    counted = f"the first {limit} images of each set" if limit else "every image of each set"
    lines = [
        "### Published networks side by side",
        "",
        f"Measured by `{command}` on {counted} ({result['machine']}, device "
        f"{result.get('device', 'cpu')}, shared with other jobs). s/MP: seconds per input "
        "megapixel of the expert call; speed vs ref: the reference's s/MP over the method's on "
        "the same images in the same run (> 1 is faster).",
    ]
    sr = [row for row in result["rows"] if row["task"] == "upscale"]
    if sr:
        lines += [
            "",
            "Super-resolution: PSNR/SSIM on Y with a border of the scale cropped (BasicSR); "
            "NIQE on the RGB output, lower is more natural. GAN restorers (Real-ESRGAN, RealSR) "
            f"trade PSNR for detail. Speed reference: {_references(sr)}.",
            "",
            "| set | scale | method | images | PSNR-Y | SSIM-Y | NIQE | s/MP | speed vs ref |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in sr:
            lines.append(
                f"| {row['dataset']} | x{row['scale']} | {row['method']} | {row['images']} | "
                f"{row['psnr']:.2f} | {row['ssim']:.4f} | {row['niqe']:.2f} | "
                f"{row['seconds_per_mp']:.1f} | {_ratio(row.get('speed_vs_ref'))} |"
            )
    denoise = [row for row in result["rows"] if row["task"] == "denoise"]
    if denoise:
        lines += [
            "",
            "Denoising, CBSD68 with seeded Gaussian noise (not clipped; the input row is "
            "clipped to [0, 1]): PSNR/SSIM on RGB. SRMD and waifu2x have no x1 model: restora's "
            "`scale=1` runs their x4 / x2 network and resizes back (antialiased bicubic). "
            "sigma given: mean `noise_sigma` SRMD got (from the analyzer as the agent passes "
            "it, or the true one); noise-free = the analyzer reported no noise, so SRMDNF ran. "
            "waifu2x's levels were trained on JPEG noise. "
            f"Speed reference: {_references(denoise)}.",
            "",
            "| sigma | method | images | PSNR | SSIM | sigma given | s/MP | speed vs ref |",
            "|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in denoise:
            lines.append(
                f"| {row['sigma']} | {row['method']} | {row['images']} | {row['psnr']:.2f} | "
                f"{row['ssim']:.4f} | {_sigma_given(row)} | "
                f"{_number(row['seconds_per_mp'], 1)} | {_ratio(row.get('speed_vs_ref'))} |"
            )
    if result.get("not_run"):
        lines += ["", "Not run: " + "; ".join(result["not_run"]) + "."]
    if result["skipped"]:
        lines += ["", "Not installed here: " + ", ".join(f"`{m}`" for m in result["skipped"])]
    return "\n".join(lines) + "\n"


def benchmark(
    data_dir: Path | None,
    quick: bool,
    methods: Sequence[str] | None = None,
    sets: Sequence[str] | None = None,
    scales: Sequence[int] | None = None,
    sigmas: Sequence[int] | None = None,
    limit: int | None = None,
    device: str | None = "cpu",
    command: str | None = None,
) -> BenchmarkOutcome:
    """The registered ``published`` benchmark; quick runs two images of Set5 x4 and of CBSD68
    sigma 25."""
    result = run_benchmark(
        data_dir,
        tuple(methods) if methods else None,
        tuple(sets or (("Set5", DENOISE_SET) if quick else SETS)),
        tuple(scales or ((4,) if quick else SCALES)),
        tuple(sigmas or ((25,) if quick else SIGMAS)),
        limit=QUICK_LIMIT if quick and limit is None else limit,
        device=device,
    )
    text = benchmark_markdown(result, command or default_command("published", quick))
    return BenchmarkOutcome("published", text, result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data folder (default ../shared/data)")
    parser.add_argument("--method", action="append", default=None, help="only these methods")
    parser.add_argument("--sets", default=None, help=f"comma list of {', '.join(SETS)}")
    parser.add_argument("--scales", default=None, help="SR factors, e.g. 4,2 (default 4,2)")
    parser.add_argument("--sigmas", default=None, help="CBSD68 noise levels (default 15,25,50)")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    parser.add_argument("--quick", action="store_true", help="two images of Set5 and CBSD68")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    outcome = run_named(
        "published",
        None if args.data is None else Path(args.data),
        args.quick,
        write=args.write,
        methods=tuple(m for part in args.method for m in part.split(",")) if args.method else None,
        sets=parse_names(args.sets, SETS),
        scales=parse_ints(args.scales),
        sigmas=parse_ints(args.sigmas),
        limit=args.limit,
        device=None if args.device == "auto" else args.device,
        command=command_line("restora.bench.published", argv),
    )
    print(outcome.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
