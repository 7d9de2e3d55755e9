"""The fidelity judge: predicts how many dB a candidate output gains over the step's input, and
how sure it is that it gains anything.

A no-reference quality score measures appeal, not fidelity: on real noisy photos it rises when
a Wiener deconvolution fills a crop with ringing and falls when a denoiser removes the grain
(PolyU: FFDNet +5.9 dB scores 11 where the input scores 41). :class:`LearnedJudge` answers the
question the agent actually asks, "is the candidate closer to the clean photo?", with a small
MLP (``restora/weights/judge``, trained by ``python -m restora.training.judge``) on
:data:`INPUT_NAMES`: what the step changed (:mod:`restora.agent.change`: the residual's
whiteness, strength against the measured noise, correlation with edges, band energies, tone,
colour and clipping changes), the analyzer's probabilities and quality of the step's input, the
candidate's quality and the task. It has two outputs: the predicted PSNR gain (dB) and the
probability that the gain exceeds :data:`HELPS_DB`.

How the agent uses it (:class:`LearnedJudge`, a :class:`restora.agent.judge.DefaultJudge`):

- a candidate's score is the state's score plus the predicted gain, so the executor keeps the
  candidate (expert, blend, strength) with the largest predicted gain;
- an **automatic** step is kept only when its best candidate helps with probability at least
  :data:`CONFIDENCE` (calibrated on held-out rows, MODEL_CARD.md) and a gain above
  ``improve_margin``; an **asked** step keeps its best candidate unless it is predicted to lose;
- candidates are judged without a full analysis (the quality score and the change are enough),
  so only the kept state is analysed again;
- at the end (:meth:`LearnedJudge.improves`) the result of automatic steps is judged against
  the photo received, as one step of the chain's tasks, and the photo is returned as it came
  unless the result helps with the same confidence.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from restora.agent.change import (
    CHANGE_NAMES,
    InputMeasurements,
    change_features,
    measure_input,
)
from restora.agent.judge import Assessment, DefaultJudge, Verdict
from restora.paths import WEIGHTS_DIR
from restora.vocabulary import DEGRADATION_TYPES, TASK_FOR_TYPE, TASKS

JUDGE_DIR = WEIGHTS_DIR / "judge"
WEIGHTS_FILE = "judge.safetensors"
CONFIG_FILE = "judge.json"

HELPS_DB = 0.1
"""A candidate "helps" when it gains more than this many dB."""
CONFIDENCE = 0.8
"""The probability of helping an automatic step (and the end-of-run check) must reach."""
RISK_DB_PER_DB = 0.05
"""An automatic step must also be predicted to gain more the more it changes the photo:
``HELPS_DB + RISK_DB_PER_DB * max(0, RISK_FREE_DB - PSNR(input, candidate))`` dB
(:func:`required_gain`). A wrong tone step (dehazing a flat grey wall) changes a photo by tens
of dB and its predicted gain, carried by a confident false detection, is small: on out-of-fold
training rows this rule removed a tenth of the kept steps that lost more than 3 dB for 0.02 dB
per step."""
RISK_FREE_DB = 40.0


def required_gain(change_log_rms: float) -> float:
    """The predicted gain (dB) an automatic step needs, from the ``log_rms_change`` measurement
    (:mod:`restora.agent.change`: log(1 + RMS change in 8-bit units))."""
    rms = max(float(np.expm1(change_log_rms)), 1e-3)
    distance = 20.0 * np.log10(255.0 / rms)  # PSNR of the candidate against its input
    return HELPS_DB + RISK_DB_PER_DB * max(0.0, RISK_FREE_DB - distance)


INPUT_NAMES: tuple[str, ...] = (
    *CHANGE_NAMES,
    *(f"p_{t}" for t in DEGRADATION_TYPES),
    "quality_before",
    "quality_change",
    *(f"task_{t}" for t in TASKS),
)
"""The model's inputs, in order (the config beside the weights repeats them; loading checks)."""


def judge_inputs(
    change: np.ndarray,
    scores: Mapping[str, float],
    quality_before: float,
    quality_after: float,
    tasks: Sequence[str],
) -> np.ndarray:
    """The :data:`INPUT_NAMES` vector: ``change`` (:func:`restora.agent.change.change_features`),
    the input's analyzer probabilities ``scores`` and 0-100 quality, the candidate's quality,
    the tasks of the step (several for a chain)."""
    return np.concatenate(
        [
            np.asarray(change, np.float32),
            np.array([float(scores.get(t, 0.0)) for t in DEGRADATION_TYPES], np.float32),
            np.array(
                [quality_before / 100.0, (quality_after - quality_before) / 100.0], np.float32
            ),
            np.array([1.0 if t in tasks else 0.0 for t in TASKS], np.float32),
        ]
    )


@dataclass(frozen=True)
class JudgeModelConfig:
    """The MLP's shape and what it expects (saved as ``judge.json`` beside the weights)."""

    features: tuple[str, ...] = INPUT_NAMES
    hidden: int = 64
    gain_clip: float = 10.0
    """Training targets were clipped to +-``gain_clip`` dB; predictions are clipped the same."""
    calibration: tuple[float, float] = (1.0, 0.0)
    """Platt scaling of the "helps" logit, ``sigmoid(a * logit + b)``, fitted on the
    cross-validated (out-of-fold) logits of the training rows."""
    confidence: float = CONFIDENCE
    """The probability an automatic step must reach, chosen on the same out-of-fold rows."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "hidden": self.hidden,
            "gain_clip": self.gain_clip,
            "calibration": list(self.calibration),
            "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JudgeModelConfig:
        a, b = data.get("calibration", (1.0, 0.0))
        return cls(
            tuple(data["features"]),
            int(data["hidden"]),
            float(data["gain_clip"]),
            (float(a), float(b)),
            float(data.get("confidence", CONFIDENCE)),
        )


@dataclass(frozen=True)
class JudgeModel:
    """An MLP in numpy (no torch at inference): standardise with ``mean``/``std``, then
    ``w1``/``b1``, ``w2``/``b2``, ... with ReLU between; the last layer's two outputs are the
    gain (dB) and the logit of "helps"."""

    config: JudgeModelConfig
    tensors: dict[str, np.ndarray]

    def _forward(self, features: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(features, np.float64))
        t = self.tensors
        z = (x - t["mean"]) / t["std"]
        layers = sum(1 for k in t if k.startswith("w"))
        for n in range(1, layers + 1):
            z = z @ np.asarray(t[f"w{n}"], np.float64).T + t[f"b{n}"]
            if n < layers:
                z = np.maximum(z, 0.0)
        return np.asarray(z)

    def raw(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predicted dB gains, uncalibrated logits of helping) for (N, F) features."""
        out = self._forward(features)
        clip = self.config.gain_clip
        return np.clip(out[:, 0], -clip, clip), out[:, 1]

    def predict_both(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predicted dB gains, calibrated probabilities of helping) for (N, F) features."""
        gain, logit = self.raw(features)
        a, b = self.config.calibration
        helps = 1.0 / (1.0 + np.exp(-np.clip(a * logit + b, -30, 30)))
        return gain, helps

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted dB gains for (N, F) features (or one (F,) vector: a (1,) array)."""
        return self.predict_both(features)[0]

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
                f"no fidelity judge in {path} (train one: python -m restora.training.judge)"
            )
        config = JudgeModelConfig.from_dict(json.loads(config_file.read_text()))
        if config.features != INPUT_NAMES:
            raise ValueError(f"{config_file}: its inputs are not this version's INPUT_NAMES")
        tensors = {k: np.asarray(v, np.float64) for k, v in load_file(str(weights)).items()}
        return cls(config, tensors)


def shipped_judge_available() -> bool:
    """Whether the shipped fidelity judge's weights are installed."""
    return (JUDGE_DIR / WEIGHTS_FILE).is_file() and (JUDGE_DIR / CONFIG_FILE).is_file()


def shipped_judge(
    analyzer: Any = None, analyzer_weights: str | Path | None = None, device: str | None = None
) -> DefaultJudge:
    """The judge ``restora.restore`` uses when none is given: :class:`LearnedJudge` with the
    shipped weights, or :class:`restora.agent.judge.DefaultJudge` where they are missing."""
    kind = LearnedJudge if shipped_judge_available() else DefaultJudge
    return kind(analyzer=analyzer, analyzer_weights=analyzer_weights, device=device)


def _image_key(image: np.ndarray) -> tuple[int, tuple[int, ...], bytes]:
    import hashlib

    sample = np.ascontiguousarray(image[::7, ::5])
    return id(image), image.shape, hashlib.blake2b(sample.tobytes(), digest_size=16).digest()


def tasks_of(targets: Sequence[str]) -> tuple[str, ...]:
    """The tasks ``targets`` (degradation types, or task names) belong to."""
    tasks = [TASK_FOR_TYPE.get(t, t) for t in targets]
    return tuple(dict.fromkeys(t for t in tasks if t in TASKS))


@dataclass(frozen=True)
class LearnedJudge(DefaultJudge):
    """The default judge whose verdict is the state before plus the model's predicted dB gain,
    with the probability of helping as its confidence (module docstring). ``judge_weights``:
    a folder with ``judge.safetensors``/``judge.json`` (default the shipped
    ``restora/weights/judge``), loaded on first use; ``model`` injects one."""

    improve_margin: float = 0.1
    final_margin: float = 0.1
    switch_margin: float = 1.0
    """How much more gain (dB) another candidate must be predicted to bring than the step's
    first-ranked expert at full strength to replace it: the model ranks candidates of one step
    only roughly (Kendall tau within a step ~0.55). On out-of-fold training steps whose damage
    is there (``python -m restora.training.judge --margins``, 640 items), the true gain per
    step: no margin +2.43 dB, 0.5 dB +2.48, 1 dB +2.52, 2 dB +2.51, always the first candidate
    +2.43; on single degradations +3.18, +3.33, +3.51, +3.78, +3.86 (the per-task networks
    ranked first are usually best); on PolyU real noise +2.49, +2.41, +2.10, +1.24, +0.07, where
    the first candidate of those rows is ``nafnet_denoise``, collected before the real-noise
    network ranked first (which is then the first candidate: +2.74 dB on held-out PolyU crops
    against FFDNet's +2.47, BENCHMARKS.md): 1 dB gains on the kinds where the first candidate
    is right and costs little where it is not."""
    max_quality_drop: float = float("inf")
    confidence: float | None = None
    """The probability an automatic step must reach (None: the model's, chosen in training)."""
    judges_strength: bool = True
    """The executor also tries other strengths of an expert (``AgentConfig.strength_factors``):
    this judge predicts which is closest to the clean photo."""
    judge_weights: str | Path | None = None
    model: JudgeModel | None = field(default=None, repr=False, compare=False)
    _model_cache: list[JudgeModel] = field(default_factory=list, repr=False, compare=False)
    _inputs: dict[Any, InputMeasurements] = field(default_factory=dict, repr=False, compare=False)

    def get_model(self) -> JudgeModel:
        if self.model is not None:
            return self.model
        if not self._model_cache:
            self._model_cache.append(JudgeModel.load(self.judge_weights or JUDGE_DIR))
        return self._model_cache[0]

    def input_measurements(self, image: np.ndarray) -> InputMeasurements:
        """:func:`restora.agent.change.measure_input` of a step's input, once for all its
        candidates (a few inputs are kept: a step's, and the photo received for the end
        check)."""
        key = _image_key(image)
        found = self._inputs.get(key)
        if found is None:
            if len(self._inputs) > 3:
                self._inputs.clear()
            found = self._inputs[key] = measure_input(image)
        return found

    def assess_candidate(self, image: np.ndarray) -> Assessment:
        """What a candidate needs: its quality only (no analysis: the analysis of the state it
        came from stands in, marked ``partial``); the kept one is assessed in full."""
        if not self._warm:
            self.assess(np.full((16, 16, 3), 0.5, np.float32))
        start = time.perf_counter()
        quality = self.no_reference_quality(image)
        return Assessment(_PARTIAL, quality, time.perf_counter() - start, partial=True)

    def prediction(
        self,
        before_image: np.ndarray,
        before: Assessment,
        after_image: np.ndarray,
        after_quality: float,
        tasks: Sequence[str],
    ) -> tuple[float, float]:
        """(predicted dB gain, probability it exceeds :data:`HELPS_DB`) of ``after_image`` over
        ``before_image``, as a step of ``tasks``."""
        gain, helps, _ = self.prediction_and_need(
            before_image, before, after_image, after_quality, tasks
        )
        return gain, helps

    def prediction_and_need(
        self,
        before_image: np.ndarray,
        before: Assessment,
        after_image: np.ndarray,
        after_quality: float,
        tasks: Sequence[str],
    ) -> tuple[float, float, float]:
        """:meth:`prediction` and the gain an automatic step of this size needs
        (:func:`required_gain`)."""
        measured = self.input_measurements(before_image)
        change = change_features(before_image, after_image, measured=measured)
        inputs = judge_inputs(change, before.probabilities, before.quality, after_quality, tasks)
        gain, helps = self.get_model().predict_both(inputs)
        need = required_gain(float(change[CHANGE_NAMES.index("log_rms_change")]))
        return float(gain[0]), float(helps[0]), need

    def verdict(
        self,
        before_image: np.ndarray,
        before: Assessment,
        after_image: np.ndarray,
        after: Assessment,
        targets: Sequence[str],
    ) -> Verdict:
        if before_image.shape != after_image.shape:
            # upscaling: held to interpolation by the default judge's guards, quality drop too
            strict = replace(self, max_quality_drop=DefaultJudge.max_quality_drop)
            return DefaultJudge.verdict(strict, before_image, before, after_image, after, targets)
        fidelity, accepted, note = self.guard(before_image, before, after_image, after)
        gain, helps, need = self.prediction_and_need(
            before_image, before, after_image, after.quality, tasks_of(targets)
        )
        start = self.score(before, targets)
        parts = start if after.partial else self.score(after, targets)
        score = replace(parts, score=start.score + gain, quality=after.quality)
        return Verdict(score, fidelity, accepted, note, confidence=helps, needed=need)

    def required_confidence(self) -> float:
        """The probability of helping an automatic step must reach."""
        if self.confidence is not None:
            return self.confidence
        return self.get_model().config.confidence

    def keeps(
        self,
        gain: float,
        asked: bool,
        confidence: float | None = None,
        needed: float | None = None,
    ) -> bool:
        if asked:
            return gain >= 0.0
        sure = confidence is None or confidence >= self.required_confidence()
        return sure and gain > max(self.improve_margin, needed or 0.0)

    def improves(
        self,
        received: np.ndarray,
        before: Assessment,
        result: np.ndarray,
        after: Assessment,
        targets: Sequence[str],
        tasks: Sequence[str] = (),
    ) -> tuple[bool, str]:
        """Do no harm: the result of the automatic steps, judged as one step of their ``tasks``
        against the photo received, must help with probability :attr:`confidence`."""
        if result.shape != received.shape:
            return True, ""
        gain, helps, need = self.prediction_and_need(
            received, before, result, after.quality, tuple(tasks) or tasks_of(targets)
        )
        needed = self.required_confidence()
        if helps < needed or gain <= max(self.final_margin, need):
            return False, (
                f"the judge predicts {gain:+.1f} dB against the photo received (a change this "
                f"large needs > {max(self.final_margin, need):+.1f}), {helps:.0%} sure it helps "
                f"(needs {needed:.0%})"
            )
        return True, ""


def _partial_analysis() -> Any:
    from restora.types import Analysis, QualityScore

    return Analysis((), "not analysed: judged on its quality score", QualityScore(0.0, "bad"), {})


_PARTIAL = _partial_analysis()


__all__ = [
    "CONFIDENCE",
    "HELPS_DB",
    "INPUT_NAMES",
    "JUDGE_DIR",
    "JudgeModel",
    "JudgeModelConfig",
    "LearnedJudge",
    "judge_inputs",
    "shipped_judge",
    "shipped_judge_available",
    "tasks_of",
]
