"""The analyzer on the pretrained eye: small heads on frozen EfficientNet-Lite features.

One pass of the backbone (:mod:`restora.backbone`) gives the photo's multi-level statistics:
the whole photo seen at most 512 x 512 (stages 1-6 and the head, mirrored and averaged: haze,
light, rain, reflections, the scene) and four native-resolution 192 px crops (stages 0-3:
grain, JPEG blocks, fine blur). Next to them sit the classical measurements of
:mod:`restora.perception.features` (Immerkaer noise percentiles, 8x8 blockiness, Laplacian and
gradient statistics, structure-tensor coherence, luminance, saturation and dark channel, the
crops' spectra) and the PCA noise-level estimate of Chen et al. (ICCV 2015).

On the standardised vector:

- presence: a small multi-label network (one hidden GELU layer; the mean of a few members
  trained from different seeds, stored as one wider layer whose output averages their logits),
  decided by calibrated thresholds; without a hidden layer in the file, one logistic
  regression per type (the first heads);
- severity: one ridge regression per type, on the degradation engine's scale;
- the degradation embedding: a linear map into the all-MiniLM-L6-v2 space, fitted to the
  caption embeddings of the training samples, so ``score_text`` compares a photo with any
  phrase (the CLIP-style alignment of the architecture);
- quality: the ``quality`` model of :mod:`restora.quality.learned`, whose whole-image features
  are the first part of this same vector (no second backbone pass).

Training: ``python -m restora.training.analyzer_heads`` (docs/perception.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from restora.backbone.features import FeatureSpec
from restora.vocabulary import DEGRADATION_TYPES

ANALYZER_SPEC = FeatureSpec(
    variant="lite0",
    levels=(1, 2, 3, 4, 5, 6, 7),
    whole=True,
    whole_pixels=512 * 512,
    crops=4,
    crop_size=192,
    crop_levels=(0, 1, 2, 3),
    flip=True,
)
"""Backbone features of the analyzer. Its whole-image part equals the quality model's
features (``restora.quality.learned``), so one pass serves both."""

CLASSICAL_CROP = 64
CLASSICAL_CROPS = 16
CLASSICAL_THUMB = 128


@dataclass(frozen=True)
class HeadsConfig:
    """What the analyzer's config must say (``model`` in its JSON)."""

    types: tuple[str, ...] = DEGRADATION_TYPES
    spec: FeatureSpec = ANALYZER_SPEC
    embed_dim: int = 384

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadsConfig:
        return cls(
            types=tuple(data.get("types", DEGRADATION_TYPES)),
            spec=FeatureSpec.from_dict(data["spec"]),
            embed_dim=int(data.get("embed_dim", 384)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "backbone",
            "types": list(self.types),
            "spec": self.spec.to_dict(),
            "embed_dim": self.embed_dim,
        }


def classical_measurements(rgb: np.ndarray) -> np.ndarray:
    """The hand-measured statistics (``features.py``, on 16 grid crops of 64 px and a 128 px
    thumbnail) and the PCA noise sigma: float64, a few dozen values."""
    import torch

    from restora.perception.features import (
        global_statistics,
        local_statistics,
        spectral_statistics,
    )
    from restora.perception.sampling import crops_and_thumb

    crops, thumb = crops_and_thumb(rgb, CLASSICAL_CROP, CLASSICAL_CROPS, CLASSICAL_THUMB)
    with torch.inference_mode():
        crops_t = torch.from_numpy(crops)[None]
        thumb_t = torch.from_numpy(thumb)[None]
        parts = [
            local_statistics(crops_t)[0],
            global_statistics(thumb_t)[0],
            spectral_statistics(crops_t)[0],
        ]
    values = torch.cat(parts).double().numpy()
    return np.concatenate([values, _pca_noise(rgb)])


def _pca_noise(rgb: np.ndarray) -> np.ndarray:
    """log(1 + sigma) of the PCA noise estimate (Chen et al. 2015) twice: on weak-texture
    patches (white noise) and on 2x2 cells without the texture filter (camera noise, which
    demosaicing and in-camera processing spread over neighbouring pixels)."""
    from restora.quality.statistics import estimate_noise_sigma_pca

    values = [
        estimate_noise_sigma_pca(rgb),
        estimate_noise_sigma_pca(rgb, scale=2, weak_texture=False),
    ]
    return np.array([np.log1p(max(v, 0.0)) if np.isfinite(v) else 0.0 for v in values])


def photo_features(
    image: Any, spec: FeatureSpec = ANALYZER_SPEC, device: str | None = None
) -> np.ndarray:
    """The analyzer's input vector: backbone features, then the classical measurements."""
    from restora.backbone.features import as_rgb, extract

    rgb = as_rgb(image)
    return np.concatenate(
        [extract(rgb, spec, device).astype(np.float64), classical_measurements(rgb)]
    )


@dataclass(frozen=True)
class HeadOutputs:
    probabilities: np.ndarray
    severity: np.ndarray
    embedding: np.ndarray


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU with the exact normal CDF (torch's default ``nn.GELU``)."""
    from scipy.special import erf

    return np.asarray(0.5 * x * (1.0 + erf(x / np.sqrt(2.0))))


@dataclass(frozen=True)
class AnalyzerHeads:
    """Standardisation + the heads (see the module docstring)."""

    config: HeadsConfig
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    presence_weight: np.ndarray  # (T, H), or (T, D) without a hidden layer
    presence_bias: np.ndarray  # (T,)
    severity_weight: np.ndarray  # (T, D)
    severity_bias: np.ndarray  # (T,)
    embed_weight: np.ndarray  # (E, D)
    embed_bias: np.ndarray  # (E,)
    hidden_weight: np.ndarray | None = None  # (H, D)
    hidden_bias: np.ndarray | None = None  # (H,)

    def presence_logits(self, z: np.ndarray) -> np.ndarray:
        """Presence logits of standardised features ``z`` ((D,) or (N, D))."""
        h = z
        if self.hidden_weight is not None and self.hidden_bias is not None:
            h = gelu(z @ self.hidden_weight.T + self.hidden_bias)
        return np.asarray(h @ self.presence_weight.T + self.presence_bias)

    def standardise(self, features: np.ndarray) -> np.ndarray:
        """Features (one vector or (N, F) rows) in the heads' standard units, non-finite -> 0."""
        z = (np.asarray(features, np.float64) - self.feature_mean) / self.feature_scale
        return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)

    def probabilities(self, z: np.ndarray) -> np.ndarray:
        """Presence probabilities of standardised features ``z`` (:meth:`standardise`)."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.presence_logits(z), -40, 40)))

    def outputs(self, features: np.ndarray) -> HeadOutputs:
        z = self.standardise(features)
        probabilities = self.probabilities(z)
        severity = np.clip(self.severity_weight @ z + self.severity_bias, 0.0, 1.0)
        embedding = self.embed_weight @ z + self.embed_bias
        return HeadOutputs(
            probabilities.astype(np.float32),
            severity.astype(np.float32),
            embedding.astype(np.float32),
        )

    def tensors(self) -> dict[str, np.ndarray]:
        names = [
            "feature_mean",
            "feature_scale",
            "presence_weight",
            "presence_bias",
            "severity_weight",
            "severity_bias",
            "embed_weight",
            "embed_bias",
        ]
        if self.hidden_weight is not None:
            names += ["hidden_weight", "hidden_bias"]
        # the hidden layer (the largest tensor) in half precision keeps the file under 20 MB;
        # its probabilities move by < 1e-3
        return {
            name: np.ascontiguousarray(
                getattr(self, name), dtype=np.float16 if name == "hidden_weight" else np.float32
            )
            for name in names
        }

    @classmethod
    def from_tensors(cls, config: HeadsConfig, tensors: dict[str, np.ndarray]) -> AnalyzerHeads:
        values = {k: np.asarray(v, np.float64) for k, v in tensors.items()}
        return cls(config=config, **values)

    def save(self, path: Path) -> None:
        from safetensors.numpy import save_file

        save_file(self.tensors(), str(path))
