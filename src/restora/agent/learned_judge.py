"""A learned judge: predicts how many dB a candidate output gains over the step's input.

:class:`LearnedJudge` is :class:`restora.agent.judge.DefaultJudge` with one answer changed: a
candidate's score is the state before the step plus the **predicted true PSNR gain** (dB) of a
small MLP (``restora/weights/judge/``), so the executor keeps the candidate with the largest
predicted gain and :meth:`keeps` compares that gain in dB with ``improve_margin`` (0.2 dB).
The fidelity guard stays; the no-reference-drop guard is off (the NR quality is a feature).

The features (:func:`candidate_features`) are cheap and reuse the assessments the executor has
already made: the change of the analyzer's per-type probabilities, the target type's
probability before and after, the default judge's score change, the NR quality before/after, the low-frequency
fidelity, the step's task, the mean absolute change, the log ratio of Laplacian energy after
to before, the blind noise sigma and blockiness before and after. The model was trained by
``python -m restora.training.judge`` on outputs of restora's own experts on train/ images only
(MODEL_CARD.md beside the weights).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from restora.agent.judge import (
    Assessment,
    DefaultJudge,
    Verdict,
    analysis_probabilities,
    low_frequency_fidelity,
    state_score,
)
from restora.paths import WEIGHTS_DIR
from restora.vocabulary import DEGRADATION_TYPES, TASK_FOR_TYPE, TASKS

JUDGE_DIR = WEIGHTS_DIR / "judge"
WEIGHTS_FILE = "judge.safetensors"
CONFIG_FILE = "judge.json"

FEATURE_NAMES: tuple[str, ...] = (
    *(f"p_change_{t}" for t in DEGRADATION_TYPES),
    "p_target_before",
    "p_target_after",
    "quality_before",
    "quality_after",
    "quality_change",
    "fidelity",
    *(f"task_{t}" for t in TASKS),
    "mean_abs_change",
    "log_laplacian_ratio",
    "noise_sigma_before",
    "noise_sigma_after",
    "blockiness_before",
    "blockiness_after",
    "default_score_change",
)
"""The model's inputs, in order (the config beside the weights repeats them; loading checks).
The absolute per-type probabilities before and after were dropped: with them the model overfit
(cross-validated Spearman 0.06 against 0.4 without, on 20 training items);
``default_score_change`` is :class:`DefaultJudge`'s score change (shipped weights) / 10."""

DEFAULT_WEIGHTS = DefaultJudge().weights


def image_statistics(image: np.ndarray) -> tuple[float, float, float]:
    """(blind noise sigma in 8-bit units, blockiness, mean squared Laplacian of the luma)."""
    from restora.quality.statistics import blockiness, estimate_noise_sigma, luma

    grey = luma(image)
    laplacian = cv2.Laplacian(grey, cv2.CV_32F)
    energy = float(np.mean(laplacian * laplacian))
    return float(estimate_noise_sigma(image)), float(blockiness(image)), energy


def step_task(targets: Sequence[str]) -> str | None:
    """The task a step's target types belong to (None when they name none)."""
    for target in targets:
        if target in TASK_FOR_TYPE:
            return TASK_FOR_TYPE[target]
    return None


def candidate_features(
    before_image: np.ndarray,
    before: Assessment,
    after_image: np.ndarray,
    after: Assessment,
    targets: Sequence[str],
    fidelity: float | None = None,
    before_statistics: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """The :data:`FEATURE_NAMES` vector (float32) for one candidate of a step; ``after_image``
    must have ``before_image``'s shape. ``fidelity`` and ``before_statistics``
    (:func:`image_statistics` of the input) are computed when not given."""
    if before_image.shape != after_image.shape:
        raise ValueError(f"shapes differ: {before_image.shape} and {after_image.shape}")
    p_before = analysis_probabilities(before.analysis)
    p_after = analysis_probabilities(after.analysis)
    pb = np.array([p_before[t] for t in DEGRADATION_TYPES], np.float64)
    pa = np.array([p_after[t] for t in DEGRADATION_TYPES], np.float64)
    target_before = max((p_before.get(t, 0.0) for t in targets), default=0.0)
    target_after = max((p_after.get(t, 0.0) for t in targets), default=0.0)
    if fidelity is None:
        fidelity = low_frequency_fidelity(before_image, after_image)
    task = step_task(targets)
    one_hot = [1.0 if t == task else 0.0 for t in TASKS]
    sigma_b, block_b, energy_b = before_statistics or image_statistics(before_image)
    sigma_a, block_a, energy_a = image_statistics(after_image)
    change = float(np.mean(np.abs(np.asarray(after_image, np.float32) - before_image)))
    default_change = (
        state_score(p_after, targets, after.quality, DEFAULT_WEIGHTS).score
        - state_score(p_before, targets, before.quality, DEFAULT_WEIGHTS).score
    )
    values = [
        *(pa - pb),
        target_before,
        target_after,
        before.quality / 100.0,
        after.quality / 100.0,
        (after.quality - before.quality) / 100.0,
        fidelity,
        *one_hot,
        change * 10.0,
        float(np.log((energy_a + 1e-8) / (energy_b + 1e-8))),
        sigma_b / 25.0,
        sigma_a / 25.0,
        block_b,
        block_a,
        default_change / 10.0,
    ]
    return np.asarray(values, dtype=np.float32)


@dataclass(frozen=True)
class JudgeModelConfig:
    """The MLP's shape and what it expects (saved as ``judge.json`` beside the weights)."""

    features: tuple[str, ...] = FEATURE_NAMES
    hidden: int = 32
    gain_clip: float = 10.0
    """Training targets were clipped to +-``gain_clip`` dB; predictions are clipped the same."""

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "hidden": self.hidden, "gain_clip": self.gain_clip}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JudgeModelConfig:
        return cls(tuple(data["features"]), int(data["hidden"]), float(data["gain_clip"]))


@dataclass(frozen=True)
class JudgeModel:
    """``gain = w2 . relu(w1 . ((x - mean) / std) + b1) + b2``, in numpy (no torch at
    inference). Tensors: ``mean``, ``std`` (F), ``w1`` (H, F), ``b1`` (H), ``w2`` (H), ``b2``
    (1)."""

    config: JudgeModelConfig
    tensors: dict[str, np.ndarray]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted dB gains for (N, F) features (or one (F,) vector: a (1,) array)."""
        x = np.atleast_2d(np.asarray(features, np.float64))
        t = self.tensors
        z = (x - t["mean"]) / t["std"]
        hidden = np.maximum(z @ t["w1"].T.astype(np.float64) + t["b1"], 0.0)
        gain = hidden @ t["w2"].astype(np.float64) + float(t["b2"][0])
        clip = self.config.gain_clip
        return np.asarray(np.clip(gain, -clip, clip))

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``judge.safetensors`` and ``judge.json`` (config plus ``extra``) into
        ``folder``; returns the weights path."""
        from safetensors.numpy import save_file

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in self.tensors.items()}
        save_file(tensors, str(out / WEIGHTS_FILE))
        config = {**self.config.to_dict(), **(extra or {})}
        (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        return out / WEIGHTS_FILE

    @classmethod
    def load(cls, folder: str | Path = JUDGE_DIR) -> JudgeModel:
        """Load from a folder holding ``judge.safetensors`` and ``judge.json`` (or the
        ``.safetensors`` path itself)."""
        from safetensors.numpy import load_file

        from restora.errors import NotAvailableError

        path = Path(folder)
        if path.suffix == ".safetensors":
            path = path.parent
        weights, config_file = path / WEIGHTS_FILE, path / CONFIG_FILE
        if not weights.is_file() or not config_file.is_file():
            raise NotAvailableError(
                f"no learned judge in {path} (train one: python -m restora.training.judge)"
            )
        config = JudgeModelConfig.from_dict(json.loads(config_file.read_text()))
        if config.features != FEATURE_NAMES:
            raise ValueError(f"{config_file}: its features are not this version's FEATURE_NAMES")
        tensors = {k: np.asarray(v, np.float64) for k, v in load_file(str(weights)).items()}
        return cls(config, tensors)


def _image_key(image: np.ndarray) -> bytes:
    sample = np.ascontiguousarray(image[::7, ::5])
    return hashlib.blake2b(sample.tobytes(), digest_size=16).digest() + repr(image.shape).encode()


@dataclass(frozen=True)
class LearnedJudge(DefaultJudge):
    """The default judge whose verdict is the state before plus the model's predicted dB gain
    (module docstring). ``judge_weights``: a folder with ``judge.safetensors``/``judge.json``
    (default the shipped ``restora/weights/judge``), loaded on first use; ``model`` injects
    one."""

    improve_margin: float = 0.2
    max_quality_drop: float = float("inf")
    judge_weights: str | Path | None = None
    model: JudgeModel | None = field(default=None, repr=False, compare=False)
    _model_cache: list[JudgeModel] = field(default_factory=list, repr=False, compare=False)
    _statistics: dict[bytes, tuple[float, float, float]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def get_model(self) -> JudgeModel:
        if self.model is not None:
            return self.model
        if not self._model_cache:
            self._model_cache.append(JudgeModel.load(self.judge_weights or JUDGE_DIR))
        return self._model_cache[0]

    def input_statistics(self, image: np.ndarray) -> tuple[float, float, float]:
        """:func:`image_statistics` of a step's input, computed once for all its candidates."""
        key = _image_key(image)
        found = self._statistics.get(key)
        if found is None:
            if len(self._statistics) > 16:
                self._statistics.clear()
            found = self._statistics[key] = image_statistics(image)
        return found

    def predicted_gain(
        self,
        before_image: np.ndarray,
        before: Assessment,
        after_image: np.ndarray,
        after: Assessment,
        targets: Sequence[str],
        fidelity: float | None = None,
    ) -> float:
        """The model's predicted true PSNR gain (dB) of ``after_image`` over ``before_image``."""
        features = candidate_features(
            before_image,
            before,
            after_image,
            after,
            targets,
            fidelity,
            self.input_statistics(before_image),
        )
        return float(self.get_model().predict(features)[0])

    def verdict(
        self,
        before_image: np.ndarray,
        before: Assessment,
        after_image: np.ndarray,
        after: Assessment,
        targets: Sequence[str],
    ) -> Verdict:
        if before_image.shape != after_image.shape:  # upscaling: no gain against the input
            return super().verdict(before_image, before, after_image, after, targets)
        fidelity, accepted, note = self.guard(before_image, before, after_image, after)
        gain = self.predicted_gain(before_image, before, after_image, after, targets, fidelity)
        base = self.score(before, targets).score
        parts = self.score(after, targets)
        return Verdict(replace(parts, score=base + gain), fidelity, accepted, note)


__all__ = [
    "FEATURE_NAMES",
    "JudgeModel",
    "JudgeModelConfig",
    "LearnedJudge",
    "candidate_features",
    "image_statistics",
]
