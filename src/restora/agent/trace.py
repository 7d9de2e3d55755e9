"""The records of an agent run: every candidate tried, every step kept or rolled back, the result.

They are frozen dataclasses with ``to_dict()`` in the ``restore --json`` contract's shape
(ARCHITECTURE.md): ``steps: [{"task", "expert", "kept", "score_before", "score_after",
"seconds"}, ...]`` plus the candidates, reasons and analyses the HTML report shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from restora.agent.planning import Plan
from restora.experts.base import plain_param
from restora.types import Analysis, Intent


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass(frozen=True)
class Attempt:
    """One candidate expert run on a step's input and judged: ``task`` is the task it served
    (another than the expert's own for a cross-task candidate), ``blend`` the fraction of its
    change that was kept (1: the full output; 0.5: half way between input and output);
    ``generative`` marks a GAN restorer's attempt, whose ``note`` says in words why it was
    chosen, not chosen or not tried."""

    expert: str
    params: dict[str, Any]
    seconds: float
    task: str = ""
    blend: float = 1.0
    score: float | None = None
    residual: float | None = None
    quality: float | None = None
    fidelity: float | None = None
    others: float | None = None
    accepted: bool = False
    note: str = ""
    judge_seconds: float = 0.0
    generative: bool = False

    @property
    def label(self) -> str:
        """The expert, with the share of its change when it is not all of it."""
        return self.expert if self.blend == 1.0 else f"{self.expert} at {self.blend:g}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "expert": self.expert,
            "task": self.task,
            "blend": self.blend,
            "params": {k: plain_param(v) for k, v in self.params.items()},
            "seconds": _round(self.seconds),
            "judge_seconds": _round(self.judge_seconds),
            "score": _round(self.score),
            "residual": _round(self.residual, 4),
            "quality": _round(self.quality),
            "fidelity": _round(self.fidelity, 4),
            "others": _round(self.others, 4),
            "accepted": self.accepted,
            "note": self.note,
            "generative": self.generative,
        }


@dataclass(frozen=True)
class StepRecord:
    """One executed step: the chosen (or best rejected) expert, whether it was kept, the score
    of the state before and of the best candidate, the time, the reason and the attempts."""

    task: str
    source: str
    targets: tuple[str, ...]
    expert: str | None
    kept: bool
    score_before: float | None
    score_after: float | None
    seconds: float
    reason: str
    attempts: tuple[Attempt, ...] = ()
    analysis_after: Analysis | None = field(default=None, compare=False)
    blend: float = 1.0
    quality_before: float | None = None
    quality_after: float | None = None

    @property
    def label(self) -> str:
        """The chosen expert, with the share of its change kept when it is not all of it."""
        if self.expert is None:
            return "-"
        return self.expert if self.blend == 1.0 else f"{self.expert} at {self.blend:g}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "expert": self.expert,
            "blend": self.blend,
            "kept": self.kept,
            "score_before": _round(self.score_before),
            "score_after": _round(self.score_after),
            "seconds": _round(self.seconds),
            "source": self.source,
            "targets": list(self.targets),
            "reason": self.reason,
            "quality_before": _round(self.quality_before),
            "quality_after": _round(self.quality_after),
            "candidates": [a.to_dict() for a in self.attempts],
        }


@dataclass(frozen=True)
class Trace:
    """Every decision of a run in order: plan notes, steps, skipped steps and why it stopped."""

    steps: tuple[StepRecord, ...]
    notes: tuple[str, ...]
    stopped: str
    seconds: float

    @property
    def kept(self) -> list[StepRecord]:
        return [s for s in self.steps if s.kept]

    def lines(self) -> list[str]:
        """The trace in short lines for a terminal."""
        out = [f"plan: {note}" for note in self.notes]
        for step in self.steps:
            verdict = "kept" if step.kept else "rolled back"
            scores = f"{step.score_before or 0:.1f} -> {step.score_after or 0:.1f}"
            line = f"{step.task} with {step.label}: {verdict}, score {scores}"
            line += f", {step.seconds:.1f} s"
            if not step.kept:
                line += f" ({step.reason.removeprefix('rolled back: ')})"
            elif "asked for detail" in step.reason:
                line += " (asked for detail)"
            out.append(line)
            # why each generative candidate (a GAN restorer) was chosen, not chosen or not tried
            out += [
                f"  {a.label}: {a.note.replace(': ', ', ', 1)}"
                for a in step.attempts
                if a.generative and a.note
            ]
        out.append(f"stop: {self.stopped} ({self.seconds:.1f} s)")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [s.to_dict() for s in self.steps],
            "notes": list(self.notes),
            "stopped": self.stopped,
            "seconds": _round(self.seconds),
        }


@dataclass(frozen=True)
class Result:
    """What :func:`restora.restore` returns: the restored pixels (an :class:`restora.Image`
    keeping the input's alpha and metadata), the analyses before and after, the judge's 0-100
    no-reference quality before and after (``quality_model`` names the model), the intent, the
    plan and the trace. Surfaces show these figures; they never recompute them."""

    image: Any
    analysis_before: Analysis
    analysis_after: Analysis
    intent: Intent
    plan: Plan
    trace: Trace
    input_image: Any = field(default=None, compare=False, repr=False)
    quality_before: float | None = None
    quality_after: float | None = None
    quality_model: str = ""

    @property
    def rgb(self) -> np.ndarray:
        return np.asarray(self.image.rgb)

    @property
    def steps(self) -> tuple[StepRecord, ...]:
        return self.trace.steps

    def to_dict(self, output: str | None = None) -> dict[str, Any]:
        """The ``restore --json`` object."""
        return {
            "output": output,
            "analysis_before": self.analysis_before.to_dict(),
            "analysis_after": self.analysis_after.to_dict(),
            "intent": self.intent.to_dict(),
            "steps": [s.to_dict() for s in self.trace.steps],
            "plan": {"tasks": self.plan.tasks, "auto": self.plan.auto},
            "quality": {
                "model": self.quality_model,
                "before": _round(self.quality_before),
                "after": _round(self.quality_after),
            },
            "notes": list(self.trace.notes),
            "stopped": self.trace.stopped,
            "seconds": _round(self.trace.seconds),
        }
