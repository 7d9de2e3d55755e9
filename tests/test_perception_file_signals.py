"""What a file says about itself (a JPEG's quantisation tables, EXIF ISO and exposure time)
joins what the analyzer sees in the pixels; captions name exactly what was found."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from restora.types import Analysis, Degradation, QualityScore
from restora.vocabulary import DEGRADATION_TYPES


class StubAnalyzer:
    """Reports the degradations it is given, whatever the pixels (``.analysis(array)``)."""

    def __init__(self, *found: Degradation) -> None:
        self.found = tuple(found)
        self.calls = 0

    def analysis(self, image: np.ndarray) -> Analysis:
        from restora.perception.analyzer import caption_for

        assert isinstance(image, np.ndarray) and image.ndim == 3
        self.calls += 1
        return Analysis(
            degradations=self.found,
            caption=caption_for(self.found),
            quality=QualityScore(60.0, "good"),
            scores={
                t: (0.6 if t in {d.type for d in self.found} else 0.1) for t in DEGRADATION_TYPES
            },
        )


def save_jpeg(path: Path, rgb: np.ndarray, quality: int, exif: bytes | None = None) -> Path:
    from PIL import Image as PILImage

    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.asarray(np.clip(rgb, 0, 1) * 255 + 0.5, np.uint8)
    options: dict[str, object] = {"quality": quality}
    if exif is not None:
        options["exif"] = exif
    PILImage.fromarray(pixels).save(path, "JPEG", **options)
    return path


def camera_exif(iso: int, exposure: tuple[int, int]) -> bytes:
    from PIL import Image as PILImage
    from PIL.TiffImagePlugin import IFDRational

    exif = PILImage.Exif()
    exif[0x010F] = "TestCam"
    sub = exif.get_ifd(0x8769)
    sub[34855] = iso
    sub[33434] = IFDRational(*exposure)
    return exif.tobytes()


# ------------------------------------------------------------------------------ reading (io)


def test_load_keeps_a_jpeg_files_tables_and_exif(tmp_path: Path, small_rgb: np.ndarray) -> None:
    from restora.io import load, pixel_fingerprint

    path = save_jpeg(tmp_path / "shot.jpg", small_rgb, 40, camera_exif(3200, (1, 60)))
    extra = load(path).meta.extra
    tables = extra["jpeg_quantization"]
    assert len(tables) == 2 and all(len(t) == 64 for t in tables)  # luminance, chrominance
    assert extra["iso"] == 3200 and extra["exposure_time"] == pytest.approx(1 / 60)
    assert extra["pixel_fingerprint"] == pixel_fingerprint(load(path).rgb)


def test_png_carries_no_jpeg_tables(tmp_path: Path, small_rgb: np.ndarray) -> None:
    from restora.io import Image, load, save

    extra = load(save(Image(small_rgb), tmp_path / "x.png")).meta.extra
    assert "jpeg_quantization" not in extra and "iso" not in extra


@pytest.mark.parametrize("quality", [5, 10, 30, 50, 75, 80, 90, 95, 100])
def test_quality_from_stored_tables_matches_the_degradation_engine(
    tmp_path: Path, small_rgb: np.ndarray, quality: int
) -> None:
    from restora.degradations.jpeg import jpeg_quality_from_quantization_tables
    from restora.io import load
    from restora.perception.analyzer import file_signals

    path = save_jpeg(tmp_path / f"q{quality}.jpg", small_rgb, quality)
    signals = file_signals(load(path))
    assert signals["jpeg_quality"] == jpeg_quality_from_quantization_tables(path.read_bytes())
    assert signals["jpeg_quality"] == quality


def test_changed_pixels_lose_the_files_signals(tmp_path: Path, small_rgb: np.ndarray) -> None:
    from restora.io import load
    from restora.perception.analyzer import file_signals

    image = load(save_jpeg(tmp_path / "q30.jpg", small_rgb, 30))
    assert file_signals(image)["jpeg_quality"] == 30
    restored = image.with_rgb(np.clip(image.rgb * 0.98 + 0.01, 0, 1))  # same metadata
    assert file_signals(restored) == {}
    assert file_signals(image.rgb) == {}  # an array has no file


# ------------------------------------------------------------------------------------ fusion


def test_q30_jpeg_is_reported_with_the_severity_of_its_quality(
    tmp_path: Path, small_rgb: np.ndarray
) -> None:
    from restora.perception import analyze

    path = save_jpeg(tmp_path / "q30.jpg", small_rgb, 30)
    stub = StubAnalyzer(Degradation("noise", 0.4, 0.7))
    analysis = analyze(path, analyzer=stub)  # a path is read, then analysed
    assert stub.calls == 1
    assert [d.type for d in analysis.degradations] == ["jpeg", "noise"]  # most confident first
    jpeg = analysis.degradations[0]
    assert jpeg.severity == pytest.approx(0.722, abs=0.005)
    assert jpeg.confidence >= 0.95 and analysis.scores["jpeg"] >= 0.95
    from restora.degradations.captions import NOUNS

    assert mentioned(analysis.caption, NOUNS) == {"jpeg", "noise"}, analysis.caption


def test_q95_jpeg_drops_a_weak_pixel_detection_and_keeps_a_strong_one(
    tmp_path: Path, small_rgb: np.ndarray
) -> None:
    from restora.io import load
    from restora.perception import analyze

    image = load(save_jpeg(tmp_path / "q95.jpg", small_rgb, 95))
    weak = analyze(image, analyzer=StubAnalyzer(Degradation("jpeg", 0.3, 0.6)))
    assert weak.degradations == () and weak.caption == "a clean photo with no visible degradation"
    strong = analyze(image, analyzer=StubAnalyzer(Degradation("jpeg", 0.5, 0.9)))
    assert [d.type for d in strong.degradations] == ["jpeg"]  # an earlier, harder compression


@pytest.mark.parametrize(
    ("quality", "pixels", "expected"),
    [
        (85.0, (), []),  # in between: the pixels decide
        (85.0, (("jpeg", 0.6),), ["jpeg"]),
        (79.0, (), []),  # camera and web qualities (PolyU's real-noise photos: 75)
        (75.0, (("jpeg", 0.6),), ["jpeg"]),
        (59.0, (), ["jpeg"]),
        (90.0, (("jpeg", 0.74),), []),
        (90.0, (("jpeg", 0.75), ("haze", 0.6)), ["jpeg", "haze"]),
    ],
)
def test_fusion_thresholds(
    quality: float, pixels: tuple[tuple[str, float], ...], expected: list[str]
) -> None:
    from restora.perception.analyzer import with_file_signals

    found = tuple(Degradation(t, 0.3, c) for t, c in pixels)
    analysis = StubAnalyzer(*found).analysis(np.zeros((8, 8, 3), np.float32))
    fused = with_file_signals(analysis, {"jpeg_quality": quality})
    assert [d.type for d in fused.degradations] == expected
    assert with_file_signals(analysis, {"iso": 6400.0}) is analysis  # reported, not used


def test_png_of_a_decoded_jpeg_relies_on_pixels(tmp_path: Path, small_rgb: np.ndarray) -> None:
    from restora.io import Image, load, save
    from restora.perception import analyze

    decoded = load(save_jpeg(tmp_path / "q20.jpg", small_rgb, 20)).rgb
    png = save(Image(decoded), tmp_path / "q20.png")
    analysis = analyze(png, analyzer=StubAnalyzer())
    assert analysis.degradations == ()


def test_cli_reports_the_files_jpeg_quality(
    tmp_path: Path, small_rgb: np.ndarray, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from restora.cli import main

    path = save_jpeg(tmp_path / "q30.jpg", small_rgb, 30, camera_exif(800, (1, 125)))
    code = main(["analyze", str(path), "--weights", str(tiny_weights), "--device", "cpu", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["file_signals"] == {"jpeg_quality": 30, "iso": 800, "exposure_time": 0.008}
    jpeg = [d for d in payload["degradations"] if d["type"] == "jpeg"]
    assert jpeg and jpeg[0]["severity"] == pytest.approx(0.7222, abs=1e-3)
    code = main(["analyze", str(path), "--weights", str(tiny_weights), "--device", "cpu"])
    assert (
        code == 0 and "file: JPEG quality 30, ISO 800, exposure 1/125 s" in capsys.readouterr().out
    )


def test_shipped_analyzer_on_q30_and_q95_files(tmp_path: Path, astronaut: np.ndarray) -> None:
    from restora.perception import analyze
    from restora.perception.analyzer import DEFAULT_WEIGHTS

    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("the trained analyzer weights are not in this checkout")
    low = analyze(save_jpeg(tmp_path / "q30.jpg", astronaut, 30))
    high = analyze(save_jpeg(tmp_path / "q95.jpg", astronaut, 95))
    jpeg = {d.type: d for d in low.degradations}["jpeg"]
    assert jpeg.severity == pytest.approx(0.722, abs=0.005)
    assert "jpeg" not in [d.type for d in high.degradations], high.to_dict()


# ----------------------------------------------------------------------------------- captions


def mentioned(text: str, phrases: dict[str, tuple[str, ...]]) -> set[str]:
    """The types whose phrases occur in ``text`` (longest phrases first, each occurrence
    removed, so "motion blur" does not also count as "blur")."""
    table = sorted(
        ((p.lower(), kind) for kind, ps in phrases.items() for p in ps), key=lambda x: -len(x[0])
    )
    text = text.lower()
    found = set()
    for phrase, kind in table:
        pattern = r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])"
        if re.search(pattern, text):
            found.add(kind)
            text = re.sub(pattern, " ", text)
    return found


CASES = [
    (),
    *[((kind, severity),) for kind in DEGRADATION_TYPES for severity in (0.1, 0.4, 0.6, 0.9)],
    (("motion_blur", 0.7), ("blur", 0.3)),
    (("noise", 0.5), ("jpeg", 0.72), ("low_light", 0.3)),
    (("reflection", 0.2), ("haze", 0.8)),
    (("rain", 0.6), ("motion_blur", 0.2)),
]


@pytest.mark.parametrize("found", CASES, ids=lambda c: "+".join(t for t, _ in c) or "clean")
def test_caption_and_description_name_exactly_the_reported_types(
    found: tuple[tuple[str, float], ...],
) -> None:
    from restora.degradations.captions import NOUNS
    from restora.language.descriptions import TYPE_PHRASES, describe
    from restora.perception.analyzer import caption_for

    degradations = tuple(Degradation(t, s, 0.8) for t, s in found)
    analysis = Analysis(degradations, caption_for(degradations), QualityScore(50.0, "fair"))
    reported = {t for t, _ in found}
    nouns = {t: NOUNS[t] for t in DEGRADATION_TYPES}
    assert mentioned(analysis.caption, nouns) == reported, analysis.caption
    assert mentioned(describe(analysis), TYPE_PHRASES) == reported, describe(analysis)
    if not found:
        assert "clean" in analysis.caption and "clean" in describe(analysis)


def test_fused_caption_names_the_files_jpeg(tmp_path: Path, small_rgb: np.ndarray) -> None:
    from restora.degradations.captions import NOUNS
    from restora.perception import analyze

    nouns = {t: NOUNS[t] for t in DEGRADATION_TYPES}
    path = save_jpeg(tmp_path / "q30.jpg", small_rgb, 30)
    fused = analyze(path, analyzer=StubAnalyzer(Degradation("haze", 0.5, 0.7)))
    assert mentioned(fused.caption, nouns) == {"jpeg", "haze"}, fused.caption
    high = analyze(
        save_jpeg(tmp_path / "q95.jpg", small_rgb, 95),
        analyzer=StubAnalyzer(Degradation("jpeg", 0.2, 0.55), Degradation("haze", 0.5, 0.7)),
    )
    assert mentioned(high.caption, nouns) == {"haze"}, high.caption


def test_score_text_reads_a_path_like_its_pixels(
    tmp_path: Path, small_rgb: np.ndarray, tiny_weights: Path
) -> None:
    from restora.io import Image, load, save
    from restora.perception import score_text

    path = save(Image(small_rgb), tmp_path / "x.png")
    texts = ["a photo with heavy rain", "a clean photo"]
    by_path = score_text(path, texts, weights=tiny_weights, device="cpu")
    by_pixels = score_text(load(path).rgb, texts, weights=tiny_weights, device="cpu")
    assert by_path == pytest.approx(by_pixels)


def test_restore_plans_from_the_files_signals(tmp_path: Path) -> None:
    """The agent's view of a JPEG file includes its quantization tables, not only its pixels."""
    from PIL import Image as PILImage
    from skimage import data

    import restora
    from restora.agent import AgentConfig

    path = tmp_path / "q30.jpg"
    PILImage.fromarray(data.astronaut()[:128, :128]).save(path, quality=30)
    result = restora.restore(path, config=AgentConfig(small_side=0, max_steps=0))
    found = {d.type: d for d in result.analysis_before.degradations}
    assert "jpeg" in found and found["jpeg"].severity == pytest.approx((95 - 30) / 90, abs=0.01)
    assert "dejpeg" in result.plan.tasks
