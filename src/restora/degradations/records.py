"""What a synthesis call did: the degradations applied, their parameters and captions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from restora.degradations._common import rounded
from restora.vocabulary import DEGRADATION_TYPES, SYNTHESIS_TYPES


@dataclass(frozen=True)
class AppliedDegradation:
    """One degradation as applied: its type, severity in [0, 1] and physical parameters."""

    type: str
    severity: float
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def __post_init__(self) -> None:
        if self.type not in SYNTHESIS_TYPES:
            raise ValueError(f"unknown degradation type {self.type!r}")

    @property
    def variant(self) -> str:
        """``"realistic"`` for a camera-realistic variant, else ``"classic"``."""
        return str(self.params.get("variant", "classic"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "severity": round(float(self.severity), 4),
            "params": {str(k): rounded(v) for k, v in self.params.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppliedDegradation:
        return cls(str(data["type"]), float(data["severity"]), dict(data.get("params", {})))


@dataclass(frozen=True)
class DegradationRecord:
    """The label of a synthesised image: degradations in the order applied and captions.

    ``caption`` is the first of ``captions`` (several phrasings of the same content, drawn
    deterministically from templates with synonyms).
    """

    degradations: tuple[AppliedDegradation, ...]
    caption: str
    captions: tuple[str, ...] = ()

    @property
    def types(self) -> tuple[str, ...]:
        """Distinct types in the order first applied."""
        return tuple(dict.fromkeys(d.type for d in self.degradations))

    def severity_of(self, type_name: str) -> float:
        """Highest severity applied for ``type_name`` (0 when absent; second-order passes
        count)."""
        return max((d.severity for d in self.degradations if d.type == type_name), default=0.0)

    def labels(
        self, vocabulary: tuple[str, ...] = DEGRADATION_TYPES
    ) -> tuple[np.ndarray, np.ndarray]:
        """Multi-hot presence and severity vectors (float32) over ``vocabulary``."""
        severity = np.array([self.severity_of(t) for t in vocabulary], dtype=np.float32)
        present = np.array([t in self.types for t in vocabulary], dtype=np.float32)
        return present, severity

    def to_dict(self) -> dict[str, Any]:
        """The ``degrade --json`` shape (without ``output``)."""
        return {"degradations": [d.to_dict() for d in self.degradations], "caption": self.caption}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DegradationRecord:
        captions = tuple(data.get("captions", ()))
        return cls(
            tuple(AppliedDegradation.from_dict(d) for d in data["degradations"]),
            str(data.get("caption", captions[0] if captions else "")),
            captions,
        )
