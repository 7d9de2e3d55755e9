"""Loading the shipped (embedded) analyzer and turning its outputs into an :class:`Analysis`,
and joining what an image's file says about it (:func:`file_signals`, :func:`with_file_signals`)
to what its pixels show.

The public entry points, for this and the other backends, are
:func:`restora.perception.get_analyzer` and :func:`restora.perception.analyze`
(:mod:`restora.perception.backends`)."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from restora.errors import InputError, NotAvailableError
from restora.paths import WEIGHTS_DIR
from restora.perception.heads import AnalyzerHeads, HeadsConfig, photo_features
from restora.perception.model import AnalyzerConfig, DegradationAnalyzer
from restora.perception.sampling import crops_and_thumb
from restora.types import Analysis, Degradation, QualityScore

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = WEIGHTS_DIR / "analyzer" / "analyzer.safetensors"


@dataclass(frozen=True)
class RawPrediction:
    """Model outputs for one image, as numpy."""

    probabilities: np.ndarray  # (n_types,) presence probability
    severity: np.ndarray  # (n_types,)
    quality: float  # 0-100
    embedding: np.ndarray  # (embed_dim,)
    text_embedding: np.ndarray  # (384,) unit norm


class Analyzer:
    """The embedded degradation analyzer: weights + config + per-type decision thresholds."""

    def __init__(self, weights: str | Path | None = None, device: str | None = None) -> None:
        import torch
        from safetensors.torch import load_file

        from restora.device import resolve_device

        path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
        config_path = path.with_suffix(".json")
        if not path.is_file() or not config_path.is_file():
            raise NotAvailableError(
                f"analyzer weights not found at {path} (train them with "
                "`python -m restora.training.analyzer`)"
            )
        self.heads: AnalyzerHeads | None = None
        self.config: AnalyzerConfig | HeadsConfig
        try:
            meta = json.loads(config_path.read_text())
            if meta["model"].get("kind") == "backbone":
                from safetensors.numpy import load_file as load_numpy

                heads_config = HeadsConfig.from_dict(meta["model"])
                self.config = heads_config
                self.heads = AnalyzerHeads.from_tensors(heads_config, load_numpy(str(path)))
                self.model = None
            else:
                self.config = AnalyzerConfig.from_dict(meta["model"])
                self.model = DegradationAnalyzer(self.config)
                self.model.load_state_dict(load_file(str(path)))
            self.thresholds = np.asarray(
                meta.get("thresholds", [0.5] * len(self.config.types)), dtype=np.float32
            )
        except Exception as exc:  # garbage, truncated or another model's file: the user's input
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise InputError(
                f"{path}: not analyzer weights restora can read ({type(exc).__name__}: {reason})"
            ) from None
        self.device = resolve_device(device)
        if self.model is not None:
            self.model.eval().to(self.device)
        self._torch = torch
        self._lock = threading.Lock()
        self.path = path

    def predict(self, image: np.ndarray) -> RawPrediction:
        """Run the model on a float32 (H, W, 3) image in [0, 1]."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[np.ndarray]) -> list[RawPrediction]:
        if self.heads is not None:
            return [self._predict_with_heads(self.heads, img) for img in images]
        torch = self._torch
        cfg = self.config
        assert isinstance(cfg, AnalyzerConfig) and self.model is not None
        crops, thumbs = zip(
            *(
                crops_and_thumb(img, cfg.crop_size, cfg.crops_infer, cfg.thumb_size)
                for img in images
            ),
            strict=True,
        )
        crops_t = torch.from_numpy(np.stack(crops)).to(self.device)
        thumbs_t = torch.from_numpy(np.stack(thumbs)).to(self.device)
        with self._lock, torch.inference_mode():
            out = self.model(crops_t, thumbs_t)
        from restora.quality.levels import nr_score

        probs = torch.sigmoid(out["presence_logits"]).cpu().numpy()
        # one meaning of quality everywhere: restora's quality score, not this model's own head
        return [
            RawPrediction(
                probabilities=probs[i],
                severity=out["severity"][i].cpu().numpy(),
                quality=nr_score(images[i]),
                embedding=out["embedding"][i].cpu().numpy(),
                text_embedding=out["text_embedding"][i].cpu().numpy(),
            )
            for i in range(len(images))
        ]

    def _predict_with_heads(self, heads: AnalyzerHeads, image: np.ndarray) -> RawPrediction:
        from restora.quality.learned import shipped_head

        features = photo_features(image, heads.config.spec, str(self.device))
        out = heads.outputs(features)
        quality_head = shipped_head()
        mine, theirs = heads.config.spec, quality_head.spec
        if (mine.variant, mine.levels, mine.whole_pixels, mine.flip, mine.whole) == (
            theirs.variant,
            theirs.levels,
            theirs.whole_pixels,
            theirs.flip,
            theirs.whole,
        ):  # the quality features are the first part of these: no second backbone pass
            whole = features[: quality_head.feature_mean.shape[0]]
            quality = float(np.clip(quality_head.predict_features(whole)[0], 0.0, 100.0))
        else:
            quality = quality_head.score(image, str(self.device))
        norm = float(np.linalg.norm(out.embedding))
        text_embedding = out.embedding / norm if norm > 0 else out.embedding
        return RawPrediction(
            probabilities=out.probabilities,
            severity=out.severity,
            quality=quality if np.isfinite(quality) else 0.0,
            embedding=out.embedding,
            text_embedding=text_embedding.astype(np.float32),
        )

    def analysis(self, image: np.ndarray) -> Analysis:
        """Full :class:`Analysis`: degradations over threshold, caption and quality."""
        raw = self.predict(image)
        types = self.config.types
        present = [i for i in range(len(types)) if raw.probabilities[i] >= self.thresholds[i]]
        degradations = tuple(
            sorted(
                (
                    Degradation(
                        type=types[i],
                        severity=float(np.clip(raw.severity[i], 0.0, 1.0)),
                        confidence=_confidence(
                            float(raw.probabilities[i]), float(self.thresholds[i])
                        ),
                    )
                    for i in present
                ),
                key=lambda d: -d.confidence,
            )
        )
        quality = _quality_score(raw.quality)
        return Analysis(
            degradations=degradations,
            caption=caption_for(degradations),
            quality=quality,
            scores={t: float(p) for t, p in zip(types, raw.probabilities, strict=True)},
            embedding=raw.embedding,
        )


def _confidence(probability: float, threshold: float) -> float:
    """Probability rescaled so that the decision threshold maps to 0.5."""
    if probability >= threshold:
        return 0.5 + 0.5 * (probability - threshold) / max(1e-6, 1.0 - threshold)
    return 0.5 * probability / max(1e-6, threshold)


def _quality_score(score: float) -> QualityScore:
    from restora.quality import level_for

    return QualityScore(score=score, level=level_for(score), source="quality")


def caption_for(degradations: Sequence[Degradation]) -> str:
    """A caption in the words of the degradation engine's templates."""
    if not degradations:
        return "a clean photo with no visible degradation"
    from restora.degradations import caption_for as engine_caption

    items = [(d.type, d.severity) for d in degradations]
    return str(engine_caption(items, np.random.default_rng(0)))


# ------------------------------------------------------------- what the file itself says

JPEG_REPORTED_BELOW = 60
"""A JPEG file whose tables say an IJG quality under this is reported as ``jpeg``, with the
severity of that quality on the engine's scale, whatever its pixels show. Qualities 60-89 are
left to the pixels: cameras and web pages save at 70-85 (the PolyU real-noise photos at 75),
where blocks rarely show and a dejpeg step would only soften real detail."""

JPEG_CLEAN_FROM = 90
"""A JPEG file saved at this IJG quality or above made no visible blocks of its own: a weak
pixel detection of ``jpeg`` is dropped (a confident one stays: an earlier, stronger compression
survives a re-save at a high quality)."""

FILE_JPEG_CONFIDENCE = 0.95
"""The confidence of a ``jpeg`` the file's quantisation tables report (the tables are exact for
libjpeg-written files, the nearest IJG scale for other encoders)."""

WEAK_JPEG_CONFIDENCE = 0.75
"""Under this confidence a pixel detection of ``jpeg`` is weak (halfway between the decision
threshold, confidence 0.5, and certainty)."""


def ijg_quality(luminance: Sequence[int] | np.ndarray) -> int:
    """The IJG (libjpeg) quality whose luminance table is closest to ``luminance`` (the 64
    values in any order): the matching of
    :func:`restora.degradations.jpeg.jpeg_quality_from_quantization_tables`, on a table already
    read from the file (``restora.io`` keeps it in ``meta.extra["jpeg_quantization"]``)."""
    from restora.degradations.jpeg import ijg_luminance_table

    table = np.sort(np.asarray(luminance, dtype=np.int64).ravel())
    errors = [np.abs(np.sort(ijg_luminance_table(q).ravel()) - table).sum() for q in range(1, 101)]
    return int(np.argmin(errors)) + 1


def file_signals(image: Any) -> dict[str, float]:
    """What the file ``image`` was read from says about it: ``jpeg_quality`` (IJG scale, from
    its luminance quantisation table), ``iso`` and ``exposure_time`` (seconds, from EXIF), each
    only where the file has it.

    Empty for an array, an image not read from a file, and an image whose pixels are no
    longer the file's (a restored or cropped copy keeps the metadata but not the pixels; the
    fingerprint :func:`restora.io.pixel_fingerprint` taken at reading tells them apart)."""
    meta = getattr(image, "meta", None)
    extra: Mapping[str, Any] = getattr(meta, "extra", None) or {}
    if not extra or "pixel_fingerprint" not in extra:
        return {}
    from restora.io import pixel_fingerprint

    if extra["pixel_fingerprint"] != pixel_fingerprint(image.rgb):
        return {}
    signals: dict[str, float] = {}
    tables = extra.get("jpeg_quantization")
    if tables:
        signals["jpeg_quality"] = float(ijg_quality(tables[0]))
    for key in ("iso", "exposure_time"):
        if extra.get(key) is not None:
            signals[key] = float(extra[key])
    return signals


def with_file_signals(analysis: Analysis, signals: Mapping[str, float]) -> Analysis:
    """``analysis`` with the file's evidence joined to the pixels' (``signals`` from
    :func:`file_signals`); the same analysis when the file says nothing that changes it.

    - JPEG quality q < :data:`JPEG_REPORTED_BELOW` (60): ``jpeg`` is reported with severity
      ``(95 - q) / 90`` (the engine's scale, :func:`restora.degradations.jpeg.severity_for_quality`)
      and confidence :data:`FILE_JPEG_CONFIDENCE` (or the pixels' when higher); its presence
      score rises to that confidence.
    - q >= :data:`JPEG_CLEAN_FROM`: a pixel detection of ``jpeg`` weaker than
      :data:`WEAK_JPEG_CONFIDENCE` is dropped (its score stays: it is the pixels' evidence).
    - in between, and for every file that is not a JPEG, the pixels decide alone.

    ISO and exposure time are reported, not used: no labelled real photos with EXIF exist
    here to set a rule on. The caption is rewritten from the degradations that remain, so it
    names exactly those.
    """
    quality = signals.get("jpeg_quality")
    if quality is None:
        return analysis
    found = {d.type: d for d in analysis.degradations}
    scores = dict(analysis.scores)
    seen = found.get("jpeg")
    if quality < JPEG_REPORTED_BELOW:
        from restora.degradations.jpeg import severity_for_quality

        confidence = max(FILE_JPEG_CONFIDENCE, seen.confidence if seen else 0.0)
        found["jpeg"] = Degradation("jpeg", severity_for_quality(quality), confidence)
        if scores:
            scores["jpeg"] = max(float(scores.get("jpeg", 0.0)), confidence)
    elif quality >= JPEG_CLEAN_FROM and seen is not None and seen.confidence < WEAK_JPEG_CONFIDENCE:
        del found["jpeg"]
    else:
        return analysis
    degradations = tuple(sorted(found.values(), key=lambda d: -d.confidence))
    return replace(
        analysis, degradations=degradations, caption=caption_for(degradations), scores=scores
    )


_ANALYZERS: dict[str, Analyzer] = {}
_ANALYZERS_LOCK = threading.Lock()


def get_embedded_analyzer(weights: str | Path | None = None, device: str | None = None) -> Analyzer:
    """The process-wide embedded analyzer for these weights and device (loaded once).

    Other backends (CLIP, VLM) come from :func:`restora.perception.get_analyzer`."""
    key = f"{weights or DEFAULT_WEIGHTS}|{device or ''}"
    with _ANALYZERS_LOCK:
        if key not in _ANALYZERS:
            _ANALYZERS[key] = Analyzer(weights, device)
        return _ANALYZERS[key]


def score_text(
    image: Any,
    texts: Sequence[str],
    *,
    weights: str | Path | None = None,
    device: str | None = None,
) -> dict[str, float]:
    """Cosine similarity of the image's aligned embedding to each text (zero-shot).

    The texts go through the same frozen all-MiniLM-L6-v2 encoder the image tower was aligned
    to, so any phrasing works, not only the training templates. ``image`` is a
    :class:`restora.Image`, an image file's path or an array. The similarities are the pixels'
    evidence only (what a file's metadata says joins :func:`restora.perception.analyze`, not
    these): they rank texts, they do not say that a degradation is present.
    """
    from restora.language.encoder import get_text_encoder

    if isinstance(image, (str, os.PathLike)):
        from restora.io import load

        image = load(image)
    rgb = np.asarray(getattr(image, "rgb", image), dtype=np.float32)
    raw = get_embedded_analyzer(weights, device).predict(rgb)
    text_vectors = get_text_encoder().encode(list(texts))
    sims = text_vectors @ raw.text_embedding
    return {t: float(s) for t, s in zip(texts, sims, strict=True)}
