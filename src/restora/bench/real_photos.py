"""The analyzer on REAL photos: does it see the damage cameras and weather make?

    python -m restora.bench.real_photos [--weights W] [--json out.json]
    python -m restora.bench.real_photos --weights W --calibrate   # thresholds for real photos

Every photo's degradation type is known from its source (``<data>/real/labels.csv``; the older
real sets: RNI15 and RNI6 real noise, the Restormer defocus portraits, the Rain100H/L inputs,
the GoPro demo frame). For each type it reports the **recall** (the share of its photos where
the analyzer reports that type) and the other types it reports; on clean photos
(``real/clean`` and the clean test sets CBSD68, Set5, Set14, Urban100) the **false-alarm rate**
(the share where it reports anything). Each photo is analysed the way ``restora analyze``
analyses a file (:func:`restora.perception.analyze` on the loaded image, so what the file says
about itself, a JPEG's quantisation tables, counts). These photos are for evaluation and for
calibrating decision thresholds only, never for training weights.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from restora.vocabulary import DEGRADATION_TYPES

OLDER_SETS: dict[str, tuple[str, str]] = {
    "test/RNI15": ("noise", "*.*"),
    "test/RNI6": ("noise", "*.*"),
    "demo/Restormer_defocus": ("blur", "*.jpg"),
    "test/Rain100H_subset/input": ("rain", "*.png"),
    "test/Rain100L_subset/input": ("rain", "*.png"),
}
"""Older real sets: folder under the data folder -> (type, file pattern)."""

CLEAN_SETS: dict[str, str] = {
    "test/CBSD68": "*.png",
    "test/Set5/HR": "*.png",
    "test/Set14": "*.png",
    "test/Urban100_subset/HR": "*.png",
}
"""Clean photos for the false-alarm rate (the real/clean triplet members are added)."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass
class Tally:
    """Per type: how many photos, how many found, and what was reported instead."""

    photos: int = 0
    found: int = 0
    instead: Counter[str] = field(default_factory=Counter)
    """Types reported other than the photo's own (for a clean photo: every type reported)."""

    @property
    def recall(self) -> float:
        return self.found / self.photos if self.photos else float("nan")


def labelled_photos(
    data: Path, clean_limit: int = 30, limit: int | None = None
) -> list[tuple[Path, str, str]]:
    """(path, type or "clean", set name) for every photo of the evaluation: at most
    ``clean_limit`` per clean set, and at most ``limit`` per set and type when given (a quick
    run)."""
    photos: list[tuple[Path, str, str]] = []
    labels = data / "real" / "labels.csv"
    if labels.is_file():
        with labels.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                photos.append((data / "real" / row["file"], row["type"], "real"))
    for folder, (kind, pattern) in OLDER_SETS.items():
        for path in sorted((data / folder).glob(pattern)):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                photos.append((path, kind, folder))
    for folder, pattern in CLEAN_SETS.items():
        chosen = [
            p for p in sorted((data / folder).glob(pattern)) if p.suffix.lower() in IMAGE_SUFFIXES
        ]
        photos += [(p, "clean", folder) for p in chosen[:clean_limit]]
    if limit is not None:
        taken: Counter[tuple[str, str]] = Counter()
        kept = []
        for path, kind, origin in photos:
            taken[origin, kind] += 1
            if taken[origin, kind] <= limit:
                kept.append((path, kind, origin))
        photos = kept
    return photos


def evaluate(
    analyzer: Any, data: Path, log: Any = print, limit: int | None = None
) -> dict[str, Any]:
    """Recall per type and false alarms, separately for ``real/`` and for the other sets.

    ``analyzer`` is anything with ``.analysis(array) -> Analysis``; each photo goes through
    :func:`restora.perception.analyze` with it, as ``restora analyze`` does. A photo that
    cannot be read is logged, listed under ``unreadable`` and left out of the counts.
    ``limit``: at most this many photos per set and type (see :func:`labelled_photos`)."""
    from restora.errors import InputError
    from restora.io import load
    from restora.perception import analyze

    groups: dict[str, dict[str, Tally]] = {"real": {}, "older": {}}
    rows = []
    unreadable = []
    for path, kind, origin in labelled_photos(data, limit=limit):
        name = path.relative_to(data).as_posix()
        try:
            image = load(path)
        except InputError as exc:
            unreadable.append({"file": name, "error": str(exc)})
            log(f"SKIP {kind:12s} {name}: {exc}")
            continue
        analysis = analyze(image, analyzer=analyzer)
        found = [d.type for d in analysis.degradations]
        group = groups["real" if origin == "real" else "older"]
        tally = group.setdefault(kind, Tally())
        tally.photos += 1
        hit = (not found) if kind == "clean" else (kind in found)
        tally.found += hit
        tally.instead.update(t for t in found if t != kind)
        rows.append({"file": name, "set": origin, "type": kind, "found": found})
        log(f"{'ok ' if hit else 'MISS'} {kind:12s} {name}: {found}")
    out: dict[str, Any] = {"rows": rows, "unreadable": unreadable}
    for name, group in groups.items():
        types = [t for t in DEGRADATION_TYPES if t in group]
        recalls = [group[t].recall for t in types]
        clean = group.get("clean")
        out[name] = {
            "recall": {t: group[t].recall for t in types},
            "found": {t: group[t].found for t in group},
            "photos": {t: group[t].photos for t in group},
            "instead": {t: dict(group[t].instead.most_common(3)) for t in group},
            "mean_recall": sum(recalls) / len(recalls) if recalls else float("nan"),
            "false_alarms": (1.0 - clean.recall) if clean else float("nan"),
            "clean_photos": clean.photos if clean else 0,
            "sets": sorted({r["set"] for r in rows if (r["set"] == "real") == (name == "real")}),
        }
    return out


def photo_probabilities(analyzer: Any, paths: list[Path]) -> np.ndarray:
    """(N, types) presence probabilities of the model alone (no file signals) per photo."""
    from restora.io import load

    return np.stack([analyzer.predict(load(path).rgb).probabilities for path in paths])


def calibrate(weights: Path, data: Path, budgets: Any = None, log: Any = print) -> dict[str, Any]:
    """Choose the decision thresholds of ``weights`` for real photos and write them into the
    JSON beside the weights (atomically), keeping the trained ones as ``trained_thresholds``.

    Positives and cross negatives: the labelled photos of ``<data>/real``. Clean negatives: the
    photos of ``train/`` held out of the analyzer's training (its validation split) and
    ``real/clean``. The older real sets and the clean test sets stay out, so
    :func:`evaluate` on them is a check the calibration never saw. See
    :mod:`restora.training.thresholds` for the rule."""
    from dataclasses import asdict

    from restora.io import write_bytes_atomic
    from restora.perception.analyzer import Analyzer
    from restora.training.analyzer import split_training_images
    from restora.training.thresholds import Budgets, choose_thresholds, leave_one_out_hits

    budgets = budgets or Budgets()
    config_path = weights.with_suffix(".json")
    meta = json.loads(config_path.read_text())
    trained = np.asarray(meta.get("trained_thresholds", meta["thresholds"]), np.float32)
    analyzer = Analyzer(weights)
    analyzer.thresholds = trained
    types = list(analyzer.config.types)
    real = [(p, kind) for p, kind, origin in labelled_photos(data) if origin == "real"]
    _, held_out = split_training_images(data, meta["train"].get("val_fraction", 0.08))
    clean_paths = held_out + [p for p, kind in real if kind == "clean"]
    degraded = [(p, kind) for p, kind in real if kind in types]
    log(f"calibrating on {len(degraded)} real photos and {len(clean_paths)} clean photos")
    real_probs = photo_probabilities(analyzer, [p for p, _ in degraded])
    negatives = photo_probabilities(analyzer, clean_paths)
    labels = np.array([types.index(kind) for _, kind in degraded])
    positives = {j: real_probs[labels == j, j] for j in range(len(types)) if (labels == j).any()}
    cross = {j: real_probs[labels != j, j] for j in range(len(types))}
    thresholds = choose_thresholds(positives, negatives, cross, trained, budgets)
    held_hits = leave_one_out_hits(positives, negatives, cross, trained, budgets)

    def recall(limits: np.ndarray) -> dict[str, float]:
        return {
            types[j]: round(float((found >= limits[j]).mean()), 4) for j, found in positives.items()
        }

    meta["trained_thresholds"] = [round(float(t), 4) for t in trained]
    meta["thresholds"] = [round(float(t), 4) for t in thresholds]
    meta["calibration"] = {
        "what": "decision thresholds only; no weights were fitted to these photos",
        "positives": "real/ labelled photos: "
        + ", ".join(f"{types[j]} {len(v)}" for j, v in positives.items()),
        "clean": f"{len(held_out)} train/ photos held out of training + "
        f"{len(clean_paths) - len(held_out)} real/clean",
        "budgets": asdict(budgets),
        "recall_trained_thresholds": recall(trained),
        "recall_in_sample": recall(thresholds),
        "recall_leave_one_out": {
            types[j]: round(held_hits[j] / len(positives[j]), 4) for j in positives
        },
        "clean_false_alarms": round(float((negatives >= thresholds).any(axis=1).mean()), 4),
    }
    write_bytes_atomic(config_path, (json.dumps(meta, indent=2) + "\n").encode(), overwrite=True)
    return meta


def to_markdown(results: dict[str, Any], title: str) -> str:
    lines = [f"**{title}**", "", "| set | " + " | ".join(DEGRADATION_TYPES) + " | mean recall | clean false alarms |",
             "|---|" + "---:|" * (len(DEGRADATION_TYPES) + 2)]  # fmt: skip
    for name in ("real", "older"):
        part = results[name]
        cells = []
        for t in DEGRADATION_TYPES:
            if t in part["recall"]:
                found = (
                    part["found"][t]
                    if "found" in part
                    else round(part["recall"][t] * part["photos"][t])
                )
                cells.append(f"{found}/{part['photos'][t]}")
            else:
                cells.append("-")
        alarms = part["false_alarms"]
        alarm = f"{100 * alarms:.0f} % of {part['clean_photos']}" if part["clean_photos"] else "-"
        count = sum(part["photos"].values())
        label = (
            f"`real/` ({count} photos)"
            if name == "real"
            else f"older real sets, clean test sets ({count} photos)"
        )
        mean = part["mean_recall"]
        recall = f"{100 * mean:.0f} %" if mean == mean else "-"  # NaN: no degraded photos
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {recall} | {alarm} |")
    if results.get("unreadable"):
        lines += ["", f"{len(results['unreadable'])} photos could not be read and are not counted."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from restora.paths import data_dir
    from restora.perception import get_analyzer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="choose the thresholds of --weights for real photos (writes its JSON), then evaluate",
    )
    args = parser.parse_args(argv)
    if args.calibrate:
        if args.weights is None:
            parser.error("--calibrate needs --weights (the shipped weights are not rewritten)")
        meta = calibrate(args.weights, data_dir(args.data),
                         log=lambda line: print(line, file=sys.stderr))  # fmt: skip
        print(json.dumps(meta["calibration"], indent=2), file=sys.stderr)
    results = evaluate(get_analyzer(args.weights), data_dir(args.data),
                       log=lambda line: print(line, file=sys.stderr))  # fmt: skip
    print(to_markdown(results, f"analyzer {args.weights or 'shipped'}"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
