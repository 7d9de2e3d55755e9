"""The analyzer on the pretrained backbone: heads, their files, the shipped model on real photos."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from restora.perception.heads import ANALYZER_SPEC, AnalyzerHeads, HeadsConfig, photo_features
from restora.vocabulary import DEGRADATION_TYPES


def _fitted(dimension: int, rng: np.random.Generator) -> AnalyzerHeads:
    from restora.training.analyzer_heads import FitConfig, fit_heads

    n, types = 200, len(DEGRADATION_TYPES)
    x = rng.normal(size=(n, dimension))
    presence = (x[:, :types] > 0.5).astype(np.float32)  # type j is "feature j is high"
    severity = np.clip(x[:, :types] / 3, 0, 1).astype(np.float32)
    captions = rng.normal(size=(n, 384))
    return fit_heads(
        x, presence, severity, presence, np.ones(n), captions, FitConfig(steps=60), seed=0
    )


def test_heads_learn_a_separable_rule_and_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    heads = _fitted(24, rng)
    probe = np.zeros(24)
    probe[2] = 3.0  # motion_blur's feature high, the others at their mean
    out = heads.outputs(probe)
    assert out.probabilities[2] > 0.9 and np.all(np.delete(out.probabilities, 2) < 0.5)
    assert out.embedding.shape == (384,) and np.all((out.severity >= 0) & (out.severity <= 1))
    heads.save(tmp_path / "h.safetensors")
    from safetensors.numpy import load_file

    again = AnalyzerHeads.from_tensors(heads.config, load_file(str(tmp_path / "h.safetensors")))
    np.testing.assert_allclose(again.outputs(probe).probabilities, out.probabilities, rtol=1e-4)


def test_the_analyzer_loads_heads_by_the_json_kind(tmp_path: Path, astronaut: np.ndarray) -> None:
    """A backbone-kind JSON gives the heads path: predict, analysis and thresholds work."""
    from restora.perception.analyzer import Analyzer

    dimension = photo_features(astronaut[:64, :64]).shape[0]
    heads = _fitted(dimension, np.random.default_rng(1))
    heads.save(tmp_path / "a.safetensors")
    meta = {"model": HeadsConfig(spec=ANALYZER_SPEC).to_dict(), "thresholds": [0.5] * 8}
    (tmp_path / "a.json").write_text(json.dumps(meta))
    analyzer = Analyzer(tmp_path / "a.safetensors", device="cpu")
    raw = analyzer.predict(astronaut)
    assert raw.probabilities.shape == (8,) and 0 <= raw.quality <= 100
    assert abs(float(np.linalg.norm(raw.text_embedding)) - 1) < 1e-4
    analysis = analyzer.analysis(astronaut)
    confidences = [d.confidence for d in analysis.degradations]
    assert confidences == sorted(confidences, reverse=True)
    assert analysis.quality.source == "quality"


def test_the_shipped_analyzer_is_the_backbone_one_with_its_record() -> None:
    from restora.perception.analyzer import DEFAULT_WEIGHTS

    meta = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    assert meta["model"]["kind"] == "backbone"
    assert meta["calibration"]["clean_false_alarms"] <= 0.10
    assert meta["leave_one_source_out"]["mean_recall"] > 0
    assert DEFAULT_WEIGHTS.stat().st_size < 20e6


@pytest.mark.slow
@pytest.mark.needs_data
def test_polyu_noise_is_not_read_as_jpeg_or_low_light(data_dir: Path) -> None:
    """Ten PolyU real noisy photos (q75 JPEG files, ISO 800-6400, normal exposure): the old
    analyzer reported JPEG and low light and the agent ruined three of them."""
    from restora.perception import analyze

    folder = data_dir / "real_train"
    with open(folder / "labels.csv", newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["type"] == "noise"][::10]
    for row in rows:
        found = {d.type for d in analyze(folder / row["file"]).degradations}
        assert not found & {"jpeg", "low_light"}, (row["file"], found)


def test_analyze_and_assess_give_one_quality(small_rgb: np.ndarray, camera: np.ndarray) -> None:
    """One meaning of quality everywhere: the analyzer's field is assess's score (it was 85
    'excellent' against 39.6 'poor' for one photo), grey photos included."""
    from restora.perception import analyze
    from restora.quality import assess_nr

    for image in (small_rgb, np.repeat(camera[..., None], 3, axis=2)):
        analysis = analyze(image)
        judgement = assess_nr(image)
        assert analysis.quality.score == pytest.approx(judgement.score, abs=1e-3)
        assert analysis.quality.level == judgement.level


def test_extra_sample_sets_draw_what_they_promise(tmp_path: Path, astronaut: np.ndarray) -> None:
    from PIL import Image

    from restora.training.analyzer_heads import FOCUS, MILD_NOISE, SampleConfig, make_sample

    files = []
    for k in range(2):
        path = tmp_path / f"scene{k}.png"
        crop = astronaut[k * 64 : k * 64 + 160, :160]
        Image.fromarray(np.round(crop * 255).astype(np.uint8)).save(path)
        files.append(path)
    noise = DEGRADATION_TYPES.index("noise")
    mild = [make_sample(files, i, 0, MILD_NOISE) for i in range(12)]
    assert all(p.sum() == p[noise] for _, p, _, _ in mild)  # noise alone, or clean
    levels = [s[noise] for _, p, s, _ in mild if p[noise]]
    assert levels and all(0.05 <= v <= 0.2 for v in levels)
    assert any(p.sum() == 0 for _, p, _, _ in mild)
    only_rain = SampleConfig(
        clean_fraction=0.0,
        single_fraction=1.0,
        type_weights=tuple(float(t == "rain") for t in DEGRADATION_TYPES),
    )
    rain = DEGRADATION_TYPES.index("rain")
    assert all(make_sample(files, i, 1, only_rain)[1][rain] == 1 for i in range(4))
    assert FOCUS.type_weights is not None and len(FOCUS.type_weights) == len(DEGRADATION_TYPES)


def test_polyu_scenes_held_out_for_evaluation_are_not_trained_on(data_dir: Path) -> None:
    from restora.training.analyzer_heads import real_photos, training_photos
    from restora.training.splits import is_held_out, scene_of

    photos = real_photos(data_dir, "real_train")
    kept = training_photos(photos)
    polyu = [p for p in photos if p.source == "PolyU"]
    assert polyu and any(is_held_out(scene_of(p.path.name)) for p in polyu)
    assert not any(p.source == "PolyU" and is_held_out(scene_of(p.path.name)) for p in kept)
    assert len(kept) == len(photos) - sum(is_held_out(scene_of(p.path.name)) for p in polyu)
