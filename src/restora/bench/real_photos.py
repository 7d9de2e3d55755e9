"""The analyzer on REAL photos: does it see the damage cameras and weather make?

    python -m restora.bench.real_photos [--weights W] [--json out.json]

Every photo's degradation type is known from its source (``<data>/real/labels.csv``; the older
real sets: RNI15 and RNI6 real noise, the Restormer defocus portraits, the Rain100H/L inputs,
the GoPro demo frame). For each type it reports the **recall** (the share of its photos where
the analyzer reports that type) and what it reports instead; on clean photos (``real/clean``
and the clean test sets CBSD68, Set5, Set14, Urban100) the **false-alarm rate** (the share
where it reports anything). These photos are for evaluation and for calibrating decision
thresholds only, never for training weights.
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

    @property
    def recall(self) -> float:
        return self.found / self.photos if self.photos else float("nan")


def labelled_photos(data: Path, clean_limit: int = 30) -> list[tuple[Path, str, str]]:
    """(path, type or "clean", set name) for every photo of the evaluation."""
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
        chosen = [p for p in sorted((data / folder).glob(pattern)) if p.suffix in IMAGE_SUFFIXES]
        photos += [(p, "clean", folder) for p in chosen[:clean_limit]]
    return photos


def evaluate(analyzer: Any, data: Path, log: Any = print) -> dict[str, Any]:
    """Recall per type and false alarms, separately for ``real/`` and for the other sets."""
    from restora.io import load

    groups: dict[str, dict[str, Tally]] = {"real": {}, "older": {}}
    rows = []
    for path, kind, origin in labelled_photos(data):
        image = load(path)
        analysis = analyzer.analysis(image.rgb)
        found = [d.type for d in analysis.degradations]
        group = groups["real" if origin == "real" else "older"]
        tally = group.setdefault(kind, Tally())
        tally.photos += 1
        hit = (not found) if kind == "clean" else (kind in found)
        tally.found += hit
        tally.instead.update(t for t in found if t != kind)
        rows.append({"file": str(path.relative_to(data)), "type": kind, "found": found})
        log(f"{'ok ' if hit else 'MISS'} {kind:12s} {path.relative_to(data)}: {found}")
    out: dict[str, Any] = {"rows": rows}
    for name, group in groups.items():
        types = [t for t in DEGRADATION_TYPES if t in group]
        recalls = [group[t].recall for t in types]
        clean = group.get("clean")
        out[name] = {
            "recall": {t: group[t].recall for t in types},
            "photos": {t: group[t].photos for t in group},
            "instead": {t: dict(group[t].instead.most_common(3)) for t in group},
            "mean_recall": sum(recalls) / len(recalls) if recalls else float("nan"),
            "false_alarms": (1.0 - clean.recall) if clean else float("nan"),
            "clean_photos": clean.photos if clean else 0,
        }
    return out


def to_markdown(results: dict[str, Any], title: str) -> str:
    lines = [f"**{title}**", "", "| set | " + " | ".join(DEGRADATION_TYPES) + " | mean recall | clean false alarms |",
             "|---|" + "---:|" * (len(DEGRADATION_TYPES) + 2)]  # fmt: skip
    for name in ("real", "older"):
        part = results[name]
        cells = []
        for t in DEGRADATION_TYPES:
            if t in part["recall"]:
                found = round(part["recall"][t] * part["photos"][t])
                cells.append(f"{found}/{part['photos'][t]}")
            else:
                cells.append("-")
        alarms = part["false_alarms"]
        alarm = f"{100 * alarms:.0f} % of {part['clean_photos']}" if part["clean_photos"] else "-"
        label = (
            "`real/` (73 photos, 8 sources)"
            if name == "real"
            else "older real sets, clean test sets"
        )
        lines.append(f"| {label} | " + " | ".join(cells) +
                     f" | {100 * part['mean_recall']:.0f} % | {alarm} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from restora.paths import data_dir
    from restora.perception import get_analyzer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    results = evaluate(get_analyzer(args.weights), data_dir(args.data),
                       log=lambda line: print(line, file=sys.stderr))  # fmt: skip
    print(to_markdown(results, f"analyzer {args.weights or 'shipped'}"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
