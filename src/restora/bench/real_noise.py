"""Real camera noise: the denoisers and the agent on held-out PolyU scenes and on RNI15.

    restora bench --task real_noise [--quick]
    python -m restora.bench.real_noise [--data ../shared/data] [--write] [--quick]

1. PolyU real noisy photos (``real_train/noise``, ground truth of the same name in
   ``real_train/noise_gt``: the mean of ~500 shots) of **held-out scenes**: the scene is the
   word before the shot number in the file name (``PolyU_Canon5D2_5_160_3200_chair_5_real.jpg``
   -> ``chair``) and a scene is held out when ``zlib.crc32(scene) % 100 < 30``
   (:func:`is_held_out`), so whole scenes, never single shots, are kept out of training. At most
   ``photos`` of them (taken one per scene in turn), centre crops of ``crop`` x ``crop``. Rows:
   the input, ``cbm3d`` with sigma from the PCA noise estimate, ``ffdnet`` (blind),
   ``nafnet_denoise``, ``nafnet_denoise_real`` (when shipped), ``maxim_denoise`` (when installed; on the first ``maxim_photos`` only,
   it is slow), the agent with no instruction and with the explicit request of ``restora
   restore X --task denoise`` (``RestoreRequest(tasks=("denoise",), explicit=True)``). PSNR
   and SSIM (:func:`restora.quality.psnr` / ``ssim``) against the ground truth, the gain over
   the input, the worst photo's gain, the photos below the input and seconds per megapixel
   (wall clock, ``torch.set_num_threads(1)``; also as a ratio to ``nafnet_denoise`` in the
   same run).
2. RNI15 (``test/RNI15``: real noisy photos without ground truth): the learned no-reference
   ``quality`` score of the input and of every method's output on the first ``rni_photos``,
   centre crops of the same size.
3. The white-noise control: the first ``gaussian_images`` of ``cbsd68_sigma25`` (KAIR's
   seeded Gaussian noise, clipped to [0, 1] as a photo file holds it) through the two learned
   denoisers and ``restora restore X --task denoise``, and the noise whiteness
   (:func:`restora.quality.statistics.noise_whiteness`) of these inputs and of the PolyU crops:
   the measurement that picks the Gaussian-trained network for white noise.

Measures only; :func:`restora.bench.run_named` writes the ``real_noise`` section of
BENCHMARKS.md (unless ``--quick``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from restora.bench import BenchmarkOutcome, command_line, default_command, run_named
from restora.training.splits import (
    CLEAN_DIR,
    HELD_OUT_PERCENT,
    NOISY_DIR,
    is_held_out,  # noqa: F401 (re-exported: the split is documented here)
    scene_of,
    split_by_scene,
)

RNI15_DIR = Path("test") / "RNI15"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
CBM3D_SIGMA_FACTOR = 2.0
"""CBM3D's sigma: this times ``estimate_noise_sigma_pca(img, scale=2, weak_texture=False)``.
In-camera processing correlates the noise, and a white-noise sigma that matches its per-pixel
strength leaves the low-frequency part; BM3D needs a larger one."""
ANCHOR = "nafnet_denoise"
"""The speed of every row is also quoted as a multiple of this expert's, in the same run."""
REAL_NOISE_NETWORK = "nafnet_denoise_real"
"""The learned denoiser fine-tuned on camera noise (the old one is :data:`ANCHOR`)."""
FULL = {"photos": 20, "maxim_photos": 5, "rni_photos": 5, "crop": 256, "gaussian_images": 10}
QUICK = {"photos": 3, "maxim_photos": 1, "rni_photos": 2, "crop": 128, "gaussian_images": 2}
GAUSSIAN_SET = "cbsd68_sigma25"


def pick_evenly(names: Sequence[str], limit: int) -> list[str]:
    """At most ``limit`` of ``names``: one per scene in turn (scenes and shots sorted), so a
    scene with many shots does not fill the set."""
    by_scene: dict[str, list[str]] = {}
    for name in sorted(names):
        by_scene.setdefault(scene_of(name), []).append(name)
    queues = [by_scene[scene] for scene in sorted(by_scene)]
    chosen: list[str] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(q) for q in queues):
        chosen += [q[depth] for q in queues if depth < len(q)][: limit - len(chosen)]
        depth += 1
    return chosen


def centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The centre ``side`` x ``side`` of ``image`` (the whole of a shorter side), its sides cut
    to multiples of 8."""
    height, width = image.shape[:2]
    crop_h, crop_w = min(side, height) // 8 * 8, min(side, width) // 8 * 8
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return np.ascontiguousarray(image[top : top + crop_h, left : left + crop_w])


@dataclass(frozen=True)
class Method:
    """One row: a label, what it runs on an RGB float image, and on how many photos."""

    label: str
    run: Callable[[np.ndarray], np.ndarray]
    limit: int | None = None
    """At most this many photos (the first ones), None: all."""
    kept: Counter[str] = field(default_factory=Counter)
    """For the agent: how often it kept each chain (``"-"``: nothing), over the timed calls."""


def _cbm3d_sigma(image: np.ndarray) -> float:
    from restora.quality.statistics import estimate_noise_sigma_pca

    return CBM3D_SIGMA_FACTOR * estimate_noise_sigma_pca(image, scale=2, weak_texture=False)


def default_methods(maxim_photos: int) -> list[Method]:
    """The rows after the input: CBM3D with estimated sigma, the blind denoisers (MAXIM when
    installed) and the agent twice."""
    from restora.agent import RestoreRequest, restore
    from restora.experts import get_expert, names

    installed = set(names())

    def expert(name: str, **params: Any) -> Callable[[np.ndarray], np.ndarray]:
        return lambda image: get_expert(name)(image, **params)

    methods = []
    if "cbm3d" in installed:
        methods.append(Method(
            f"cbm3d, sigma = {CBM3D_SIGMA_FACTOR:g} x PCA estimate",
            lambda image: get_expert("cbm3d")(image, sigma=_cbm3d_sigma(image)),
        ))  # fmt: skip
    if "ffdnet" in installed:
        methods.append(Method("ffdnet (blind)", expert("ffdnet")))
    if ANCHOR in installed:
        methods.append(Method(ANCHOR, expert(ANCHOR)))
    if REAL_NOISE_NETWORK in installed:
        methods.append(Method(REAL_NOISE_NETWORK, expert(REAL_NOISE_NETWORK)))
    if "maxim_denoise" in installed and maxim_photos > 0:
        methods.append(Method("maxim_denoise", expert("maxim_denoise"), maxim_photos))
    methods.append(_agent_method("agent, no instruction", None, restore))
    # what `restora restore X --task denoise` asks: an explicit request, denoise alone runs
    explicit = RestoreRequest(tasks=("denoise",), explicit=True)
    methods.append(_agent_method("agent, --task denoise", explicit, restore))
    return methods


def _agent_method(label: str, request: Any, restore: Any) -> Method:
    kept: Counter[str] = Counter()

    def run(image: np.ndarray) -> np.ndarray:
        result = restore(image, request=request)
        kept["+".join(step.label for step in result.trace.kept) or "-"] += 1
        return np.asarray(result.rgb)

    return Method(label, run, kept=kept)


def _timed(method: Method, image: np.ndarray) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = np.clip(np.asarray(method.run(image), np.float32), 0.0, 1.0)
    return out, time.perf_counter() - start


def _warm_up(methods: Sequence[Method], image: np.ndarray, log: Any) -> None:
    """One untimed call per method on a small crop: model loading stays out of the speed."""
    small = centre_crop(image, 64)
    for method in methods:
        try:
            method.run(small)
        except Exception as exc:  # a warm-up failure shows again when timed
            log(f"warm-up of {method.label} failed: {exc}")
        method.kept.clear()


def load_polyu(data: Path, photos: int, crop: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, noisy crop, ground-truth crop) of the chosen held-out photos."""
    from restora.io import load

    noisy_dir, clean_dir = data / NOISY_DIR, data / CLEAN_DIR
    names = [p.name for p in noisy_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    names = [n for n in names if (clean_dir / n).is_file()]
    _, held = split_by_scene(names)
    return [
        (name, centre_crop(load(noisy_dir / name).rgb, crop),
         centre_crop(load(clean_dir / name).rgb, crop))
        for name in pick_evenly(held, photos)
    ]  # fmt: skip


def load_rni15(data: Path, photos: int, crop: int) -> list[tuple[str, np.ndarray]]:
    from restora.io import load

    paths = sorted(p for p in (data / RNI15_DIR).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [(p.name, centre_crop(load(p).rgb, crop)) for p in paths[:photos]]


def measure(
    polyu: Sequence[tuple[str, np.ndarray, np.ndarray]],
    rni: Sequence[tuple[str, np.ndarray]],
    methods: Sequence[Method],
    log: Any = print,
    quality: Callable[[np.ndarray], float] | None = None,
) -> dict[str, Any]:
    """Every method on every photo (within its limit): PSNR/SSIM on ``polyu``, the
    no-reference ``quality`` (default: the learned metric) on ``rni``, and the seconds."""
    from restora.quality import psnr, ssim

    if quality is None:
        from restora.quality import compute

        def quality(image: np.ndarray) -> float:
            return float(compute("quality", image))

    if polyu or rni:
        _warm_up(methods, (polyu[0][1] if polyu else rni[0][1]), log)
    input_psnr = [float(psnr(noisy, clean)) for _, noisy, clean in polyu]
    input_ssim = [float(ssim(noisy, clean)) for _, noisy, clean in polyu]
    rows: list[dict[str, Any]] = [{"label": "input", "psnr": input_psnr, "ssim": input_ssim,
                                   "seconds": 0.0, "megapixels": 0.0}]  # fmt: skip
    rni_rows: list[dict[str, Any]] = [{"label": "input", "quality": [quality(x) for _, x in rni]}]
    shown = _ShownCrops()
    for name, noisy, clean in polyu[:SHOWN_POLYU]:
        shown.add("PolyU " + Path(name).stem, "ground truth", clean, None)
        shown.add("PolyU " + Path(name).stem, "input", noisy, float(psnr(noisy, clean)))
    for (name, noisy), score in zip(rni, rni_rows[0]["quality"], strict=True):
        shown.add("RNI15 " + Path(name).stem, "input", noisy, score)
    for method in methods:
        chosen = polyu[: method.limit] if method.limit is not None else polyu
        row: dict[str, Any] = {"label": method.label, "psnr": [], "ssim": [], "seconds": 0.0,
                               "megapixels": 0.0, "limit": method.limit}  # fmt: skip
        for index, (name, noisy, clean) in enumerate(chosen):
            out, seconds = _timed(method, noisy)
            if index < SHOWN_POLYU:
                shown.add("PolyU " + Path(name).stem, method.label, out, float(psnr(out, clean)))
            row["psnr"].append(float(psnr(out, clean)))
            row["ssim"].append(float(ssim(out, clean)))
            row["seconds"] += seconds
            row["megapixels"] += noisy.shape[0] * noisy.shape[1] / 1e6
            log(f"{method.label} {name}: {row['psnr'][-1]:.2f} dB ({seconds:.1f} s)")
        row["kept"] = dict(method.kept.most_common())
        rows.append(row)
        picked = rni[: method.limit] if method.limit is not None else rni
        scores = []
        for name, noisy in picked:
            out, _ = _timed(method, noisy)
            scores.append(quality(out))
            shown.add("RNI15 " + Path(name).stem, method.label, out, scores[-1])
            log(f"{method.label} RNI15 {name}: quality {scores[-1]:.3f}")
        rni_rows.append({"label": method.label, "quality": scores})
    return {
        "photos": [name for name, _, _ in polyu],
        "rni_photos": [name for name, _ in rni],
        "rows": rows,
        "rni_rows": rni_rows,
        "html": shown.html(),
    }


SHOWN_POLYU = 3
"""PolyU photos whose crops the HTML page shows (every RNI15 photo measured is shown)."""
SHOWN_SIDE = 128
HTML_PAGE = Path("docs") / "real_noise.html"


class _ShownCrops:
    """The centre ``SHOWN_SIDE`` px of each method's output per photo, for the HTML page
    (PNG in data URIs: the page is one self-contained file)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[str, str, float | None]]] = {}

    def add(self, photo: str, label: str, image: np.ndarray, figure: float | None) -> None:
        import base64
        import io

        from PIL import Image as PILImage

        crop = centre_crop(np.clip(image, 0.0, 1.0), SHOWN_SIDE)
        buffer = io.BytesIO()
        PILImage.fromarray((crop * 255.0 + 0.5).astype(np.uint8)).save(buffer, "PNG")
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        self.rows.setdefault(photo, []).append((label, encoded, figure))

    def html(self) -> str:
        from html import escape

        parts = [
            "<!doctype html><meta charset='utf-8'><title>restora: real camera noise</title>",
            "<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;"
            "margin:0 6px 10px 0;text-align:center;font-size:12px}img{width:192px;"
            "image-rendering:pixelated;display:block}</style>",
            "<h1>Real camera noise, side by side</h1>",
            f"<p>Centre {SHOWN_SIDE} px of each method's output (shown at 1.5x, pixels kept "
            "sharp). PolyU: PSNR (dB) against the ground truth; RNI15: the learned no-reference "
            "<code>quality</code> score. Written by <code>restora bench --task real_noise"
            "</code> with its BENCHMARKS.md section.</p>",
        ]
        for photo, cells in self.rows.items():
            parts.append(f"<h2>{escape(photo)}</h2><div>")
            for label, encoded, figure in cells:
                unit = " dB" if photo.startswith("PolyU") else ""
                said = "" if figure is None else f"{figure:.2f}{unit}"
                parts.append(
                    f"<figure><img alt='{escape(label)}' src='data:image/png;base64,{encoded}'>"
                    f"<figcaption>{escape(label)}<br>{said}</figcaption></figure>"
                )
            parts.append("</div>")
        return "\n".join(parts) + "\n"


def gaussian_control(
    data: Path,
    images: int,
    polyu: Sequence[tuple[str, np.ndarray, np.ndarray]],
    log: Any = print,
) -> dict[str, Any]:
    """Part 3 of the module docstring: mean PSNR per method on the white-noise set, and the
    whiteness of its inputs and of the PolyU crops."""
    from restora.agent import RestoreRequest, restore
    from restora.bench.datasets import get_dataset
    from restora.experts import get_expert, names
    from restora.quality import psnr
    from restora.quality.statistics import WHITE_NOISE_MIN_RATIO, noise_whiteness

    dataset = get_dataset(GAUSSIAN_SET, data)
    pairs = [dataset[i] for i in range(min(images, len(dataset)))]
    inputs = [np.clip(p.input, 0.0, 1.0).astype(np.float32) for p in pairs]
    explicit = RestoreRequest(tasks=("denoise",), explicit=True)
    methods: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
        (name, get_expert(name)) for name in (ANCHOR, REAL_NOISE_NETWORK) if name in names()
    ]
    agent = _agent_method("agent, --task denoise", explicit, restore)
    methods.append((agent.label, agent.run))
    rows = [
        {
            "label": "input",
            "psnr": [float(psnr(x, p.target)) for x, p in zip(inputs, pairs, strict=True)],
        }
    ]
    for label, run in methods:
        scores = []
        for x, pair in zip(inputs, pairs, strict=True):
            scores.append(float(psnr(np.clip(run(x), 0.0, 1.0), pair.target)))
            log(f"white-noise control, {label} {pair.name}: {scores[-1]:.2f} dB")
        rows.append({"label": label, "psnr": scores})
    white = [noise_whiteness(x)[0] for x in inputs]
    camera = [noise_whiteness(noisy)[0] for _, noisy, _ in polyu]
    return {
        "dataset": GAUSSIAN_SET,
        "images": len(pairs),
        "rows": rows,
        "agent_kept": dict(agent.kept.most_common()),
        "whiteness": {"gaussian": white, "polyu": camera, "white_from": WHITE_NOISE_MIN_RATIO},
    }


def _control_markdown(control: dict[str, Any]) -> list[str]:
    rows = control["rows"]
    base = float(np.mean(rows[0]["psnr"]))
    white, camera = control["whiteness"]["gaussian"], control["whiteness"]["polyu"]
    kept = ", ".join(f"`{chain}` x {count}" for chain, count in control["agent_kept"].items())
    lines = [
        "",
        f"**White-noise control** (`{control['dataset']}`, the first {control['images']} "
        "images, input clipped to [0, 1]): the same networks and `--task denoise` on Gaussian "
        "noise. Noise whiteness (`restora.quality.statistics.noise_whiteness`, white from "
        f"{control['whiteness']['white_from']:g}): these inputs {min(white):.2f}-{max(white):.2f}, "
        f"the PolyU crops above {min(camera):.2f}-{max(camera):.2f}; for white noise the agent's "
        f"denoising candidate is the Gaussian-trained network (kept: {kept}).",
        "",
        "| method | images | PSNR (dB) | gain (dB) |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        mean = float(np.mean(row["psnr"]))
        gain = "-" if row["label"] == "input" else _number(mean - base, 2, True)
        lines.append(f"| {row['label']} | {len(row['psnr'])} | {mean:.2f} | {gain} |")
    return lines


def summarise(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per row: photos, mean PSNR/SSIM, mean/worst gain over the input on its own photos,
    photos below the input, s/MP and the ratio to the anchor's s/MP."""
    base_psnr = results["rows"][0]["psnr"]
    base_ssim = results["rows"][0]["ssim"]
    speeds = {
        r["label"]: r["seconds"] / r["megapixels"] for r in results["rows"] if r["megapixels"]
    }
    anchor = speeds.get(ANCHOR)
    out = []
    for row in results["rows"]:
        count = len(row["psnr"])
        gains = [p - b for p, b in zip(row["psnr"], base_psnr, strict=False)]
        speed = speeds.get(row["label"])
        out.append({
            "label": row["label"],
            "photos": count,
            "psnr": float(np.mean(row["psnr"])) if count else float("nan"),
            "ssim": float(np.mean(row["ssim"])) if count else float("nan"),
            "input_psnr": float(np.mean(base_psnr[:count])) if count else float("nan"),
            "input_ssim": float(np.mean(base_ssim[:count])) if count else float("nan"),
            "gain": float(np.mean(gains)) if gains else float("nan"),
            "worst_gain": float(min(gains)) if gains else float("nan"),
            "below_input": sum(g < 0 for g in gains),
            "s_per_mp": speed,
            "x_anchor": speed / anchor if speed is not None and anchor else None,
            "kept": row.get("kept", {}),
        })  # fmt: skip
    return out


def _number(value: float | None, digits: int, signed: bool = False) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def to_markdown(
    results: dict[str, Any], command: str, machine: str, seconds: float, crop: int
) -> str:
    rows = summarise(results)
    photos = len(results["photos"])
    scenes = sorted({scene_of(n) for n in results["photos"]})
    limited = [r for r in rows if r["photos"] and r["photos"] < photos]
    lines = [
        "## Real camera noise",
        "",
        f"Written by `{command}` on {machine}; the run took {seconds:.0f} s. One torch thread "
        "(`torch.set_num_threads(1)`); seconds per megapixel are wall clock per call after one "
        f"untimed warm-up call (model loading left out), x {ANCHOR}: over {ANCHOR}'s s/MP in "
        "the same run.",
        "",
        f"**PolyU, held-out scenes** (`real_train/noise`, ground truth `real_train/noise_gt`): "
        f"scenes with `zlib.crc32(scene) % 100 < {HELD_OUT_PERCENT}` are held out of training "
        f"({', '.join(scenes) or 'none'}); {photos} photos, one per scene in turn, centre crops "
        f"of {crop}x{crop} to bound the time. CBM3D's sigma is "
        f"{CBM3D_SIGMA_FACTOR:g} x `estimate_noise_sigma_pca(img, scale=2, weak_texture=False)` "
        "(8-bit units, passed as the expert's `sigma`); ffdnet, nafnet_denoise and "
        "maxim_denoise are blind (their own estimate or none). Gains are over the input on the "
        "same photos.",
    ]
    if limited:
        lines[-1] += " " + "; ".join(
            f"{r['label']} ran on the first {r['photos']} photos only (it is slow), its input "
            f"there: {r['input_psnr']:.2f} dB / {r['input_ssim']:.4f}"
            for r in limited
        ) + "."  # fmt: skip
    lines += [
        "",
        "| method | photos | PSNR (dB) | SSIM | gain (dB) | worst gain (dB) | below input | "
        f"s/MP | x {ANCHOR} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        first = r["label"] == "input"
        lines.append(
            f"| {r['label']} | {r['photos']} | {_number(r['psnr'], 2)} | "
            f"{_number(r['ssim'], 4)} | {'-' if first else _number(r['gain'], 2, True)} | "
            f"{'-' if first else _number(r['worst_gain'], 2, True)} | "
            f"{'-' if first else r['below_input']} | {_number(r['s_per_mp'], 1)} | "
            f"{_number(r['x_anchor'], 2)} |"
        )
    agents = [r for r in rows if r["kept"]]
    if agents:
        lines += [""] + [
            f"{r['label']} kept: "
            + ", ".join(f"`{chain}` x {count}" for chain, count in r["kept"].items())
            + " (PolyU photos)."
            for r in agents
        ]
    if results.get("gaussian_control"):
        lines += _control_markdown(results["gaussian_control"])
    rni = results["rni_rows"]
    names = results["rni_photos"]
    lines += [
        "",
        f"**RNI15** (`test/RNI15`, real noisy photos, no ground truth): the learned "
        f"no-reference `quality` score (higher is better) of the input and of each method's "
        f"output on the first {len(names)} photos, centre crops of {crop}x{crop}. The crops "
        f"side by side: [{HTML_PAGE}]({HTML_PAGE}).",
        "",
        "| method | " + " | ".join(Path(n).stem for n in names) + " | mean | change |",
        "|---|" + "---:|" * (len(names) + 2),
    ]
    base = rni[0]["quality"] if rni else []
    for row in rni:
        scores = row["quality"]
        cells = [_number(s, 3) for s in scores] + ["-"] * (len(names) - len(scores))
        mean = float(np.mean(scores)) if scores else float("nan")
        change = float(np.mean([s - b for s, b in zip(scores, base, strict=False)])) if scores \
            else float("nan")  # fmt: skip
        lines.append(
            f"| {row['label']} | " + " | ".join(cells) + f" | {_number(mean, 3)} | "
            f"{'-' if row['label'] == 'input' else _number(change, 3, True)} |"
        )
    return "\n".join(lines) + "\n"


def benchmark(
    data_dir: Path | None,
    quick: bool,
    photos: int | None = None,
    maxim_photos: int | None = None,
    rni_photos: int | None = None,
    crop: int | None = None,
    command: str | None = None,
    gaussian_images: int | None = None,
) -> BenchmarkOutcome:
    """The registered ``real_noise`` benchmark (``restora bench --task real_noise``)."""
    import torch

    from restora.bench.report import machine_description
    from restora.paths import data_dir as find_data_dir

    sizes = QUICK if quick else FULL
    side = crop or sizes["crop"]
    data = find_data_dir(data_dir)
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        polyu = load_polyu(data, photos or sizes["photos"], side)
        rni = load_rni15(data, rni_photos if rni_photos is not None else sizes["rni_photos"], side)
        methods = default_methods(maxim_photos if maxim_photos is not None
                                  else sizes["maxim_photos"])  # fmt: skip
        results = measure(polyu, rni, methods, log)
        count = sizes["gaussian_images"] if gaussian_images is None else gaussian_images
        if count > 0:
            results["gaussian_control"] = gaussian_control(data, count, polyu, log)
    finally:
        torch.set_num_threads(threads)
    results["summary"] = summarise(results)
    results["crop"] = side
    page = results.pop("html")
    text = to_markdown(results, command or default_command("real_noise", quick),
                       machine_description(), time.perf_counter() - start, side)  # fmt: skip
    return BenchmarkOutcome("real_noise", text, results, ((HTML_PAGE, page),))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--photos", type=int, default=None)
    parser.add_argument("--maxim-photos", type=int, default=None)
    parser.add_argument("--rni-photos", type=int, default=None)
    parser.add_argument("--crop", type=int, default=None)
    parser.add_argument("--gaussian-images", type=int, default=None)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    outcome = run_named(
        "real_noise",
        args.data,
        args.quick,
        write=args.write,
        photos=args.photos,
        maxim_photos=args.maxim_photos,
        rni_photos=args.rni_photos,
        crop=args.crop,
        gaussian_images=args.gaussian_images,
        command=command_line("restora.bench.real_noise", argv),
    )
    print(outcome.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
