"""Quality-guided execution: try each step's candidates, judge them, keep the best or roll back.

For every step the agent runs its candidate experts (the first always, the next ones while the
time budget allows by their predicted cost), judges each result with the analyzer (is the target
degradation gone? did another one appear?), the no-reference quality and the fidelity guard
(``restora.agent.scoring``), and keeps the best candidate only if it beats the state before the
step; otherwise the step is rolled back (the image stays as it was). The analysis of the kept
result is the re-analysis the next step starts from: a planned step whose degradation is no longer
found is skipped, and in automatic mode a degradation that shows up is added. It stops when no
step is left, or the step limit or the time budget is reached. Every decision goes into the trace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from restora.agent.planning import (
    AgentConfig,
    Plan,
    Step,
    fix_harmful_order,
    make_step,
)
from restora.agent.scoring import (
    StateScore,
    analysis_probabilities,
    low_frequency_fidelity,
    state_score,
)
from restora.agent.trace import Attempt, StepRecord, Trace
from restora.types import Analysis
from restora.vocabulary import TASK_FOR_TYPE

log = logging.getLogger(__name__)


SIDE_EFFECTS: dict[str, frozenset[str]] = {
    "denoise": frozenset({"blur", "reflection"}),
    "dejpeg": frozenset({"blur", "reflection"}),
    "derain": frozenset({"blur", "reflection"}),
    "deblur": frozenset({"noise", "jpeg"}),
}
"""Types an expert of a task can itself introduce, or that the analyzer reads into its output
(smoothing reads as blur, and its flat low-contrast areas as a reflection veil; deconvolution
amplifies noise and block edges). When one shows up after such a step it is not added as a new
step: on LIVE1 the analyzer saw blur after NLM deblocking and Wiener then lost 2.9 dB; on
CBSD68 sigma 25 the analyzer of session 4 saw a reflection on 2 of 10 denoised images, and the
added dereflect step lost 4.6 and 3.4 dB."""

StepObserver = Callable[[StepRecord, np.ndarray, "np.ndarray | None"], None]
"""Called after each step with its record, the image before it and the best candidate's image."""


class Judge(Protocol):
    """What the agent needs from the analyzer: an :class:`Analysis` with per-type ``scores``."""

    def analysis(self, image: np.ndarray) -> Analysis: ...


def no_reference_quality(image: np.ndarray) -> float:
    """0-100 no-reference quality (the default model of :func:`restora.quality.assess_nr`)."""
    from restora.quality import assess_nr

    return float(assess_nr(image).score)


@dataclass
class _State:
    image: np.ndarray
    analysis: Analysis
    quality: float

    def score(self, targets: tuple[str, ...], config: AgentConfig) -> StateScore:
        weights = (config.weight_residual, config.weight_others, config.weight_quality)
        return state_score(analysis_probabilities(self.analysis), targets, self.quality, weights)


def _judge(
    state: _State, output: np.ndarray, step: Step, judge: Judge, config: AgentConfig
) -> tuple[_State, StateScore, Attempt]:
    """Analyse and score one candidate output against the state it came from."""
    start = time.perf_counter()
    new_state = _State(output, judge.analysis(output), no_reference_quality(output))
    fidelity = low_frequency_fidelity(state.image, output)
    judge_seconds = time.perf_counter() - start
    score = new_state.score(step.targets, config)
    quality_drop = state.quality - new_state.quality
    accepted = fidelity >= config.fidelity_floor and quality_drop <= config.max_quality_drop
    if fidelity < config.fidelity_floor:
        note = f"fidelity {fidelity:.2f} < {config.fidelity_floor}"
    elif not accepted:
        note = f"no-reference quality fell by {quality_drop:.0f}"
    else:
        note = ""
    attempt = Attempt(
        "",
        {},
        0.0,
        score=score.score,
        residual=score.residual,
        quality=score.quality,
        fidelity=fidelity,
        others=score.others,
        accepted=accepted,
        note=note,
        judge_seconds=judge_seconds,
    )
    return new_state, score, attempt


def _try_candidates(
    state: _State,
    step: Step,
    judge: Judge,
    config: AgentConfig,
    strength: str,
    deadline: float,
) -> tuple[list[Attempt], list[tuple[_State, StateScore, Attempt]]]:
    from restora.experts import get_expert

    megapixels = state.image.shape[0] * state.image.shape[1] / 1e6
    attempts: list[Attempt] = []
    results: list[tuple[_State, StateScore, Attempt]] = []
    for index, candidate in enumerate(step.candidates):
        remaining = deadline - time.perf_counter()
        if index > 0 and candidate.predicted_seconds(megapixels) > remaining:
            attempts.append(
                Attempt(candidate.label, {}, 0.0, note="not tried: over the time budget")
            )
            continue
        try:
            params = candidate.call_params(state.image, strength, step.scale)
            start = time.perf_counter()
            output = get_expert(candidate.expert)(state.image, **params)
            seconds = time.perf_counter() - start
        except Exception as exc:  # an expert that fails is a candidate that lost, not a crash
            log.warning("expert %s failed: %s", candidate.label, exc)
            attempts.append(Attempt(candidate.label, {}, 0.0, note=f"failed: {exc}"))
            continue
        variants = [(candidate.label, output, dict(params))]
        if step.task != "upscale":
            for fraction in config.blend_fractions:
                # a partial step: the expert's change scaled down, for when it overshoots
                blended = state.image + np.float32(fraction) * (output - state.image)
                label = f"{candidate.label}*{fraction:g}"
                variants.append((label, blended, {**params, "blend": fraction}))
        for label, image, used in variants:
            judged = _judge(state, image, step, judge, config)
            attempt = replace(judged[2], expert=label, params=used, seconds=seconds)
            attempts.append(attempt)
            results.append((judged[0], judged[1], attempt))
    return attempts, results


def run_step(
    state: _State,
    step: Step,
    judge: Judge,
    config: AgentConfig,
    strength: str,
    deadline: float,
) -> tuple[StepRecord, _State, np.ndarray | None]:
    """Run one step; returns its record, the state after it (the same state if rolled back) and
    the best candidate's image (None when no candidate ran or passed the guard)."""
    start = time.perf_counter()
    before = state.score(step.targets, config)
    attempts, results = _try_candidates(state, step, judge, config, strength, deadline)
    accepted = [r for r in results if r[2].accepted]
    pool = accepted if (accepted or config.rollback) else results
    best = max(pool, key=lambda r: r[1].score) if pool else None
    if best is None:
        kept = False
        reason = "no candidate passed the fidelity guard" if results else "no candidate ran"
    elif not config.rollback:
        kept, reason = True, "kept (rollback disabled)"
    elif step.task == "upscale":
        kept, reason = True, f"kept: upscaled x{step.scale} as asked"
    else:
        gain = best[1].score - before.score
        needed = 0.0 if step.asked else config.improve_margin
        kept = gain > needed if not step.asked else gain >= needed
        reason = (
            f"kept: score {gain:+.2f}"
            if kept
            else f"rolled back: best candidate scored {gain:+.2f} (needs > {needed:+.2f})"
        )
    seconds = time.perf_counter() - start
    best_state = best[0] if best is not None else None
    record = StepRecord(
        task=step.task,
        source=step.source,
        targets=step.targets,
        expert=best[2].expert if best is not None else None,
        kept=kept,
        score_before=before.score,
        score_after=best[1].score if best is not None else None,
        seconds=seconds,
        reason=reason,
        attempts=tuple(attempts),
        analysis_after=best_state.analysis if (kept and best_state is not None) else None,
    )
    after = best_state if kept and best_state is not None else state
    return record, after, (best_state.image if best_state is not None else None)


def execute(
    image: np.ndarray,
    plan: Plan,
    judge: Judge,
    config: AgentConfig | None = None,
    analysis: Analysis | None = None,
    observe: StepObserver | None = None,
) -> tuple[np.ndarray, Analysis, Trace]:
    """Run ``plan`` on ``image`` (float32 RGB); returns the restored pixels, their analysis and
    the trace. ``analysis`` is the analysis of ``image`` when the caller already has it;
    ``observe(record, image_before, best_candidate_image)`` is called after every step (the
    benchmark uses it to check each decision against the ground truth)."""
    config = config or AgentConfig()
    started = time.perf_counter()
    deadline = started + config.time_budget_s
    rgb = np.asarray(image, dtype=np.float32)
    state = _State(rgb, analysis or judge.analysis(rgb), no_reference_quality(rgb))
    pending: list[Step] = list(plan.steps)
    attempted: set[str] = set()
    records: list[StepRecord] = []
    notes = list(plan.notes)
    excluded = set(plan.intent.exclude)
    stopped = ""
    while pending:
        if len(records) >= config.max_steps:
            stopped = f"step limit ({config.max_steps}) reached"
            break
        if time.perf_counter() >= deadline:
            stopped = f"time budget ({config.time_budget_s:.0f} s) spent"
            notes += [f"{s.task}: not run, time budget spent" for s in pending]
            break
        step = pending.pop(0)
        attempted.add(step.task)
        if config.reanalyse and step.source == "analyzer" and records:
            probabilities = analysis_probabilities(state.analysis)
            left = max(probabilities.get(t, 0.0) for t in step.targets)
            if left < config.resolved_below:
                notes.append(
                    f"{step.task}: skipped, {'/'.join(step.targets)} no longer found "
                    f"(p = {left:.2f}) after the earlier steps"
                )
                continue
        before_image = state.image
        record, state, candidate = run_step(
            state, step, judge, config, plan.intent.strength, deadline
        )
        records.append(record)
        if observe is not None:
            observe(record, before_image, candidate)
        if config.reanalyse and plan.auto and record.kept:
            planned = {s.task for s in pending} | attempted | excluded
            side_effects = SIDE_EFFECTS.get(record.task, frozenset())
            for found in state.analysis.degradations:
                task = TASK_FOR_TYPE[found.type]
                if task in planned:
                    continue
                if found.type in side_effects:
                    notes.append(f"{found.type} after {record.task}: a side effect, not undone")
                    planned.add(task)
                    continue
                new = make_step(task, state.analysis, "analyzer", config)
                if new is not None:
                    notes.append(f"{task}: added, found after {record.task}")
                    pending.append(new)
                    planned.add(task)
            order, _ = fix_harmful_order([s.task for s in pending])
            pending.sort(key=lambda s: order.index(s.task))
    if not stopped:
        if not plan.steps:
            stopped = "nothing to do"
        else:
            stopped = "nothing left above threshold" if plan.auto else "every asked step done"
    trace = Trace(tuple(records), tuple(notes), stopped, time.perf_counter() - started)
    return state.image, state.analysis, trace


def summary(trace: Trace) -> dict[str, Any]:
    """Counts for benchmarks: steps run, kept, rolled back."""
    return {
        "steps": len(trace.steps),
        "kept": sum(s.kept for s in trace.steps),
        "rolled_back": sum(not s.kept for s in trace.steps),
    }
