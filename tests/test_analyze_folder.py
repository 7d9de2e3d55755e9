"""``restora analyze DIR``: every photo under a folder, a bad file skipped, JSON, CSV, summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from restora.vocabulary import DEGRADATION_TYPES

CONTRACT_KEYS = {"degradations", "caption", "quality"}


@pytest.fixture()
def photo_folder(tmp_path: Path, small_rgb: np.ndarray) -> Path:
    """Three readable photos (one in a subfolder, one an upper-case suffix), one corrupt file,
    and files the search must pass over (hidden, not an image)."""
    from restora.io import Image, save

    folder = tmp_path / "photos"
    save(Image(small_rgb), folder / "b.png")
    save(Image(np.ascontiguousarray(small_rgb[:64, :64])), folder / "sub" / "a.jpg", quality=30)
    save(Image(np.ascontiguousarray(small_rgb[::-1])), folder / "C.PNG")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 8)
    save(Image(small_rgb), folder / ".hidden.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from restora.cli import main

    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def analyze_args(target: Path, tiny_weights: Path, *extra: str) -> list[str]:
    return ["analyze", str(target), "--weights", str(tiny_weights), "--device", "cpu", *extra]


def test_images_under_is_recursive_sorted_and_skips_hidden(photo_folder: Path) -> None:
    from restora.cli.analyze import images_under

    found = [p.relative_to(photo_folder).as_posix() for p in images_under(photo_folder)]
    assert found == ["C.PNG", "b.png", "broken.jpg", "sub/a.jpg"]


def test_folder_json_has_one_object_per_photo_and_a_summary(
    photo_folder: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(analyze_args(photo_folder, tiny_weights, "--json"), capsys)
    assert code == 0
    payload = json.loads(out)  # stdout holds the one JSON object and nothing else
    files = payload["files"]
    assert [Path(f["file"]).relative_to(photo_folder).as_posix() for f in files] == [
        "C.PNG",
        "b.png",
        "sub/a.jpg",
    ]
    for entry in files:
        assert set(entry) >= CONTRACT_KEYS | {"file"}
        assert entry["quality"]["level"] in ("excellent", "good", "fair", "poor", "bad")
    # the q30 JPEG's own tables say what it is, whatever the random tiny weights see
    jpeg = files[2]
    assert jpeg["file_signals"]["jpeg_quality"] == 30
    assert "jpeg" in [d["type"] for d in jpeg["degradations"]]
    summary = payload["summary"]
    assert (summary["photos"], summary["analysed"], summary["unreadable"]) == (4, 3, 1)
    assert set(summary["by_type"]) == set(DEGRADATION_TYPES)
    assert summary["by_type"]["jpeg"] >= 1
    assert summary["clean"] == sum(not f["degradations"] for f in files)
    assert [Path(e["file"]).name for e in summary["errors"]] == ["broken.jpg"]
    assert "broken.jpg" in err and "skipped" in err and "Traceback" not in err


def test_folder_text_gives_a_line_per_photo_and_the_summary(
    photo_folder: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(analyze_args(photo_folder, tiny_weights), capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(str(photo_folder / "C.PNG") + ": ")
    assert lines[2].startswith(str(photo_folder / "sub" / "a.jpg") + ": ")
    assert "jpeg" in lines[2].split(" - ")[0]
    assert lines[-1].startswith("3 photos analysed: ")
    assert lines[-1].endswith("; 1 could not be read.")
    assert "broken.jpg" in err


def test_summary_line_counts_types_and_clean_photos() -> None:
    from restora.cli.analyze import summary_of

    def entry(*types: str) -> dict[str, object]:
        return {"degradations": [{"type": t} for t in types]}

    summary = summary_of(
        [entry("blur"), entry("blur", "noise"), entry(), entry("blur")],
        [{"file": "x.jpg", "error": "cannot decode"}],
    )
    assert summary["text"] == "4 photos analysed: 3 blurry, 1 noisy, 1 clean; 1 could not be read."
    assert summary["by_type"]["blur"] == 3 and summary["clean"] == 1
    assert summary_of([entry()], [])["text"] == "1 photo analysed: 1 clean."


def test_folder_csv_has_a_row_per_photo_and_is_never_replaced_silently(
    photo_folder: Path, tiny_weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "out" / "analysis.csv"
    code, _, _ = run_cli(analyze_args(photo_folder, tiny_weights, "--csv", str(table)), capsys)
    assert code == 0
    with table.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(r["file"]).name for r in rows] == ["C.PNG", "b.png", "broken.jpg", "a.jpg"]
    assert rows[2]["error"] and not rows[2]["caption"]
    assert rows[3]["jpeg_quality"] == "30" and "jpeg" in rows[3]["types"].split(";")
    assert rows[3]["jpeg"] == f"{(95 - 30) / 90:.3f}"
    assert all(r["caption"] and r["level"] and not r["error"] for r in rows if r is not rows[2])
    before = table.read_bytes()

    code, _, err = run_cli(analyze_args(photo_folder, tiny_weights, "--csv", str(table)), capsys)
    assert code == 2 and "already exists" in err and table.read_bytes() == before
    code, _, _ = run_cli(
        analyze_args(photo_folder, tiny_weights, "--csv", str(table), "--overwrite"), capsys
    )
    assert code == 0
    assert not [p for p in table.parent.iterdir() if p.name.startswith(".")]  # no temporaries


@pytest.mark.parametrize("name", ["b.png", "report.png"])
def test_csv_may_not_be_an_input_or_an_image_name(
    photo_folder: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    target = photo_folder / name
    before = target.read_bytes() if target.exists() else None
    args = analyze_args(photo_folder, tiny_weights, "--csv", str(target), "--overwrite")
    code, out, err = run_cli(args, capsys)
    assert code == 2 and out == "" and err.startswith("restora: error: ")
    assert (target.read_bytes() if target.exists() else None) == before


def test_folder_where_nothing_can_be_read_fails(
    tmp_path: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "one.jpg").write_bytes(b"garbage" * 20)
    (folder / "two.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    code, out, err = run_cli(analyze_args(folder, tiny_weights, "--json"), capsys)
    assert code == 2 and out == ""
    assert "none of the 2 image files could be read" in err


def test_folder_without_images_fails(
    tmp_path: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "readme.txt").write_text("no photos here")
    code, _, err = run_cli(analyze_args(folder, tiny_weights), capsys)
    assert code == 2 and "no images found" in err


def test_single_file_json_shape_is_unchanged(
    tmp_path: Path, tiny_weights: Path, small_rgb: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    from restora.io import Image, save

    path = save(Image(small_rgb), tmp_path / "one.png")
    table = tmp_path / "one.csv"
    code, out, _ = run_cli(analyze_args(path, tiny_weights, "--json", "--csv", str(table)), capsys)
    assert code == 0
    payload = json.loads(out)
    assert set(payload) >= CONTRACT_KEYS | {"file"} and "files" not in payload
    assert "file_signals" not in payload  # a PNG without EXIF says nothing about itself
    with table.open(encoding="utf-8") as handle:
        assert [r["file"] for r in csv.DictReader(handle)] == [str(path)]
