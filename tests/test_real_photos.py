"""restora.bench.real_photos: recall per type and clean false alarms, on a fake data folder made
here and a stub analyzer (no ../shared/data, no model)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from restora.types import Analysis, Degradation, QualityScore

SHADES: dict[float, tuple[str, ...]] = {
    0.1: ("noise",),
    0.3: ("haze", "reflection"),
    0.5: (),
    0.7: ("rain",),
}
"""The stub's answer for each flat grey level the test paints."""


class ShadeAnalyzer:
    """Answers by the image's mean grey level (see SHADES)."""

    def analysis(self, image: np.ndarray) -> Analysis:
        level = min(SHADES, key=lambda v: abs(v - float(image.mean())))
        found = tuple(Degradation(t, 0.5, 0.8) for t in SHADES[level])
        return Analysis(found, "stub", QualityScore(50.0, "fair"))


def paint(path: Path, level: float) -> None:
    from restora.io import Image, save

    save(Image(np.full((24, 32, 3), level, np.float32)), path)


@pytest.fixture()
def fake_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    real = data / "real"
    listed = [
        ("noise/n1.png", "noise", 0.1),  # found
        ("noise/n2.png", "noise", 0.5),  # missed (called clean)
        ("noise/n3.png", "noise", 0.3),  # missed: haze + reflection instead
        ("haze/h1.png", "haze", 0.3),  # found, with reflection as well
        ("clean/c1.png", "clean", 0.5),  # clean, called clean
        ("clean/c2.png", "clean", 0.7),  # false alarm: rain
    ]
    for name, _, level in listed:
        paint(real / name, level)
    (real / "rain").mkdir()
    (real / "rain" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    rows = ["file,type,source,has_gt"] + [f"{n},{t},test@0:x,0" for n, t, _ in listed]
    rows.append("rain/broken.png,rain,test@0:x,0")
    (real / "labels.csv").write_text("\n".join(rows) + "\n")
    # older real sets and a clean test set
    paint(data / "test" / "RNI15" / "a.png", 0.1)
    paint(data / "test" / "RNI15" / "b.png", 0.5)
    (data / "test" / "RNI15" / "notes.txt").write_text("not an image")
    paint(data / "test" / "Rain100H_subset" / "input" / "1.png", 0.7)
    for index, level in enumerate((0.5, 0.5, 0.5, 0.1)):
        paint(data / "test" / "CBSD68" / f"{index}.png", level)
    return data


def test_recall_false_alarms_and_what_is_reported_instead(fake_data: Path) -> None:
    from restora.bench.real_photos import evaluate

    lines: list[str] = []
    results = evaluate(ShadeAnalyzer(), fake_data, log=lines.append)
    real, older = results["real"], results["older"]

    assert real["photos"] == {"noise": 3, "haze": 1, "clean": 2}
    assert real["found"] == {"noise": 1, "haze": 1, "clean": 1}
    assert real["recall"] == {"noise": pytest.approx(1 / 3), "haze": 1.0}
    assert real["mean_recall"] == pytest.approx((1 / 3 + 1.0) / 2)
    assert real["false_alarms"] == pytest.approx(0.5) and real["clean_photos"] == 2
    assert real["instead"]["noise"] == {"haze": 1, "reflection": 1}
    assert real["instead"]["haze"] == {"reflection": 1}
    assert real["instead"]["clean"] == {"rain": 1}

    assert older["photos"] == {"noise": 2, "rain": 1, "clean": 4}
    assert older["recall"] == {"noise": 0.5, "rain": 1.0}
    assert older["false_alarms"] == pytest.approx(0.25)
    assert older["sets"] == ["test/CBSD68", "test/RNI15", "test/Rain100H_subset/input"]

    # the unreadable photo is logged and listed, not counted and not fatal
    assert [u["file"] for u in results["unreadable"]] == ["real/rain/broken.png"]
    assert "rain" not in real["photos"]
    assert len(results["rows"]) == 6 + 7 and len(lines) == 6 + 7 + 1
    assert sum(line.startswith("MISS") for line in lines) == 5


def test_limit_caps_each_set_and_type(fake_data: Path) -> None:
    from restora.bench.real_photos import evaluate

    results = evaluate(ShadeAnalyzer(), fake_data, log=lambda line: None, limit=1)
    assert results["real"]["photos"] == {"noise": 1, "haze": 1, "clean": 1}
    assert results["older"]["photos"] == {"noise": 1, "rain": 1, "clean": 1}


def test_markdown_table(fake_data: Path) -> None:
    from restora.bench.real_photos import evaluate, to_markdown

    text = to_markdown(evaluate(ShadeAnalyzer(), fake_data, log=lambda line: None), "stub")
    lines = text.splitlines()
    assert lines[0] == "**stub**"
    real_row = next(line for line in lines if line.startswith("| `real/`"))
    cells = [c.strip() for c in real_row.strip("|").split("|")]
    # noise blur motion_blur jpeg haze rain low_light reflection mean alarms
    assert cells[1:] == ["1/3", "-", "-", "-", "1/1", "-", "-", "-", "67 %", "50 % of 2"]
    assert "(6 photos)" in cells[0]
    assert "1 photos could not be read" in text


def test_a_data_folder_without_real_photos_gives_empty_figures(tmp_path: Path) -> None:
    from restora.bench.real_photos import evaluate, to_markdown

    results = evaluate(ShadeAnalyzer(), tmp_path, log=lambda line: None)
    assert results["rows"] == [] and math.isnan(results["real"]["mean_recall"])
    assert "| - | - |" in to_markdown(results, "nothing")


def test_the_analyze_benchmark_renders_the_real_photo_table() -> None:
    """The section of BENCHMARKS.md carries the real-photo figures next to the synthetic ones."""
    from restora.bench.perception import render

    part = {
        "recall": {"noise": 0.5},
        "found": {"noise": 1, "clean": 2},
        "photos": {"noise": 2, "clean": 2},
        "instead": {},
        "mean_recall": 0.5,
        "false_alarms": 0.0,
        "clean_photos": 2,
    }
    synthetic = {
        "images": 1,
        "single_samples": 9,
        "nine_class_accuracy": 1.0,
        "four_class_accuracy": 1.0,
        "per_class_accuracy": {"None": 1.0},
        "mixed_samples": 1,
        "mixed_exact_set_accuracy": 1.0,
        "per_type": {},
    }
    results = {
        "synthetic": synthetic,
        "real_photos": {"rows": [], "unreadable": [], "real": part, "older": part},
        "real": [],
        "live": {"images": 3, "srcc": 0.5, "plcc": 0.5},
        "speed": {"analyse_seconds": 1.0, "decode_png_seconds": 0.5},
    }
    text = render(results, "a test machine")
    assert "4-class accuracy" in text and "Recall per type on real photos" in text
    assert "| `real/` (4 photos) | 1/2 |" in text
    assert "Leave one source out" not in text  # no training record given
    assert "| from-scratch tower (synthetic data only) | 1488d28 |" in text
    source = {"type": "noise", "photos": 4, "recall": 0.25}
    results["record"] = {"leave_one_source_out": {"real:A": source, "mean_recall": 0.25}}
    text = render(results, "a test machine")
    assert "mean recall 25 %" in text and "| real:A | noise | 4 | 25 % |" in text
