"""Planning: what the analyzer sees plus what the user asked -> ordered steps with candidates.

Order rule (docs/agent.md has the measurements): the degradation engine, like a camera, applies
scene effects first (haze, rain, a reflection in the glass), then optics (defocus, motion), then
the sensor (low light with its shot noise, additive noise), then processing (JPEG). Each step can
only be undone once what came after it is gone, so the agent undoes them in **reverse**:
``dejpeg`` (block edges would otherwise be read as structure by everything after), ``denoise``
(deconvolution and brightening amplify noise), ``brighten``, ``deblur``, then the scene:
``dereflect``, ``derain``, ``dehaze`` (haze removal divides by the transmission, which blows up any
noise or rain left). ``upscale`` goes last: restoring at native size costs a fraction of the time
and interpolators assume a clean input.

Explicit tasks keep the user's order except for pairs in :data:`HARMFUL_BEFORE`, which are swapped
(and the swap is noted in the plan); ``exclude`` always wins, including over explicit tasks.

Generative experts (``Expert.generative``: GAN restorers that invent plausible texture) are
placed by :func:`choose_candidates`: first when the instruction asks for the ``detailed`` look
(with the best faithful expert kept as a fallback), offered after the faithful ones for the
automatic upscale of a small photo the analyzer finds damaged, and otherwise left where their
rank and cost put them (after the faithful experts, usually out of the per-megapixel limit). One
that could not finish within the whole time budget on this image is not offered, and the plan
says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from restora.agent.candidates import Candidate, candidates_for
from restora.errors import NotAvailableError, RestoraError
from restora.types import Analysis, Intent
from restora.vocabulary import TASK_FOR_TYPE, TYPES_FOR_TASK

if TYPE_CHECKING:
    from restora.experts.base import Expert

TASK_ORDER: tuple[str, ...] = (
    "dejpeg",
    "denoise",
    "brighten",
    "deblur",
    "dereflect",
    "derain",
    "dehaze",
    "upscale",
)
"""Degradation formation undone in reverse (module docstring), upscale last."""


HARMFUL_BEFORE: frozenset[tuple[str, str]] = frozenset(
    {
        ("deblur", "denoise"),  # deconvolution amplifies the noise it is then asked to remove
        ("deblur", "dejpeg"),  # and sharpens 8x8 block edges into structure
        ("brighten", "denoise"),  # brightening multiplies the noise in the shadows
        ("dehaze", "denoise"),  # dividing by a small transmission amplifies noise
        ("upscale", "denoise"),  # interpolation spreads noise into correlated blobs
        ("upscale", "dejpeg"),  # and blocks into smooth steps no deblocker recognises
        ("upscale", "deblur"),
    }
)
"""(a, b): running ``a`` before ``b`` is known to hurt, so ``b`` is moved before ``a``."""


@dataclass(frozen=True)
class AgentConfig:
    """Budgets and thresholds of the agent (the defaults are the shipped ones). How a state is
    scored and when a step is kept belong to the judge (``restora.agent.judge``)."""

    time_budget_s: float = 60.0
    max_candidates: int = 2
    max_steps: int = 6
    max_seconds_per_mp: float = 20.0
    small_side: int = 256
    small_scale: int = 2
    blend_fractions: tuple[float, ...] = (0.5,)
    strength_factors: tuple[float, ...] = (0.6, 1.4)
    """An expert that takes ``strength`` is also tried at these multiples of it when the judge
    can tell which is closest to the clean photo (``judges_strength``, the fidelity judge)."""
    resolved_below: float = 0.2
    rollback: bool = True
    reanalyse: bool = True
    raise_errors: bool = False
    unsure_types: tuple[str, ...] = ("noise",)
    """Types tried also when the analyzer is unsure of them (a probability of at least
    ``unsure_fraction`` of the decision threshold, under it), provided the judge predicts
    fidelity: such a step is kept only on that judge's calibrated verdict, never on the
    no-reference score. Noise: its decision threshold is the highest (clean photos finished by
    a camera carry a little grain), so mild real grain often falls just under it, its experts
    are faithful and cheap, and the judge learned real grain (PolyU) and false alarms."""
    unsure_fraction: float = 0.5
    decision_side: int = 384
    """Photos larger than two such squares are decided on one crop of this side and the kept
    chain then runs once on the full image (``restora.agent.crops``); 0 decides on the full
    image whatever its size."""

    def __post_init__(self) -> None:
        if self.max_candidates < 1 or self.max_steps < 0 or not self.time_budget_s > 0:
            raise ValueError("max_candidates >= 1, max_steps >= 0 and time_budget_s > 0")
        if self.small_scale not in (2, 3, 4):
            raise ValueError("small_scale must be 2, 3 or 4")


@dataclass(frozen=True)
class Step:
    """One planned step: a task, the analyzer types it targets, why it is there (``asked``,
    ``analyzer`` or ``small image``) and the candidate experts, best first."""

    task: str
    targets: tuple[str, ...]
    source: str
    candidates: tuple[Candidate, ...]
    scale: int | None = None

    @property
    def asked(self) -> bool:
        return self.source == "asked"


@dataclass(frozen=True)
class Plan:
    """The ordered steps, the intent they came from and the reasons for each decision."""

    steps: tuple[Step, ...]
    intent: Intent
    auto: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def tasks(self) -> list[str]:
        return [s.task for s in self.steps]


def order_tasks(tasks: Sequence[str]) -> list[str]:
    """Tasks in :data:`TASK_ORDER`."""
    return sorted(dict.fromkeys(tasks), key=TASK_ORDER.index)


def fix_harmful_order(tasks: Sequence[str]) -> tuple[list[str], list[str]]:
    """Keep ``tasks`` in order but move ``b`` before ``a`` for every pair in
    :data:`HARMFUL_BEFORE`; returns the new order and a note per move."""
    out = list(dict.fromkeys(tasks))
    notes: list[str] = []
    changed = True
    while changed:  # at most len(tasks)^2 swaps: each move fixes one inverted pair for good
        changed = False
        for i, first in enumerate(out):
            for later in out[i + 1 :]:
                if (first, later) in HARMFUL_BEFORE:
                    out.remove(later)
                    out.insert(i, later)
                    notes.append(f"moved {later} before {first}: {first} first is known to hurt")
                    changed = True
                    break
            if changed:
                break
    return out, notes


def unsure_types(
    analysis: Analysis, types: Sequence[str], thresholds: Sequence[float], config: AgentConfig
) -> tuple[str, ...]:
    """The types of ``config.unsure_types`` whose probability lies in
    [``unsure_fraction`` x threshold, threshold) (the analyzer's ``types`` and ``thresholds``)."""
    out = []
    for kind, threshold in zip(types, thresholds, strict=True):
        p = float(analysis.scores.get(kind, 0.0))
        if kind in config.unsure_types and config.unsure_fraction * threshold <= p < threshold:
            out.append(kind)
    return tuple(out)


def detected_tasks(analysis: Analysis) -> list[str]:
    """Tasks for the degradations the analyzer judged present."""
    return [TASK_FOR_TYPE[d.type] for d in analysis.degradations]


def targets_for(task: str, analysis: Analysis) -> tuple[str, ...]:
    """The analyzer types a step for ``task`` aims at: the detected ones, else all it undoes."""
    found = tuple(d.type for d in analysis.degradations if TASK_FOR_TYPE[d.type] == task)
    return found or TYPES_FOR_TASK[task]


def offers_generative(task: str, source: str, analysis: Analysis) -> bool:
    """Whether a faithful step still offers a generative expert: the automatic upscale of a
    small photo with damage the analyzer found (old, compressed, noisy thumbnails, where a GAN
    restorer removes the damage while it upscales)."""
    return task == "upscale" and source == "small image" and bool(analysis.degradations)


def choose_candidates(
    task: str,
    targets: tuple[str, ...],
    config: AgentConfig,
    look: str = "faithful",
    offer_generative: bool = False,
    megapixels: float | None = None,
    notes: list[str] | None = None,
    conditions: Sequence[str] = (),
) -> tuple[Candidate, ...]:
    """The candidates of one step, best first, with a note per decision about generative
    experts appended to ``notes`` (module docstring):

    - ``look="detailed"``: the generative experts first (``max_candidates - 1`` of them, at
      least one), then the best faithful ones as the fallback when they do not fit the budget
      or fail a guard;
    - ``offer_generative``: the faithful candidates, then the best generative expert;
    - otherwise: :func:`candidates_for` within the per-megapixel cost limit, as always.

    A generative expert predicted to take longer than the whole time budget on ``megapixels``
    (when known) is left out with a note. ``conditions``: measured on the photo
    (:func:`restora.agent.candidates.candidates_for`)."""
    notes = notes if notes is not None else []
    limit = config.max_seconds_per_mp
    wants = look == "detailed" or offer_generative
    if not wants:
        found = candidates_for(task, targets, max_seconds_per_mp=limit, conditions=conditions)
        return tuple(found[: config.max_candidates])
    found = candidates_for(
        task, targets, max_seconds_per_mp=limit, look="detailed", conditions=conditions
    )
    generative = [c for c in found if c.generative]
    faithful = [c for c in found if not c.generative]
    if not generative:
        if look == "detailed" and task == "upscale":
            notes.append(f"{task}: asked for detail, but no generative expert is installed")
        return tuple(faithful[: config.max_candidates])
    wanted = max(1, config.max_candidates - 1) if look == "detailed" else 1
    fitting: list[Candidate] = []
    skipped: list[tuple[Candidate, float]] = []
    for candidate in generative:
        if len(fitting) >= wanted:
            break
        needed = candidate.predicted_seconds(megapixels) if megapixels is not None else 0.0
        if needed > config.time_budget_s:
            skipped.append((candidate, needed))
        else:
            fitting.append(candidate)
    size = f"this {megapixels or 0.0:.2f} MP image"
    budget = f"the {config.time_budget_s:.0f} s time budget"
    if not fitting:
        first, needed = skipped[0]
        notes.append(
            f"{task}: no generative expert offered, none fits {budget} for {size} "
            f"({first.label} would need about {needed:.0f} s at {first.seconds_per_mp:.0f} s/MP)"
        )
        return tuple(faithful[: config.max_candidates])
    for candidate, needed in skipped:
        notes.append(
            f"{task}: {candidate.label} not offered, about {needed:.0f} s needed for {size} "
            f"({candidate.seconds_per_mp:.0f} s/MP), over {budget}"
        )
    if look == "detailed":
        lead = fitting[: max(1, config.max_candidates - 1)]
        notes.append(
            f"{task}: asked for detail, so {', '.join(c.label for c in lead)} first "
            "(generative: invents plausible texture)"
        )
        return (*lead, *faithful[: max(1, config.max_candidates - len(lead))])
    best = fitting[0]
    notes.append(
        f"{task}: {best.label} offered too (generative: a small damaged photo, it removes "
        "damage while it upscales; kept only if the judge scores it best)"
    )
    return (*faithful[: config.max_candidates], best)


def make_step(
    task: str,
    analysis: Analysis,
    source: str,
    config: AgentConfig,
    scale: int | None = None,
    look: str = "faithful",
    megapixels: float | None = None,
    notes: list[str] | None = None,
    conditions: Sequence[str] = (),
) -> Step | None:
    """A step for ``task`` with its targets and budgeted candidates (None: no expert);
    ``look`` and, for the automatic upscale of a small damaged photo, an offer place the
    generative experts (:func:`choose_candidates`, whose notes go to ``notes``); experts suited
    to one of ``conditions`` (measured on the photo), when installed, are the candidates."""
    targets = targets_for(task, analysis)
    offer = offers_generative(task, source, analysis)
    found = choose_candidates(task, targets, config, look, offer, megapixels, notes, conditions)
    if not found:
        return None
    return Step(task, targets, source, found, scale)


def condition_notes(steps: Sequence[Step], conditions: Sequence[str]) -> list[str]:
    """A note per step whose candidates are experts suited to a measured condition."""
    out = []
    for step in steps:
        lead = step.candidates[0].expert if step.candidates else None
        for condition in conditions:
            if lead is not None and condition in lead.suited_to:
                out.append(f"{step.task}: {lead.name}, made for the {condition} measured")
    return out


def plan(
    analysis: Analysis,
    intent: Intent | None = None,
    config: AgentConfig | None = None,
    image_shape: tuple[int, ...] | None = None,
    unsure: Sequence[str] = (),
    conditions: Sequence[str] = (),
) -> Plan:
    """Merge the analysis and the intent into a :class:`Plan` (rules in the module docstring).

    Explicit tasks come first, in the user's order (harmful pairs swapped); with ``auto`` or no
    task asked, the analyzer's findings follow in :data:`TASK_ORDER`. ``upscale`` is planned when
    asked (a scale or the task) or, in automatic mode, when the longer side of ``image_shape`` is
    under ``config.small_side``. Excluded tasks are never planned. ``unsure``: types the
    analyzer is unsure of (:func:`unsure_types`), planned as ``unsure`` steps in automatic mode
    when not found otherwise. ``conditions``: measured on the photo
    (:data:`restora.vocabulary.CONDITIONS`); experts suited to them, when installed, are their
    steps' candidates.
    """
    config = config or AgentConfig()
    intent = intent or Intent(auto=True)
    excluded = set(intent.exclude)
    notes: list[str] = []
    auto = intent.auto or not intent.tasks
    asked = [t for t in intent.tasks if t not in excluded]
    for task in intent.tasks:
        if task in excluded:
            notes.append(f"{task} was both asked for and excluded: excluded wins")
    if intent.scale is not None and "upscale" not in asked and "upscale" not in excluded:
        asked.append("upscale")
    asked, moved = fix_harmful_order(asked)
    notes += moved
    found: list[str] = []
    maybe: set[str] = set()
    if auto:
        for task in order_tasks(detected_tasks(analysis)):
            if task in excluded:
                notes.append(f"the analyzer found work for {task}, but it was excluded")
            elif task not in asked:
                found.append(task)
        for kind in unsure:
            task = TASK_FOR_TYPE[kind]
            if task not in excluded and task not in asked and task not in found:
                found.append(task)
                maybe.add(task)
                notes.append(
                    f"the analyzer is unsure of {kind} (p = {analysis.scores.get(kind, 0.0):.2f}): "
                    f"{task} is tried, kept only if the judge is confident it helps"
                )
        side = max(image_shape[:2]) if image_shape is not None else None
        small = side is not None and side < config.small_side
        if small and "upscale" not in asked and "upscale" not in excluded:
            found.append("upscale")
            notes.append(
                f"the image is small (longer side {side} px < {config.small_side}): "
                f"upscale x{config.small_scale}"
            )
    tasks, moved = fix_harmful_order([*asked, *found])
    notes += moved
    steps: list[Step] = []
    megapixels = image_shape[0] * image_shape[1] / 1e6 if image_shape is not None else None
    for task in tasks:
        source = "asked" if task in asked else ("analyzer" if task != "upscale" else "small image")
        source = "unsure" if task in maybe else source
        scale = (intent.scale or config.small_scale) if task == "upscale" else None
        step = make_step(
            task, analysis, source, config, scale, intent.look, megapixels, notes, conditions
        )
        if step is None:
            notes.append(f"no expert is installed for {task}: skipped")
        else:
            steps.append(step)
    notes += condition_notes(steps, conditions)
    if not steps:
        notes.append(
            "nothing to do: the image looks clean" if auto and not asked else "nothing to do"
        )
    return Plan(tuple(steps), intent, auto, tuple(notes))


EXPLICIT = AgentConfig(
    time_budget_s=float("inf"),
    max_candidates=1,
    blend_fractions=(),
    rollback=False,
    reanalyse=False,
    small_side=0,
    raise_errors=True,
)
"""The executor's settings for an explicit request (``--task``/``--expert``): the asked steps in
the asked order, each with its best expert (or the named one), kept whatever the judge says
(it still scores them for the record), no time budget; an expert that fails is an error, not a
candidate that lost."""

EXPLICIT_JUDGED = replace(
    EXPLICIT,
    max_candidates=AgentConfig().max_candidates,
    blend_fractions=AgentConfig().blend_fractions,
    raise_errors=False,
)
"""An explicit ``--task`` request judged by a judge that predicts fidelity (``judges_strength``):
each asked step still runs and is kept, but as the candidate (expert, strength, half step) that
judge predicts closest to the clean photo, among the task's ``max_candidates`` best experts. An
alternative that fails is a candidate that lost; the step fails when none runs."""


def plan_explicit(
    tasks: Sequence[str],
    expert: Expert | None,
    scale: int | None,
    params: Mapping[str, Any],
    intent: Intent,
    candidates: int = 1,
    conditions: Sequence[str] = (),
) -> Plan:
    """The plan of an explicit request: ``expert`` alone (for its task), or the best expert of
    each task in ``tasks`` (:func:`restora.experts.experts_for_task` order, no cost limit), in
    the user's order, followed by the next ones up to ``candidates`` within the agent's cost
    limit (for a judge that chooses among them). The look does not change it: a generative
    expert runs when named. Experts suited to one of ``conditions`` (measured on the photo), when
    installed, are the candidates."""
    from restora.agent.candidates import Candidate, explicit_candidate

    if expert is not None:
        expert.resolve_params(params)  # an unknown --param is a usage error, before any work
        if len(tasks) > 1:
            raise RestoraError("--expert runs one expert: give at most one --task with it")
        task = tasks[0] if tasks else expert.task
        if expert.task != task:
            raise RestoraError(f"expert {expert.name!r} performs {expert.task!r}, not {task!r}")
        fixed = "scale" not in expert.params and expert.task == "upscale"
        if scale is not None and fixed and expert.scale != scale:
            raise RestoraError(f"expert {expert.name!r} upscales x{expert.scale}, not x{scale}")
        step = Step(task, TYPES_FOR_TASK[task], "asked", (explicit_candidate(expert, task, params),),
                    scale)  # fmt: skip
        return Plan((step,), intent, False)
    steps: list[Step] = []
    for task in dict.fromkeys(tasks):
        found = candidates_for(task, TYPES_FOR_TASK[task], conditions=conditions)
        if not found:
            raise NotAvailableError(f"no expert is installed for task {task!r}")
        limit = AgentConfig().max_seconds_per_mp
        others = [
            c for c in found[1:]
            if c.expert.predicted_seconds(1.0) <= limit and not c.generative
        ]  # fmt: skip
        wanted = 1 if task == "upscale" else max(1, candidates)  # sizes differ: not judged
        chosen: list[Candidate] = []
        for option in [found[0], *others][:wanted]:
            try:
                option.expert.resolve_params(params)
            except RestoraError:
                if not chosen:
                    raise  # the best expert must take every --param
                continue  # another candidate that does not take a --param is left out
            chosen.append(Candidate(option.expert, task, option.rank, option.from_analysis,
                                    {**option.params, **params}))  # fmt: skip
        steps.append(Step(task, TYPES_FOR_TASK[task], "asked", tuple(chosen), scale))
    return Plan(tuple(steps), intent, False, tuple(condition_notes(steps, conditions)))
