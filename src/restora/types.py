"""The records that flow between modules, shaped like the JSON contracts of ARCHITECTURE.md.

They are frozen dataclasses with ``to_dict()`` giving exactly the contract's JSON shape (extra
keys allowed), so the CLI, the web app and reports never re-shape them by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from restora.vocabulary import DEGRADATION_TYPES, LOOKS, QUALITY_LEVELS, STRENGTHS, TASKS


@dataclass(frozen=True)
class Degradation:
    """One degradation judged present: type from the fixed vocabulary, severity and confidence
    in [0, 1]."""

    type: str
    severity: float
    confidence: float

    def __post_init__(self) -> None:
        if self.type not in DEGRADATION_TYPES:
            raise ValueError(f"unknown degradation type {self.type!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "severity": round(float(self.severity), 4),
            "confidence": round(float(self.confidence), 4),
        }


@dataclass(frozen=True)
class QualityScore:
    """A no-reference quality judgement: a score in [0, 100] (higher is better), its level and
    an optional sentence. ``source`` says which model or metric produced it."""

    score: float
    level: str
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.level not in QUALITY_LEVELS:
            raise ValueError(f"unknown quality level {self.level!r}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"score": round(float(self.score), 3), "level": self.level}
        if self.description:
            out["description"] = self.description
        if self.source:
            out["source"] = self.source
        return out


@dataclass(frozen=True)
class Analysis:
    """What the analyzer sees: degradations present (most confident first), a caption and a
    quality judgement. ``embedding`` is the degradation embedding that can condition restorers
    (not serialised)."""

    degradations: tuple[Degradation, ...]
    caption: str
    quality: QualityScore
    scores: dict[str, float] = field(default_factory=dict)
    embedding: Any = field(default=None, compare=False, repr=False)

    @property
    def is_clean(self) -> bool:
        return not self.degradations

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "degradations": [d.to_dict() for d in self.degradations],
            "caption": self.caption,
            "quality": self.quality.to_dict(),
        }
        if self.scores:
            out["scores"] = {k: round(float(v), 4) for k, v in self.scores.items()}
        return out


@dataclass(frozen=True)
class Intent:
    """What an instruction asks for: tasks in the order asked, tasks excluded, whether the user
    asked for a general fix (``auto``), an upscale factor, a strength and a ``look``:
    ``faithful`` (default) or ``detailed`` when the user asks for sharp, detailed, natural-looking
    results (generative experts first; :data:`restora.vocabulary.LOOKS`)."""

    tasks: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    auto: bool = False
    scale: int | None = None
    strength: str = "normal"
    text: str = ""
    unsupported: tuple[str, ...] = ()
    look: str = "faithful"

    def __post_init__(self) -> None:
        for task in (*self.tasks, *self.exclude):
            if task not in TASKS:
                raise ValueError(f"unknown task {task!r}")
        if self.scale not in (None, 2, 3, 4):
            raise ValueError(f"scale must be 2, 3, 4 or None, got {self.scale!r}")
        if self.strength not in STRENGTHS:
            raise ValueError(f"unknown strength {self.strength!r}")
        if self.look not in LOOKS:
            raise ValueError(f"unknown look {self.look!r}; looks: {', '.join(LOOKS)}")

    @property
    def detailed(self) -> bool:
        """Whether the user asked for invented detail (generative experts first)."""
        return self.look == "detailed"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tasks"] = list(self.tasks)
        out["exclude"] = list(self.exclude)
        out["unsupported"] = list(self.unsupported)
        return out
