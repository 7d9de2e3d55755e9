"""restora.perception: the measured statistics, crop sampling, the model, and the analyzer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from restora.perception.features import (
    GLOBAL_STAT_NAMES,
    LOCAL_STAT_NAMES,
    blockiness,
    global_statistics,
    immerkaer_sigma_map,
    local_statistics,
    spectral_statistics,
)
from restora.perception.model import DegradationAnalyzer, load_grown
from restora.perception.sampling import crops_and_thumb, grid_positions
from restora.training.analyzer import smoke_config
from restora.vocabulary import DEGRADATION_TYPES

from .helpers import HashedTextEncoder

TINY = smoke_config().model


def to_batch(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


@pytest.mark.parametrize("sigma", [5.0, 15.0, 30.0])
def test_immerkaer_recovers_sigma_on_flat_image(sigma: float) -> None:
    rng = np.random.default_rng(0)
    flat = 0.5 + rng.normal(0, sigma / 255, (1, 1, 128, 128)).astype(np.float32)
    estimate = float(immerkaer_sigma_map(torch.from_numpy(flat)).median()) * 255
    assert abs(estimate - sigma) / sigma < 0.1


def test_blockiness_rises_with_jpeg(astronaut: np.ndarray) -> None:
    from restora.degradations import add_jpeg

    grey = torch.from_numpy(astronaut.mean(axis=2)[None, None].copy())
    jpeg, _ = add_jpeg(astronaut, 0.9, np.random.default_rng(0))
    grey_jpeg = torch.from_numpy(jpeg.mean(axis=2)[None, None].astype(np.float32))
    assert float(blockiness(grey_jpeg)[0]) > float(blockiness(grey)[0]) + 0.1


def test_dark_channel_rises_with_haze(astronaut: np.ndarray) -> None:
    from restora.degradations import add_haze

    hazy, _ = add_haze(astronaut, 0.7, np.random.default_rng(0))
    dark = GLOBAL_STAT_NAMES.index("dark_channel")
    clean_stats = global_statistics(to_batch(astronaut[::4, ::4].copy()))
    hazy_stats = global_statistics(to_batch(np.ascontiguousarray(hazy[::4, ::4], dtype=np.float32)))
    assert float(hazy_stats[0, dark]) > float(clean_stats[0, dark]) + 0.1


def test_local_statistics_shape_and_finite(small_rgb: np.ndarray) -> None:
    crops = torch.rand(3, 4, 3, 32, 32)
    stats = local_statistics(crops)
    assert stats.shape == (3, len(LOCAL_STAT_NAMES))
    assert torch.isfinite(stats).all()


def test_spectral_statistics_tell_motion_from_gaussian_blur(astronaut: np.ndarray) -> None:
    """Blur along one direction raises the angular spread of the spectrum; Gaussian blur of a
    similar strength lowers every direction alike and steepens the high/mid ratio instead."""
    import cv2

    kernel = np.zeros((15, 15), np.float32)
    kernel[7, :] = 1.0 / 15.0  # horizontal 15 px camera shake
    moved = cv2.filter2D(astronaut, -1, kernel, borderType=cv2.BORDER_REFLECT)
    blurred = cv2.GaussianBlur(astronaut, (0, 0), 2.0)

    def stats(image: np.ndarray) -> torch.Tensor:
        crops, _ = crops_and_thumb(np.ascontiguousarray(image, dtype=np.float32), 64, 16, 128)
        return spectral_statistics(torch.from_numpy(crops)[None])[0]

    clean, motion, gauss = stats(astronaut), stats(moved), stats(blurred)
    assert float(motion[0]) > float(clean[0]) + 0.3  # angular range
    assert float(motion[0]) > float(gauss[0])
    assert float(gauss[2]) < float(clean[2]) - 0.3  # high/mid log-power ratio
    assert torch.isfinite(torch.stack([clean, motion, gauss])).all()


def test_grown_model_computes_what_the_old_one_did() -> None:
    """Weights trained without the spectral statistics load into a model with them and give
    identical outputs until training uses the new inputs."""
    from dataclasses import replace

    torch.manual_seed(0)
    old = DegradationAnalyzer(TINY).eval()
    old.stats_norm.running_mean.uniform_(-1, 1)  # as after training
    grown = DegradationAnalyzer(replace(TINY, spectral=True)).eval()
    names = load_grown(grown, old.state_dict())
    assert "fuse.0.weight" in names and "stats_norm.weight" in names
    crops, thumb = torch.rand(2, 4, 3, 32, 32), torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(
        grown(crops, thumb)["presence_logits"], old(crops, thumb)["presence_logits"]
    )
    with pytest.raises(ValueError, match="cannot grow"):
        load_grown(old, grown.state_dict())


def test_type_weights_change_what_training_draws(tmp_path: Path) -> None:
    from dataclasses import replace

    from skimage import data

    from restora.io import Image, save
    from restora.training.analyzer import AnalyzerSamples

    files = [save(Image(np.asarray(data.chelsea(), np.float32) / 255.0), tmp_path / "c.png")]
    cfg = replace(smoke_config(), clean_fraction=0.0, type_weights=(("reflection", 50.0),))
    stream = AnalyzerSamples(files, cfg, seed=0)
    rng = np.random.default_rng(0)
    column = DEGRADATION_TYPES.index("reflection")
    hits = sum(float(stream.sample(rng, 0.0)["presence"][column]) for _ in range(20))
    assert hits >= 14  # odds 50:7, so about 17.5 of 20 expected; uniform odds give 2.5


def test_time_boxed_schedule_is_torch_one_cycle() -> None:
    """The time-boxed schedule reproduces OneCycleLR's shape (warm-up, cosine to the floor)."""
    import torch

    from restora.training.analyzer import one_cycle_factor

    param = torch.nn.Parameter(torch.zeros(1))
    optimiser = torch.optim.SGD([param], lr=1.0)
    steps = 400
    reference = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=1.0, total_steps=steps, pct_start=0.05
    )
    for step in range(steps - 1):
        rate = optimiser.param_groups[0]["lr"]
        # torch places the peak at step pct_start * steps - 1: compare at that convention
        progress = step / (steps - 1) if step >= 19 else 0.05 * step / 19
        assert one_cycle_factor(progress) == pytest.approx(rate, rel=0.03, abs=2e-3), step
        optimiser.step()
        reference.step()
    assert one_cycle_factor(1.0) == pytest.approx(1 / 25 / 1e4)


def test_curriculum_follows_the_clock_in_a_time_boxed_run(tmp_path: Path) -> None:
    """With a time budget, mixed samples arrive once the clock passes single_fraction, even if
    the nominal step count is far away (a lent GPU stops on time, not on steps)."""
    import time
    from dataclasses import replace

    from skimage import data

    from restora.io import Image, save
    from restora.training.analyzer import AnalyzerSamples

    files = [save(Image(np.asarray(data.chelsea(), np.float32) / 255.0), tmp_path / "c.png")]
    cfg = replace(
        smoke_config(), clean_fraction=0.0, single_fraction=0.5, steps=10**6, max_minutes=0.001
    )
    stream = AnalyzerSamples(files, cfg, seed=0)
    stream.clock_start = time.time() - 1.0  # 1 s into a 0.06 s budget: the curriculum is done
    counts = [int(s["presence"].sum()) for s, _ in zip(iter(stream), range(30), strict=False)]
    assert max(counts) > 1
    untimed = AnalyzerSamples(files, replace(cfg, max_minutes=0.0), seed=0)
    counts = [int(s["presence"].sum()) for s, _ in zip(iter(untimed), range(30), strict=False)]
    assert max(counts) == 1  # by steps it is still in the single-degradation stage


def test_grid_positions_cover_and_stay_inside() -> None:
    positions = grid_positions(300, 500, 64, 16)
    assert len(positions) == 16
    assert all(0 <= y <= 300 - 64 and 0 <= x <= 500 - 64 for y, x in positions)
    assert min(x for _, x in positions) == 0 and max(x for _, x in positions) == 500 - 64


def test_crops_and_thumb_pad_small_images() -> None:
    crops, thumb = crops_and_thumb(
        np.random.default_rng(0).random((20, 30, 3), dtype=np.float32), 32, 4, 64
    )
    assert crops.shape == (4, 3, 32, 32) and thumb.shape == (3, 64, 64)
    assert crops.dtype == np.float32


def test_model_outputs() -> None:
    torch.manual_seed(0)
    model = DegradationAnalyzer(TINY).eval()
    out = model(torch.rand(2, 4, 3, 32, 32), torch.rand(2, 3, 64, 64))
    n = len(DEGRADATION_TYPES)
    assert out["presence_logits"].shape == (2, n)
    assert out["severity"].shape == (2, n) and bool(
        ((out["severity"] >= 0) & (out["severity"] <= 1)).all()
    )
    assert out["quality"].shape == (2,) and bool(
        ((out["quality"] >= 0) & (out["quality"] <= 100)).all()
    )
    assert out["embedding"].shape == (2, TINY.embed_dim)
    norms = out["text_embedding"].norm(dim=1)
    torch.testing.assert_close(norms, torch.ones(2))


def test_contrastive_loss_prefers_matching_pairs() -> None:
    from restora.training.analyzer import contrastive_loss

    text = torch.nn.functional.normalize(torch.randn(4, 16), dim=1)
    scale = torch.tensor(2.0)
    matched = contrastive_loss(text.clone(), text, ["a", "b", "c", "d"], scale)
    shuffled = contrastive_loss(text[[1, 2, 3, 0]], text, ["a", "b", "c", "d"], scale)
    assert float(matched) < float(shuffled)


def test_analyze_contract_shape(tiny_weights: Path, small_rgb: np.ndarray) -> None:
    from restora.perception import analyze

    analysis = analyze(small_rgb, weights=tiny_weights, device="cpu")
    data = analysis.to_dict()
    assert set(data) >= {"degradations", "caption", "quality"}
    assert isinstance(data["caption"], str) and data["caption"]
    assert data["quality"]["level"] in ("excellent", "good", "fair", "poor", "bad")
    confidences = [d["confidence"] for d in data["degradations"]]
    assert confidences == sorted(confidences, reverse=True)
    for item in data["degradations"]:
        assert item["type"] in DEGRADATION_TYPES
        assert 0 <= item["severity"] <= 1 and 0.5 <= item["confidence"] <= 1
    assert analysis.embedding is not None and analysis.embedding.shape == (TINY.embed_dim,)


def test_analyze_cli_json(
    tiny_weights: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    small_rgb: np.ndarray,
) -> None:
    from restora.cli import main
    from restora.io import Image, save

    path = save(Image(small_rgb), tmp_path / "x.png")
    code = main(["analyze", str(path), "--weights", str(tiny_weights), "--json", "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    payload = json.loads(out)
    assert set(payload) >= {"degradations", "caption", "quality"}


def test_missing_weights_is_a_clear_error(tmp_path: Path, small_rgb: np.ndarray) -> None:
    from restora.errors import NotAvailableError
    from restora.perception import analyze

    with pytest.raises(NotAvailableError, match="weights not found"):
        analyze(small_rgb, weights=tmp_path / "none.safetensors")


def test_training_smoke(tmp_path: Path, text_encoder: HashedTextEncoder) -> None:
    """Three optimisation steps on images the test makes; the weights and the config written
    beside them load back into a model that reproduces the run's validation figures."""
    from safetensors.torch import load_file
    from skimage import data

    from restora.io import Image, save
    from restora.perception import analyze
    from restora.perception.model import AnalyzerConfig
    from restora.training.analyzer import (
        THRESHOLD_RANGE,
        predict_set,
        train,
        validation_report,
        validation_samples,
    )

    files = [
        save(Image(np.asarray(img, dtype=np.float32) / 255.0), tmp_path / f"{name}.png")
        for name, img in (
            ("astronaut", data.astronaut()),
            ("chelsea", data.chelsea()),
            ("coffee", data.coffee()),
        )
    ]
    cfg = smoke_config()
    run = tmp_path / "run"
    train(cfg, files[:2], files[2:], run, device="cpu", text_encoder=text_encoder)
    saved = json.loads((run / "analyzer.json").read_text())
    history = json.loads((run / "history.json").read_text())
    assert saved["steps_done"] == cfg.steps and [h["step"] for h in history] == [1, 2, 3]
    assert all(np.isfinite(h["loss"]) for h in history)
    model = DegradationAnalyzer(AnalyzerConfig.from_dict(saved["model"]))
    model.load_state_dict(load_file(str(run / "analyzer.safetensors")))  # strict: every tensor
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert batch_norms and all(int(m.num_batches_tracked) == cfg.steps for m in batch_norms)
    thresholds = np.asarray(saved["thresholds"], np.float32)
    assert thresholds.shape == (len(DEGRADATION_TYPES),)
    assert ((thresholds >= THRESHOLD_RANGE[0]) & (thresholds <= THRESHOLD_RANGE[1])).all()
    samples = validation_samples(files[2:], cfg)
    report = validation_report(
        predict_set(model, samples, torch.device("cpu")), samples, thresholds
    )
    assert report == saved["validation"]
    analysis = analyze(
        np.asarray(data.coffee(), np.float32) / 255.0,
        weights=run / "analyzer.safetensors",
        device="cpu",
    )
    assert analysis.embedding is not None and analysis.embedding.shape == (cfg.model.embed_dim,)


# ------------------------------------------------------------------- the shipped, trained model


def shipped_weights() -> Path:
    from restora.perception.analyzer import DEFAULT_WEIGHTS

    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("the trained analyzer weights are not in this checkout")
    return DEFAULT_WEIGHTS


def clean_variant(astronaut: np.ndarray, name: str) -> np.ndarray:
    import cv2

    from restora.degradations.jpeg import decode_jpeg, encode_jpeg

    if name == "rotated":
        return np.ascontiguousarray(np.rot90(astronaut))
    if name == "mirrored":
        return np.ascontiguousarray(astronaut[:, ::-1])
    if name == "jpeg95":
        return decode_jpeg(encode_jpeg(astronaut, 95))
    if name == "smaller":
        return cv2.resize(astronaut, (384, 384), interpolation=cv2.INTER_AREA)
    if name == "larger":  # larger canvas, same pixels (upsampling would really soften the photo)
        return np.pad(astronaut, ((0, 512), (0, 512), (0, 0)), mode="reflect")
    return astronaut


@pytest.mark.parametrize(
    "variant",
    [
        "original",
        "rotated",
        "mirrored",
        "jpeg95",
        "smaller",
        "larger",
    ],
)
def test_clean_photo_stays_clean(astronaut: np.ndarray, variant: str) -> None:
    """Size, orientation and a JPEG re-save at q95 must not make a clean photo look damaged."""
    from restora.perception import analyze

    shipped_weights()
    analysis = analyze(clean_variant(astronaut, variant))
    assert [d.type for d in analysis.degradations] == [], analysis.to_dict()


@pytest.mark.parametrize(
    ("kind", "severity"),
    [
        ("noise", 0.5),
        ("jpeg", 0.8),
        ("blur", 0.7),
        ("low_light", 0.7),
        ("haze", 0.7),
        ("rain", 0.7),
        ("motion_blur", 0.7),
    ],
)
def test_shipped_model_sees_clear_degradations(
    astronaut: np.ndarray, kind: str, severity: float
) -> None:
    from restora.degradations import apply
    from restora.perception import analyze

    shipped_weights()
    image, _ = apply(kind, astronaut, severity, np.random.default_rng(3))
    analysis = analyze(np.clip(image, 0, 1))
    assert analysis.degradations and analysis.degradations[0].type == kind, analysis.to_dict()


def test_score_text_ranks_the_matching_phrase_first(astronaut: np.ndarray) -> None:
    from restora.degradations import apply
    from restora.perception import score_text

    shipped_weights()
    noisy, _ = apply("noise", astronaut, 0.6, np.random.default_rng(0))
    texts = [
        "a grainy photo full of sensor noise",
        "a photo taken on a foggy day",
        "rain streaks across the picture",
    ]
    scores = score_text(np.clip(noisy, 0, 1), texts)
    assert max(scores, key=scores.__getitem__) == texts[0], scores
