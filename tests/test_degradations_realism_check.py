"""The realism check (restora.bench.realism) on a tiny stand-in data folder, and its
statistics on images whose answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from restora.bench import realism


def _save(path: Path, image: np.ndarray, **options: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path, **options)


@pytest.fixture()
def tiny_data(tmp_path: Path, astronaut: np.ndarray) -> Path:
    crops = [
        np.ascontiguousarray(astronaut[y : y + 96, x : x + 128])
        for y, x in ((0, 0), (200, 150), (380, 300))
    ]
    for index, crop in enumerate(crops):
        _save(tmp_path / "test" / "CBSD68" / f"{index}.png", crop)
        noisy = crop + np.random.default_rng(index).normal(0, 0.03, crop.shape)
        _save(tmp_path / "real" / "noise" / f"{index}.png", noisy)
        _save(tmp_path / "real" / "haze" / f"{index}.png", 0.5 * crop + 0.45)
        _save(
            tmp_path / "iqa" / "LIVE_Challenge_subset" / "Images" / f"{index}.JPG", crop, quality=75
        )
    return tmp_path


def test_run_gives_one_row_per_statistic_and_real_set(tiny_data: Path) -> None:
    rows = realism.run(tiny_data, images=3, types=["noise", "haze", "jpeg"])
    assert {row["type"] for row in rows} == {"noise", "haze", "jpeg"}
    for row in rows:
        assert row["closer"] in ("classic", "realistic")
        assert row["measures"] in ("level", "appearance")
        assert len(row["real"]) == 4 and row["real"][3] >= 1
    table = realism.format_table(rows)
    assert table.startswith("| type | statistic |") and "realistic closer" in table
    assert realism.run(tiny_data, images=3, types=["noise"]) == [
        r for r in rows if r["type"] == "noise"
    ]


def test_main_refuses_a_folder_without_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert realism.main(["--data", str(tmp_path)]) == 2
    assert "error" in capsys.readouterr().err


def test_statistics_on_known_images() -> None:
    rng = np.random.default_rng(0)
    grey = np.full((128, 128, 3), 0.5, np.float32)
    white = grey + rng.normal(0, 10 / 255, grey.shape).astype(np.float32)
    stats = realism.noise_statistics(white)
    assert stats["chroma/luma"] == pytest.approx(0.96, abs=0.15)  # independent RGB noise
    assert stats["scale ratio"] == pytest.approx(1.0, abs=0.2)  # white noise
    mono = grey + rng.normal(0, 10 / 255, grey.shape[:2]).astype(np.float32)[:, :, None]
    assert realism.noise_statistics(mono)["chroma/luma"] < 0.1  # grey noise has no chroma
    stripes = np.zeros((128, 128, 3), np.float32)
    stripes[:, ::6] = 1.0
    assert realism.streak_coherence(stripes) > 0.9
    assert realism.gradient_anisotropy(stripes) > 10
    assert realism.dark_channel(grey).mean() == pytest.approx(0.5)
