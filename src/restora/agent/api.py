"""``restora.restore``: one request -> plan -> quality-guided execution -> Result.

Every surface (the CLI, the web app, batch, the demo) builds one :class:`RestoreRequest` and
calls :func:`restore`; an explicit request (``tasks`` without an instruction's planning, or a
named ``expert``) runs through the same executor as the agent, with
:data:`restora.agent.planning.EXPLICIT` settings instead of planning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from restora.agent.crops import Crop, choose_decision_crop, needs_crop, with_photo_findings
from restora.agent.execution import Execution, StepObserver, execute
from restora.agent.judge import Judge
from restora.agent.learned_judge import shipped_judge
from restora.agent.planning import (
    EXPLICIT,
    EXPLICIT_JUDGED,
    AgentConfig,
    plan,
    plan_explicit,
    unsure_types,
)
from restora.agent.trace import Result, Trace
from restora.errors import RestoraError
from restora.types import Intent
from restora.vocabulary import STRENGTHS, TASKS


@dataclass(frozen=True)
class RestoreRequest:
    """What a user asks for, whichever surface they use.

    ``instruction`` is plain English (empty: fix what the analyzer finds); ``tasks`` add to it
    (with ``explicit`` they are all that runs: ``--task``); ``expert`` names one expert to run
    (``--expert``, or ``onnx:PATH``); ``exclude`` is never run; ``scale`` an upscaling factor;
    ``strength`` light/normal/strong; ``budget`` seconds for the agent; ``device`` where
    learned models run (auto, cpu, cuda); ``params`` fixed expert parameters (``--param``);
    ``analyzer_weights`` another analyzer."""

    instruction: str | None = None
    tasks: tuple[str, ...] = ()
    expert: str | None = None
    exclude: tuple[str, ...] = ()
    scale: int | None = None
    strength: str | None = None
    budget: float | None = None
    device: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    analyzer_weights: str | Path | None = None
    explicit: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "exclude", tuple(self.exclude))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        bad = [t for t in (*self.tasks, *self.exclude) if t not in TASKS]
        if bad:
            raise RestoraError(f"unknown task {bad[0]!r}; tasks: {', '.join(TASKS)}")
        if self.strength is not None and self.strength not in STRENGTHS:
            raise RestoraError(f"strength must be one of {', '.join(STRENGTHS)}")
        if self.scale is not None and self.scale not in (2, 3, 4):
            raise RestoraError(f"--scale upscales x2, x3 or x4, not x{self.scale}")
        if self.budget is not None and not self.budget > 0:
            raise RestoraError("the time budget must be a positive number of seconds")
        if self.expert is not None and not self.explicit:
            object.__setattr__(self, "explicit", True)
        if self.explicit and not (self.tasks or self.expert):
            raise RestoraError("an explicit request names tasks or an expert")
        if self.explicit and self.exclude:
            raise RestoraError("--exclude is for the agent: leave out --task/--expert")

    def config(self, base: AgentConfig | None = None, judged: bool = False) -> AgentConfig:
        """The executor settings for this request (``judged``: the judge predicts fidelity, so
        an explicit ``--task`` step chooses among candidates, :data:`EXPLICIT_JUDGED`)."""
        explicit = EXPLICIT_JUDGED if judged and self.expert is None else EXPLICIT
        config = explicit if self.explicit else (base or AgentConfig())
        if self.budget is not None:
            config = replace(config, time_budget_s=float(self.budget))
        return config


def _unsure(judge: Any, analysis: Any, config: AgentConfig) -> tuple[str, ...]:
    """The types the analyzer is unsure of (:func:`restora.agent.planning.unsure_types`),
    tried only under a judge that predicts fidelity (``judges_strength``); else none."""
    get_analyzer = getattr(judge, "get_analyzer", None)
    if not getattr(judge, "judges_strength", False) or get_analyzer is None:
        return ()
    analyzer = get_analyzer()
    thresholds = getattr(analyzer, "thresholds", None)
    config_types = getattr(getattr(analyzer, "config", None), "types", None)
    if thresholds is None or config_types is None:
        return ()
    return unsure_types(analysis, config_types, [float(t) for t in thresholds], config)


def _conditions(
    rgb: np.ndarray, analysis: Any, tasks: Sequence[str], unsure: Sequence[str]
) -> tuple[str, ...]:
    """The conditions measured on the photo that choose a step's experts
    (:data:`restora.vocabulary.CONDITIONS`), measured only when a denoising step may be planned
    (asked, or noise found or unsure): ``white noise`` (:func:`restora.quality.statistics.
    has_white_noise`)."""
    found = {d.type for d in analysis.degradations} | set(unsure)
    if "denoise" not in tasks and "noise" not in found:
        return ()
    from restora.quality.statistics import has_white_noise

    return ("white noise",) if has_white_noise(rgb) else ()


Progress = Callable[[str, "float | None", "float | None"], None]
"""``progress(message, fraction done, seconds left)`` (the last two None when unknown)."""


def _silent(message: str, fraction: float | None, eta: float | None) -> None:
    return None


def as_image(image: Any) -> Any:
    """A :class:`restora.Image` from an Image, a path or an array (grey is repeated to RGB)."""
    from restora.io import Image, load

    if isinstance(image, Image):
        return image
    if isinstance(image, (str, Path)):
        return load(image)
    array = np.asarray(image)
    if np.issubdtype(array.dtype, np.floating):
        array = np.clip(array, 0.0, 1.0).astype(np.float32)
    return Image.from_array(array)


def make_intent(
    instruction: str | Intent | None,
    tasks: Sequence[str] = (),
    exclude: Sequence[str] = (),
    scale: int | None = None,
    strength: str | None = None,
) -> Intent:
    """The instruction parsed (an empty one means "fix what you find"), with explicit tasks,
    exclusions, scale and strength added on top."""
    if isinstance(instruction, Intent):
        intent = instruction
    elif instruction is None or not instruction.strip():
        intent = Intent(auto=True)
    else:
        from restora.language import parse, require_actionable

        intent = require_actionable(parse(instruction))
    _refuse_contradiction(intent, tasks, exclude)
    return replace(
        intent,
        tasks=tuple(dict.fromkeys([*intent.tasks, *tasks])),
        exclude=tuple(dict.fromkeys([*intent.exclude, *exclude])),
        scale=scale if scale is not None else intent.scale,
        strength=strength or intent.strength,
        auto=intent.auto or not (intent.tasks or tasks),
    )


def _refuse_contradiction(intent: Intent, tasks: Sequence[str], exclude: Sequence[str]) -> None:
    """A task both asked for and excluded, one by the instruction and one by an option
    (``-i "don't denoise" --task denoise``), is a usage error, as ``--task denoise
    --exclude denoise`` is: which of the two was meant cannot be guessed."""
    for task in tasks:
        if task in intent.exclude:
            raise RestoraError(
                f"--task {task} asks for what the instruction excludes ({intent.text!r}): "
                f"drop one of them"
            )
    for task in exclude:
        if task in intent.tasks:
            raise RestoraError(
                f"--exclude {task} excludes what the instruction asks for ({intent.text!r}): "
                f"drop one of them"
            )


def _load_expert(request: RestoreRequest) -> Any:
    from restora.experts import get_expert

    if request.expert is None:
        return None
    options: dict[str, Any] = {}
    if request.expert.startswith("onnx:"):
        options = {"task": request.tasks[0] if request.tasks else None, "scale": request.scale}
    return get_expert(request.expert, **options)


def restore(
    image: Any,
    instruction: str | Intent | None = None,
    *,
    request: RestoreRequest | None = None,
    tasks: Sequence[str] = (),
    exclude: Sequence[str] = (),
    scale: int | None = None,
    strength: str | None = None,
    config: AgentConfig | None = None,
    judge: Judge | None = None,
    analyzer: Any = None,
    weights: str | Path | None = None,
    device: str | None = None,
    observe: StepObserver | None = None,
    progress: Progress | None = None,
) -> Result:
    """Restore ``image`` (an :class:`restora.Image`, a path or an array) as asked.

        >>> result = restora.restore("photo.jpg", "remove the noise but keep it dark")
        >>> result.image            # restora.Image (alpha and metadata kept)
        >>> print("\\n".join(result.trace.lines()))

    ``request`` is the whole request (:class:`RestoreRequest`); the keyword arguments build one
    when it is not given (``instruction``, ``tasks``, ``exclude``, ``scale``, ``strength``,
    ``weights`` for the analyzer, ``device``). ``config`` sets the agent's budgets; ``judge``
    decides what is kept (default :func:`restora.agent.learned_judge.shipped_judge`, the
    fidelity judge; ``analyzer``
    replaces only its analyzer: anything with ``.analysis(image)``); ``observe`` sees every
    step (see :func:`restora.agent.execute`); ``progress(message, fraction, eta_seconds)`` hears
    what is being done (``fraction`` and ``eta_seconds`` None when unknown).
    """
    if request is None:
        text = instruction if isinstance(instruction, str) or instruction is None else None
        request = RestoreRequest(
            instruction=text,
            tasks=tuple(tasks),
            exclude=tuple(exclude),
            scale=scale,
            strength=strength,
            device=device,
            analyzer_weights=weights,
        )
    source = as_image(image)
    parsed = instruction if isinstance(instruction, Intent) else request.instruction
    # the intent first: an instruction that contradicts the options fails before any work
    if request.explicit:
        intent = make_intent(parsed, request.tasks, (), request.scale, request.strength)
        intent = replace(intent, auto=False)
    else:
        intent = make_intent(
            parsed, request.tasks, request.exclude, request.scale, request.strength
        )
    if judge is None:
        judge = shipped_judge(analyzer, request.analyzer_weights, request.device)
    judged = bool(getattr(judge, "judges_strength", False))
    run_config = request.config(config, judged)
    rgb = source.rgb
    tell: Progress = progress or _silent
    tell(f"analysing the {rgb.shape[1]}x{rgb.shape[0]} photo", 0.0, None)
    whole = _with_file_signals(judge.analysis(rgb), source)
    crop = None
    if needs_crop(rgb.shape, run_config.decision_side):
        crop = choose_decision_crop(rgb, judge, whole, run_config.decision_side)
    decide_on = np.ascontiguousarray(crop.of(rgb)) if crop is not None else rgb
    decide_analysis = whole
    if crop is not None:
        decide_analysis = with_photo_findings(crop.analysis or judge.analysis(decide_on), whole)
    before = judge.assess(decide_on, decide_analysis)
    unsure = () if request.explicit else _unsure(judge, whole, run_config)
    conditions = _conditions(rgb, whole, (*intent.tasks, *request.tasks), unsure)
    if request.explicit:
        steps = plan_explicit(
            request.tasks, _load_expert(request), request.scale, request.params, intent,
            run_config.max_candidates, conditions,
        )  # fmt: skip
    else:
        steps = plan(whole, intent, run_config, rgb.shape, unsure, conditions)
    where = f"on a {crop.describe()}" if crop is not None else "on the photo"
    tell(f"deciding {where}: {len(steps.steps)} planned steps", 0.05, None)
    seen: list[int] = []

    def watch(record: Any, before_image: np.ndarray, candidate: Any) -> None:
        seen.append(1)
        planned = max(len(steps.steps), len(seen))
        verdict = "kept" if record.kept else "rolled back"
        share = 0.05 + (0.45 if crop is not None else 0.9) * len(seen) / (planned + 1)
        tell(f"step {len(seen)}: {record.task} with {record.label}, {verdict}", share, None)
        if observe is not None:
            observe(record, before_image, candidate)

    done = execute(
        decide_on,
        steps,
        judge,
        run_config,
        observe=watch,
        device=request.device,
        assessment=before,
        replay_megapixels=rgb.shape[0] * rgb.shape[1] / 1e6 if crop is not None else 0.0,
    )
    trace = done.trace
    restored = done.image
    after_analysis = done.after.analysis if trace.kept else whole
    if crop is not None:
        restored, trace = _run_chain_on_whole(rgb, done, crop, request.device, tell)
        after_analysis = judge.analysis(restored) if trace.kept else whole
    output = source.with_rgb(restored) if trace.kept else source
    after = done.after if trace.kept else done.before
    tell(f"done: {len(trace.kept)} of {len(trace.steps)} steps kept", 1.0, 0.0)
    return Result(
        output,
        whole,
        after_analysis,
        intent,
        steps,
        trace,
        source,
        quality_before=done.before.quality,
        quality_after=after.quality,
        quality_model=str(getattr(judge, "quality_model", "")),
    )


def _with_file_signals(analysis: Any, source: Any) -> Any:
    """The whole photo's analysis joined with what its file says (a JPEG's quantization tables
    give its quality directly: ``restora.perception.analyzer.with_file_signals``); arrays and
    files without such signals keep the pixel analysis."""
    from restora.perception.analyzer import file_signals, with_file_signals

    signals = file_signals(source)
    return with_file_signals(analysis, signals) if signals else analysis


def _run_chain_on_whole(
    rgb: np.ndarray, done: Execution, crop: Crop, device: str | None, tell: Progress
) -> tuple[np.ndarray, Trace]:
    """Run the chain kept on the decision crop once on the full image; the trace says where
    the decisions were made and what the full-size run took."""
    import time

    start = time.perf_counter()
    image = rgb
    for index, step in enumerate(done.chain):
        megapixels = image.shape[0] * image.shape[1] / 1e6
        eta = sum(s.expert.cost for s in done.chain[index:]) * megapixels
        tell(
            f"running {step.expert.name} on the whole photo ({index + 1}/{len(done.chain)})",
            0.5 + 0.5 * index / len(done.chain),
            eta,
        )
        image = step.apply(image, device)
    seconds = time.perf_counter() - start
    trace = done.trace
    note = f"decided on a {crop.describe()} of the {rgb.shape[1]}x{rgb.shape[0]} photo"
    if done.chain:
        names = ", ".join(s.expert.name for s in done.chain)
        note += f"; ran the kept chain ({names}) on the whole photo in {seconds:.1f} s"
    trace = replace(trace, notes=(*trace.notes, note), seconds=trace.seconds + seconds)
    return image, trace
