"""Quality-guided execution: try each step's candidates, judge them, keep the best or roll back.

For every step the agent runs its candidate experts (the first always, the next ones while the
time budget allows by their predicted cost), asks the judge (``restora.agent.judge``) about each
result (is the target degradation gone? did another one appear? did the no-reference quality
hold? did content move?), and keeps the best candidate only if the judge says it beats the state
before the step; otherwise the step is rolled back (the image stays as it was). The analysis of the kept
result is the re-analysis the next step starts from: a planned step whose degradation is no longer
found is skipped, and in automatic mode a degradation that shows up is added. It stops when no
step is left, or the step limit or the time budget is reached. Every decision goes into the trace.

When the instruction asks for the ``detailed`` look, a generative candidate (a GAN restorer,
``Expert.generative``) that passes the guards is chosen over a faithful one that scores higher
(the judge's quality model cannot reward invented texture); the guards themselves are the same
for every look. Each generative candidate's attempt says in words why it was chosen, not chosen
or not tried (:func:`explain_generative`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from restora.agent.candidates import Candidate
from restora.agent.judge import Assessment, Judge, Verdict, analysis_probabilities
from restora.agent.planning import (
    AgentConfig,
    Plan,
    Step,
    fix_harmful_order,
    make_step,
)
from restora.agent.trace import Attempt, StepRecord, Trace
from restora.experts.base import Expert
from restora.types import Analysis
from restora.vocabulary import TASK_FOR_TYPE

log = logging.getLogger(__name__)


StepObserver = Callable[[StepRecord, np.ndarray, "np.ndarray | None"], None]
"""Called after each step with its record, the image before it and the best candidate's image."""


@dataclass
class _State:
    image: np.ndarray
    assessment: Assessment

    @property
    def analysis(self) -> Analysis:
        return self.assessment.analysis


@dataclass
class _Judged:
    state: _State
    verdict: Verdict
    attempt: Attempt
    candidate: Candidate


@dataclass
class _Budget:
    """The time left: the deadline, less what replaying the kept steps on the full image will
    take when the decisions are made on a crop (``replay_megapixels`` > 0)."""

    deadline: float
    replay_megapixels: float = 0.0
    reserved: float = 0.0

    def remaining(self) -> float:
        return self.deadline - time.perf_counter() - self.reserved


@dataclass(frozen=True)
class ChainStep:
    """A kept step as it is replayed on the full image: the expert, the parameters it ran with,
    the share of its change kept, the task it served."""

    expert: Expert
    params: dict[str, Any]
    blend: float
    task: str

    def apply(self, image: np.ndarray, device: str | None = None) -> np.ndarray:
        output = run_expert(self.expert, image, device, self.params)
        if self.blend == 1.0:
            return output
        return image + np.float32(self.blend) * (output - image)


def is_grey(image: np.ndarray) -> bool:
    """Whether an (H, W, 3) image has three equal planes (a grey photo as restora holds it)."""
    return bool(
        image.ndim == 3
        and image.shape[2] == 3
        and np.array_equal(image[..., 0], image[..., 1])
        and np.array_equal(image[..., 0], image[..., 2])
    )


def run_expert(
    expert: Expert, image: np.ndarray, device: str | None, params: dict[str, Any]
) -> np.ndarray:
    """``expert`` on ``image`` (float32 RGB); a grey image goes through the expert's grey path
    (one plane in, one out: a colour method's cast is averaged away) and comes back as three
    equal planes, so grey stays grey through every step."""
    if not is_grey(image):
        return expert(image, device=device, **params)
    plane = expert(np.ascontiguousarray(image[..., 0]), device=device, **params)
    return np.repeat(plane[..., None], 3, axis=2)


def _try_candidates(
    state: _State,
    step: Step,
    judge: Judge,
    config: AgentConfig,
    strength: str,
    budget: _Budget,
    device: str | None,
) -> tuple[list[Attempt], list[_Judged]]:
    attempts: list[Attempt] = []
    results: list[_Judged] = []
    for index, candidate in enumerate(step.candidates):
        remaining = budget.remaining()
        needed = predicted_seconds(
            candidate, state, config, budget.replay_megapixels, _varies(judge, strength)
        )
        if index > 0 and needed > remaining:
            attempts.append(over_budget(candidate, needed, remaining))
            continue
        try:
            params = candidate.call_params(state.image, strength, step.scale, state.analysis)
            start = time.perf_counter()
            output = run_expert(candidate.expert, state.image, device, params)
            seconds = time.perf_counter() - start
        except Exception as exc:  # an expert that fails is a candidate that lost, not a crash
            if config.raise_errors:
                raise
            log.warning("expert %s failed: %s", candidate.label, exc)
            attempts.append(
                Attempt(candidate.name, {}, 0.0, task=candidate.task, note=f"failed: {exc}",
                        generative=candidate.generative)
            )  # fmt: skip
            continue
        variants = [(1.0, output, params, seconds)]
        # a strength the user chose (light/strong, --param strength) is not varied or halved
        chosen = strength != "normal" or "strength" in candidate.params
        if step.task != "upscale" and not (chosen and step.asked):
            for fraction in config.blend_fractions:
                # a partial step: the expert's change scaled down, for when it overshoots
                blended = state.image + np.float32(fraction) * (output - state.image)
                variants.append((fraction, blended, params, seconds))
        if step.task != "upscale" and not chosen:
            variants += _other_strengths(candidate, state, judge, config, params, device)
        # a candidate of the same size may be judged without its own analysis
        partial = step.task != "upscale"
        assess = getattr(judge, "assess_candidate", judge.assess) if partial else judge.assess
        for blend, image, params, seconds in variants:
            judging = time.perf_counter()
            assessment = assess(image)
            verdict = judge.verdict(state.image, state.assessment, image, assessment, step.targets)
            judging = time.perf_counter() - judging  # the assessment and the verdict
            attempt = Attempt(
                candidate.name,
                dict(params),
                seconds,
                task=candidate.task,
                blend=blend,
                score=verdict.score.score,
                residual=verdict.score.residual,
                quality=verdict.score.quality,
                fidelity=verdict.fidelity,
                others=verdict.score.others,
                accepted=verdict.accepted,
                note=verdict.note,
                judge_seconds=judging,
                generative=candidate.generative,
            )
            attempts.append(attempt)
            results.append(_Judged(_State(image, assessment), verdict, attempt, candidate))
    return attempts, results


def _varies(judge: Judge, strength: str) -> bool:
    """Whether candidates are also tried at other strengths: the judge can tell which is best
    (``judges_strength``) and the user did not choose one."""
    return bool(getattr(judge, "judges_strength", False)) and strength == "normal"


def _other_strengths(
    candidate: Candidate,
    state: _State,
    judge: Judge,
    config: AgentConfig,
    params: dict[str, Any],
    device: str | None,
) -> list[tuple[float, np.ndarray, dict[str, Any], float]]:
    """The candidate run again at ``config.strength_factors`` times its strength, for a judge
    that can tell which strength is closest to the clean photo (``judges_strength``: the
    fidelity judge; a no-reference score would just prefer the smoothest); failures are
    skipped."""
    if not getattr(judge, "judges_strength", False) or "strength" not in candidate.expert.params:
        return []
    base = float(params.get("strength", 1.0))
    out = []
    for factor in config.strength_factors:
        varied = {**params, "strength": round(base * factor, 4)}
        try:
            start = time.perf_counter()
            image = run_expert(candidate.expert, state.image, device, varied)
        except Exception as exc:
            if config.raise_errors:
                raise
            log.warning("expert %s at strength %s failed: %s", candidate.label, varied, exc)
            continue
        out.append((1.0, image, varied, time.perf_counter() - start))
    return out


def over_budget(candidate: Candidate, needed: float, remaining: float) -> Attempt:
    """The attempt of a candidate left out because it would not finish in the time left."""
    return Attempt(
        candidate.name,
        {},
        0.0,
        task=candidate.task,
        note=(
            f"not tried: over the time budget (about {needed:.0f} s needed, "
            f"{max(0.0, remaining):.0f} s left)"
        ),
        generative=candidate.generative,
    )


def _rival(attempt: Attempt, others: list[Attempt]) -> Attempt | None:
    """The best-scoring accepted attempt of another expert (or blend) than ``attempt``."""
    scored = [a for a in others if a is not attempt and a.accepted and a.score is not None]
    return max(scored, key=lambda a: a.score or 0.0) if scored else None


def _against(attempt: Attempt, other: Attempt, verb: str = "scored ") -> str:
    """``"scored 61.2 against ibp's 63.0"``."""
    score, theirs = attempt.score or 0.0, other.score or 0.0
    return f"{verb}{score:.1f} against {other.label}'s {theirs:.1f}"


def explain_generative(
    attempts: list[Attempt],
    chosen: Attempt | None,
    kept: bool,
    for_detail: bool,
    favourite_gain: tuple[Attempt, float, float] | None = None,
) -> list[Attempt]:
    """``attempts`` with the note of every generative candidate's attempt saying in words why
    it was chosen or not ("chosen: asked for detail", "not chosen: scored 61.2 against ibp's
    63.0", "not chosen: rejected by the guard (fidelity 0.41 < 0.6)"); budget and failure notes
    are already words and stay. When the detailed look chose a generative candidate, the
    faithful ones say why they lost too. ``favourite_gain`` is the generative
    candidate the detailed look would have chosen, its gain and the gain it needed, when the
    judge would not keep it."""
    out: list[Attempt] = []
    for attempt in attempts:
        note = attempt.note
        if attempt.note.startswith(("not tried", "failed")):
            pass
        elif attempt.generative and not attempt.accepted:
            note = f"not chosen: rejected by the guard ({attempt.note})"
        elif attempt.generative and attempt is chosen:
            if not kept:
                note = "best candidate, but the step was rolled back"
            elif for_detail:
                rival = _rival(attempt, attempts)
                note = "chosen: asked for detail"
                if rival is not None and (attempt.score or 0.0) >= (rival.score or 0.0):
                    note += f", and it scored best ({_against(attempt, rival, '')})"
                elif rival is not None:
                    note += f" ({_against(attempt, rival)})"
            else:
                rival = _rival(attempt, attempts)
                note = (
                    f"chosen: {_against(attempt, rival)}"
                    if rival is not None
                    else "chosen: the only candidate that passed the guards"
                )
        elif attempt.generative:
            if favourite_gain is not None and favourite_gain[0] is attempt:
                _, gain, needed = favourite_gain
                note = (
                    f"not chosen: asked for detail, but it scored {gain:+.2f} against the "
                    f"state before (needs > {needed:+.2f})"
                )
            elif chosen is not None:
                note = f"not chosen: {_against(attempt, chosen)}"
        elif for_detail and kept and attempt.accepted and not note and chosen is not None:
            if (attempt.score or 0.0) > (chosen.score or 0.0):
                note = f"not chosen: asked for detail, {chosen.label} preferred"
            else:
                note = f"not chosen: {_against(attempt, chosen)}"
        out.append(attempt if note == attempt.note else replace(attempt, note=note))
    return out


def predicted_seconds(
    candidate: Any,
    state: _State,
    config: AgentConfig,
    replay_megapixels: float = 0.0,
    strengths: bool = False,
) -> float:
    """What trying ``candidate`` on ``state`` is expected to cost: the expert's measured seconds
    per megapixel, plus one judge assessment per variant (full step and each blend) at the
    speed the judge showed on this image, plus its replay on the full image when the decisions
    are made on a crop; with ``strengths`` (a judge that tries other strengths) an expert that
    takes ``strength`` counts its runs at ``config.strength_factors`` too."""
    megapixels = state.image.shape[0] * state.image.shape[1] / 1e6
    variants = 1 + (len(config.blend_fractions) if candidate.task != "upscale" else 0)
    runs = 1
    expert = getattr(candidate, "expert", None)
    varied = "strength" in getattr(expert, "params", {}) and "strength" not in getattr(
        candidate, "params", {}
    )
    if candidate.task != "upscale" and varied and strengths:
        runs += len(config.strength_factors)
        variants += len(config.strength_factors)
    run = runs * candidate.predicted_seconds(megapixels)
    if replay_megapixels:
        run += candidate.predicted_seconds(replay_megapixels)
    return float(run + variants * state.assessment.seconds)


def _keeps(judge: Judge, verdict: Verdict, gain: float, asked: bool) -> bool:
    """``judge.keeps`` for a candidate's verdict; a judge that states no confidence is asked
    in the protocol's two-argument form (judges written before ``confidence`` existed)."""
    if verdict.confidence is None:
        return judge.keeps(gain, asked)
    return judge.keeps(gain, asked, confidence=verdict.confidence, needed=verdict.needed)


def _keep_the_lead(
    best: _Judged | None,
    results: list[_Judged],
    pool: list[_Judged],
    step: Step,
    judge: Judge,
) -> tuple[_Judged | None, str]:
    """The step's first-ranked expert at full strength instead of ``best`` when the judge
    predicts ``best`` better by no more than its ``switch_margin`` (0 for judges without one;
    not for upscaling, which the fidelity judge does not judge); with a note when it does."""
    margin = float(getattr(judge, "switch_margin", 0.0))
    if best is None or margin <= 0 or step.task == "upscale" or not results:
        return best, ""
    lead = results[0]
    if lead is best or lead.candidate is not step.candidates[0] or lead.attempt.blend != 1.0:
        return best, ""
    if not any(r is lead for r in pool):
        return best, ""
    ahead = best.verdict.score.score - lead.verdict.score.score
    if ahead > margin:
        return best, ""
    note = (
        f"; {lead.candidate.label} kept over {best.candidate.label}"
        f"{'' if best.attempt.blend == 1.0 else f' at {best.attempt.blend:g}'} "
        f"(predicted {ahead:+.2f} dB, within the judge's {margin:g} dB margin)"
    )
    return lead, note


def run_step(
    state: _State,
    step: Step,
    judge: Judge,
    config: AgentConfig,
    strength: str,
    budget: _Budget,
    device: str | None = None,
    look: str = "faithful",
    left_out: tuple[Attempt, ...] = (),
) -> tuple[StepRecord, _State, np.ndarray | None, ChainStep | None]:
    """Run one step; returns its record, the state after it (the same state if rolled back) and
    the best candidate's image (None when no candidate ran or passed the guard). ``look`` is
    the instruction's (a generative candidate that passes the guards wins for ``detailed``);
    ``left_out`` are the attempts of candidates dropped for the time budget before the step."""
    start = time.perf_counter()
    before = judge.score(state.assessment, step.targets)
    attempts, results = _try_candidates(state, step, judge, config, strength, budget, device)
    attempts = [*left_out, *attempts]
    accepted = [r for r in results if r.attempt.accepted]
    pool = accepted if (accepted or config.rollback) else results
    best = max(pool, key=lambda r: r.verdict.score.score) if pool else None
    best, held = _keep_the_lead(best, results, pool, step, judge)
    for_detail = False
    favourite_gain: tuple[Attempt, float, float] | None = None
    generative = [r for r in accepted if r.candidate.generative]
    if look == "detailed" and best is not None and generative:
        favourite = max(generative, key=lambda r: r.verdict.score.score)
        gain = favourite.verdict.score.score - before.score
        keeps = _keeps(judge, favourite.verdict, gain, step.asked)
        if step.task == "upscale" or not config.rollback or keeps:
            best, for_detail = favourite, True
        else:
            favourite_gain = (favourite.attempt, gain, judge.margin(step.asked))
    if best is None:
        kept = False
        reason = "no candidate passed the fidelity guard" if results else "no candidate ran"
    elif not config.rollback:
        kept, reason = True, "kept (rollback disabled)"
        if best.verdict.confidence is not None:
            gain = best.verdict.score.score - before.score
            reason += (
                f": the best candidate, {gain:+.2f}, {best.verdict.confidence:.0%} sure it helps"
            )
    elif step.task == "upscale":
        why = "as asked" if step.asked else f"({step.source})"
        kept, reason = True, f"kept: upscaled x{step.scale} {why}"
    else:
        gain = best.verdict.score.score - before.score
        sure = best.verdict.confidence
        kept = _keeps(judge, best.verdict, gain, step.asked)
        needed = judge.margin(step.asked)
        if best.verdict.needed is not None and not step.asked:
            needed = max(needed, best.verdict.needed)
        said = "" if sure is None else f", {sure:.0%} sure it helps"
        reason = (
            f"kept: score {gain:+.2f}{said}"
            if kept
            else f"rolled back: best candidate scored {gain:+.2f}{said} (needs > {needed:+.2f})"
        )
    if for_detail and kept and best is not None:
        reason += f"; {best.candidate.label} chosen: asked for detail"
    elif held and kept:
        reason += held
    attempts = explain_generative(
        attempts, best.attempt if best is not None else None, kept, for_detail, favourite_gain
    )
    best_state = best.state if best is not None else None
    if kept and best_state is not None and best_state.assessment.partial:
        # judged on its quality alone: the next step starts from a full analysis
        best_state = _State(best_state.image, judge.assess(best_state.image))
    seconds = time.perf_counter() - start
    record = StepRecord(
        task=step.task,
        source=step.source,
        targets=step.targets,
        expert=best.attempt.expert if best is not None else None,
        kept=kept,
        score_before=before.score,
        score_after=best.verdict.score.score if best is not None else None,
        seconds=seconds,
        reason=reason,
        attempts=tuple(attempts),
        analysis_after=best_state.analysis if (kept and best_state is not None) else None,
        blend=best.attempt.blend if best is not None else 1.0,
        quality_before=state.assessment.quality,
        quality_after=best_state.assessment.quality if best_state is not None else None,
    )
    after = best_state if kept and best_state is not None else state
    chain = None
    if kept and best is not None:
        attempt = best.attempt
        chain = ChainStep(best.candidate.expert, dict(attempt.params), attempt.blend, step.task)
        budget.reserved += best.candidate.predicted_seconds(budget.replay_megapixels)
    return record, after, (best_state.image if best_state is not None else None), chain


def execute(
    image: np.ndarray,
    plan: Plan,
    judge: Judge,
    config: AgentConfig | None = None,
    analysis: Analysis | None = None,
    observe: StepObserver | None = None,
    device: str | None = None,
    assessment: Assessment | None = None,
    replay_megapixels: float = 0.0,
) -> Execution:
    """Run ``plan`` on ``image`` (float32 RGB) and return the restored pixels, the judge's
    assessments before and after, and the trace. ``analysis`` is the analysis of ``image`` when
    the caller already has it (``assessment``: the judge's whole assessment of it); ``device``
    reaches every expert; ``replay_megapixels`` is the size of the full image when ``image`` is a
    decision crop (the budget then keeps time for running the kept chain on it); ``observe(record, image_before,
    best_candidate_image)`` is called after every step (the benchmark uses it to check each
    decision against the ground truth)."""
    config = config or AgentConfig()
    started = time.perf_counter()
    budget = _Budget(started + config.time_budget_s, replay_megapixels)
    rgb = np.asarray(image, dtype=np.float32)
    state = _State(rgb, assessment if assessment is not None else judge.assess(rgb, analysis))
    first = state.assessment
    pending: list[Step] = list(plan.steps)
    after_kept: list[_State] = []  # the state after each kept step, for the last check
    varies = _varies(judge, plan.intent.strength)
    attempted: set[str] = set()
    records: list[StepRecord] = []
    chain: list[ChainStep] = []
    notes = list(plan.notes)
    excluded = set(plan.intent.exclude)
    stopped = ""
    while pending:
        if len(records) >= config.max_steps:
            stopped = f"step limit ({config.max_steps}) reached"
            break
        remaining = budget.remaining()
        left_out: list[Attempt] = []
        if remaining <= 0:
            stopped = f"time budget ({config.time_budget_s:.0f} s) spent"
            notes += [f"{s.task}: not run, time budget spent" for s in pending]
            break
        if pending[0].candidates:
            # the candidates that fit what is left (a slow first choice gives way to a faster
            # one); none: the step is not started, unless it was asked for: then its fastest
            # candidate runs (a large photo the user wants denoised is denoised, late)
            upcoming = pending[0]
            fitting = tuple(
                c
                for c in upcoming.candidates
                if predicted_seconds(c, state, config, replay_megapixels, varies) <= remaining
            )
            if not fitting and upcoming.asked:
                needed, fastest = min(
                    ((predicted_seconds(c, state, config, replay_megapixels, varies), c)
                     for c in upcoming.candidates),
                    key=lambda pair: pair[0],
                )  # fmt: skip
                notes.append(
                    f"{upcoming.task}: over the time budget (about {needed:.0f} s, "
                    f"{remaining:.0f} s left), run because it was asked: {fastest.name}"
                )
                fitting = (fastest,)
            if not fitting:
                needed = predicted_seconds(
                    upcoming.candidates[0], state, config, replay_megapixels, varies
                )
                stopped = (
                    f"time budget ({config.time_budget_s:.0f} s): {upcoming.task} would take "
                    f"about {needed:.0f} s, {remaining:.0f} s left"
                )
                notes += [f"{s.task}: not run, over the time budget" for s in pending]
                break
            if fitting != upcoming.candidates:
                dropped = [c for c in upcoming.candidates if c not in fitting]
                for slow in dropped:
                    needed = predicted_seconds(slow, state, config, replay_megapixels, varies)
                    notes.append(
                        f"{upcoming.task}: {slow.name} left out, over the time budget "
                        f"(about {needed:.0f} s needed, {remaining:.0f} s left)"
                    )
                    left_out.append(over_budget(slow, needed, remaining))
                pending[0] = replace(upcoming, candidates=fitting)
        step = pending.pop(0)
        attempted.add(step.task)
        if config.reanalyse and step.source in ("analyzer", "unsure") and records:
            probabilities = analysis_probabilities(state.analysis)
            left = max(probabilities.get(t, 0.0) for t in step.targets)
            if left < config.resolved_below:
                notes.append(
                    f"{step.task}: skipped, {'/'.join(step.targets)} no longer found "
                    f"(p = {left:.2f}) after the earlier steps"
                )
                continue
        before_image = state.image
        record, state, candidate, kept = run_step(
            state, step, judge, config, plan.intent.strength, budget, device,
            plan.intent.look, tuple(left_out),
        )  # fmt: skip
        records.append(record)
        if kept is not None:
            chain.append(kept)
            after_kept.append(state)
        if observe is not None:
            observe(record, before_image, candidate)
        if config.reanalyse and plan.auto and record.kept:
            planned = {s.task for s in pending} | attempted | excluded
            side_effects = _side_effects(record, step)
            for found in state.analysis.degradations:
                task = TASK_FOR_TYPE[found.type]
                if task in planned:
                    continue
                if found.type in side_effects:
                    notes.append(f"{found.type} after {record.task}: a side effect, not undone")
                    planned.add(task)
                    continue
                new = make_step(
                    task, state.analysis, "analyzer", config, look=plan.intent.look, notes=notes
                )
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
    asked = {s.task for s in plan.steps if s.source == "asked"}
    improves = getattr(judge, "improves", None)
    if (
        config.rollback
        and chain
        and improves is not None
        and not any(c.task in asked for c in chain)
    ):
        received_types = tuple(d.type for d in first.analysis.degradations)
        # do no harm: the longest run of the kept steps (all of them first) whose result is
        # confidently better than the photo received; none: the photo as it came
        why = ""
        for count in range(len(chain), 0, -1):
            tasks = tuple(dict.fromkeys(c.task for c in chain[:count]))
            reached = after_kept[count - 1]
            better, reason = improves(
                rgb, first, reached.image, reached.assessment, received_types, tasks=tasks
            )
            why = why or reason
            if better:
                break
        else:
            count = 0
        if count < len(chain):
            undone = 0
            kept_seen = 0
            updated = []
            for r in records:
                if r.kept:
                    kept_seen += 1
                    if kept_seen > count:
                        undone += 1
                        r = replace(r, kept=False, reason=f"{r.reason}; undone at the end: {why}")
                updated.append(r)
            records = updated
            if count == 0:
                notes.append(f"returned the photo as it came: {why}")
                stopped = "the result was not confidently better than the photo received"
                trace = Trace(tuple(records), tuple(notes), stopped, time.perf_counter() - started)
                return Execution(rgb, first, first, trace, ())
            notes.append(f"the last {undone} kept step(s) undone: {why}")
            state, chain = after_kept[count - 1], chain[:count]
    trace = Trace(tuple(records), tuple(notes), stopped, time.perf_counter() - started)
    return Execution(state.image, first, state.assessment, trace, tuple(chain))


@dataclass(frozen=True)
class Execution:
    """What :func:`execute` returns."""

    image: np.ndarray
    before: Assessment
    after: Assessment
    trace: Trace
    chain: tuple[ChainStep, ...] = ()
    """The kept steps in order, to run on the full image when ``image`` was a crop."""


def _side_effects(record: StepRecord, step: Step) -> frozenset[str]:
    """The kept expert's declared side effects (``Expert.side_effects``): types the analyzer
    may read into its output that are not new damage. On LIVE1 the analyzer saw blur after NLM
    deblocking and Wiener then lost 2.9 dB; on CBSD68 sigma 25 it saw a reflection on 2 of 10
    denoised images, and the added dereflect steps lost 4.6 and 3.4 dB."""
    for candidate in step.candidates:
        if candidate.name == record.expert:
            return candidate.expert.side_effects
    return frozenset()


def summary(trace: Trace) -> dict[str, Any]:
    """Counts for benchmarks: steps run, kept, rolled back."""
    return {
        "steps": len(trace.steps),
        "kept": sum(s.kept for s in trace.steps),
        "rolled_back": sum(not s.kept for s in trace.steps),
    }
