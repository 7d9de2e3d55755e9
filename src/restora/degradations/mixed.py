"""Single and mixed degradations in a physical order, with a curriculum and second-order passes.

Order (scene, then optics, then sensor, then processing):
``haze, rain, reflection`` (the scene and the glass in front of the lens), ``blur, motion_blur``
(optics and camera motion), ``low_resolution, low_light, noise`` (sampling and the sensor: the
low-light model includes shot/read noise, so it follows downsampling like other sensor noise),
``jpeg`` (processing). Explicit type lists are put in this order too unless ``keep_order``.

Mixed sampling draws 1-3 distinct types, never two that would blur the label: ``blur`` with
``motion_blur``, or ``haze`` with ``low_light`` (haze brightens what low light darkens).

Curriculum: ``stage`` in [0, 1] (or ``"easy"`` = 0, ``"medium"`` = 0.5, ``"hard"`` = 1) sets
- the number of types: P(1, 2, 3) = (1 - 0.7 s, 0.45 s, 0.25 s);
- the severity range: uniform in [0.1, 0.35 + 0.65 s];
- the chance of a Real-ESRGAN-style second-order pass (Wang et al. 2021): 0.3 s. The second
  pass repeats the capture chain at lower severity (blur p 0.5, noise p 0.7, JPEG p 0.8, each
  severity <= 0.4), as an image that was captured, processed, and re-shared would be; with a
  ``pool``, only types of the pool are used.

Realism: ``realism`` is the probability that a step uses its type's camera-realistic variant
(``realistic=True``, see docs/degradations.md), one number for every type or a mapping from
type to probability (missing types: 0). The variant used is recorded in each step's params
(``"variant": "realistic"``; classic steps have no ``variant`` key, so records of old runs
are unchanged). With ``realism=0`` (the default) no extra random number is drawn and every
image and record is exactly what it was before realistic variants existed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from restora.degradations.captions import captions_for
from restora.degradations.records import AppliedDegradation, DegradationRecord
from restora.vocabulary import SYNTHESIS_TYPES

PHYSICAL_ORDER: tuple[str, ...] = (
    "haze",
    "rain",
    "reflection",
    "blur",
    "motion_blur",
    "low_resolution",
    "low_light",
    "noise",
    "jpeg",
)
EXCLUSIVE_PAIRS: tuple[frozenset[str], ...] = (
    frozenset({"blur", "motion_blur"}),
    frozenset({"haze", "low_light"}),
)
STAGES: dict[str, float] = {"easy": 0.0, "medium": 0.5, "hard": 1.0}
SECOND_ORDER: tuple[tuple[str, float], ...] = (("blur", 0.5), ("noise", 0.7), ("jpeg", 0.8))
"""Types of the second pass and the probability of each."""
SECOND_ORDER_MAX_SEVERITY = 0.4
MIN_SEVERITY = 0.1


def stage_value(stage: float | str) -> float:
    """A curriculum stage as a number in [0, 1]."""
    if isinstance(stage, str):
        if stage not in STAGES:
            from restora.errors import UnknownNameError

            raise UnknownNameError("curriculum stage", stage, list(STAGES))
        return STAGES[stage]
    value = float(stage)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"stage must be in [0, 1], got {stage!r}")
    return value


def severity_range(stage: float | str) -> tuple[float, float]:
    """Range of sampled severities at a curriculum stage."""
    return MIN_SEVERITY, 0.35 + 0.65 * stage_value(stage)


def type_count_probabilities(stage: float | str) -> tuple[float, float, float]:
    """P(1 type), P(2 types), P(3 types) at a curriculum stage."""
    s = stage_value(stage)
    return 1.0 - 0.7 * s, 0.45 * s, 0.25 * s


def physical_sort(types: Sequence[str]) -> list[str]:
    return sorted(types, key=PHYSICAL_ORDER.index)


def sample_types(
    rng: np.random.Generator,
    count: int,
    pool: Sequence[str] = SYNTHESIS_TYPES,
) -> list[str]:
    """``count`` distinct compatible types from ``pool``, in physical order."""
    chosen: list[str] = []
    for index in rng.permutation(len(pool)):
        candidate = pool[int(index)]
        if candidate in chosen or any(
            pair <= {candidate, *chosen} and candidate in pair for pair in EXCLUSIVE_PAIRS
        ):
            continue
        chosen.append(candidate)
        if len(chosen) == count:
            break
    return physical_sort(chosen)


def _resolve_types(
    types: Sequence[str] | str,
    rng: np.random.Generator,
    stage: float,
    num_types: int | tuple[int, int] | None,
    pool: Sequence[str] | None,
) -> list[str]:
    """The types to apply: the given ones, or a sample for ``"mixed"``."""
    from restora.degradations import check_type

    names = [types] if isinstance(types, str) else list(types)
    if names == ["mixed"]:
        candidates = list(SYNTHESIS_TYPES if pool is None else pool)
        for name in candidates:
            check_type(name)
        if num_types is None:
            count = 1 + int(rng.choice(3, p=type_count_probabilities(stage)))
        elif isinstance(num_types, int):
            count = num_types
        else:
            count = int(rng.integers(num_types[0], num_types[1] + 1))
        return sample_types(rng, count, candidates)
    if "mixed" in names:
        raise ValueError("'mixed' cannot be combined with explicit types (use pool=...)")
    for name in names:
        check_type(name)
    if len(set(names)) != len(names):
        raise ValueError(f"a type is repeated in {names}")
    return names


def realism_probabilities(realism: float | Mapping[str, float]) -> dict[str, float]:
    """``realism`` as a probability per synthesis type, each checked to be in [0, 1]."""
    from restora.degradations import check_type

    if isinstance(realism, Mapping):
        chances = {check_type(str(name)): float(p) for name, p in realism.items()}
    else:
        chances = dict.fromkeys(SYNTHESIS_TYPES, float(realism))
    for name, chance in chances.items():
        if not 0.0 <= chance <= 1.0:
            raise ValueError(f"realism for {name} must be in [0, 1], got {chance!r}")
    return chances


def synthesize(
    image: np.ndarray,
    types: Sequence[str] | str = "mixed",
    severity: float | Mapping[str, float] | None = None,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    stage: float | str = "hard",
    *,
    num_types: int | tuple[int, int] | None = None,
    pool: Sequence[str] | None = None,
    second_order: bool | None = None,
    resize_back: bool = False,
    reflection_pool: Sequence[np.ndarray] | None = None,
    keep_order: bool = False,
    options: dict[str, dict[str, Any]] | None = None,
    realism: float | Mapping[str, float] = 0.0,
) -> tuple[np.ndarray, DegradationRecord]:
    """Degrade ``image`` with one or more types; returns the image and its record.

    ``types``: ``"mixed"`` (sample 1-3 types from ``pool``, default every synthesis type), one
    type name or a list of names. ``severity``: one severity for every type, a mapping from type
    to severity (types missing from it are sampled), or ``None`` to sample each from the
    stage's range. Randomness comes from ``rng``, else from
    ``np.random.default_rng(seed)``; the same seed gives the same image and record.
    ``num_types`` fixes the count (or an inclusive range) for mixed sampling.
    ``second_order`` forces or forbids the second pass (default: random by stage for
    ``"mixed"``, never for explicit types).
    ``resize_back``: a ``low_resolution`` step gives a smaller image; with ``resize_back`` the
    final image (after noise and JPEG at the low resolution) is resized back to the input size
    with bicubic interpolation. ``reflection_pool`` supplies the images reflections come from.
    ``options`` passes per-type keyword arguments, e.g. ``{"noise": {"kind": "gaussian"}}``.
    ``realism``: probability of each step's camera-realistic variant (a number, or a mapping
    from type to probability); ``options={"noise": {"realistic": True}}`` forces one type.
    """
    import cv2

    from restora.degradations import apply, check_type

    if rng is None:
        rng = np.random.default_rng(seed)
    s = stage_value(stage)
    planned = _resolve_types(types, rng, s, num_types, pool)
    names_were_sampled = types == "mixed" or list(types) == ["mixed"]
    if not keep_order:
        planned = physical_sort(planned)
    low, high = severity_range(s)
    plan: list[tuple[str, float, int]] = []
    for name in planned:
        sampled = float(rng.uniform(low, high))  # drawn always: one seed, one random stream
        if isinstance(severity, Mapping):
            level = float(severity.get(name, sampled))
        else:
            level = sampled if severity is None else float(severity)
        plan.append((str(name), level, 1))
    # Second-order passes are part of mixed sampling only; explicit types get exactly those.
    second_draw = rng.random()
    if second_order is None:
        do_second = names_were_sampled and bool(second_draw < 0.3 * s)
    else:
        do_second = bool(second_order)
    if do_second:
        draws = rng.random((len(SECOND_ORDER), 2))
        allowed = SYNTHESIS_TYPES if pool is None or not names_were_sampled else tuple(pool)
        for (name, probability), (gate, amount) in zip(SECOND_ORDER, draws, strict=True):
            if gate < probability and name in allowed:
                level = MIN_SEVERITY + (SECOND_ORDER_MAX_SEVERITY - MIN_SEVERITY) * float(amount)
                plan.append((name, level, 2))
    options = options or {}
    for name in options:
        check_type(name)
    chances = realism_probabilities(realism)
    original_size = image.shape[:2]
    out = np.asarray(image, dtype=np.float32)
    applied: list[AppliedDegradation] = []
    for name, level, order in plan:
        kwargs = dict(options.get(name, {}))
        chance = chances.get(name, 0.0)
        if chance > 0.0:  # drawn only when asked for, so realism=0 keeps old random streams
            realistic = bool(rng.random() < chance)
            kwargs.setdefault("realistic", realistic)
        if (
            name == "reflection"
            and reflection_pool is not None
            and "reflection_source" not in kwargs
        ):
            kwargs["reflection_source"] = reflection_pool
        out, params = apply(name, out, level, rng, **kwargs)
        if order == 2:
            params = {**params, "pass": 2}
        applied.append(AppliedDegradation(name, round(float(level), 4), params))
    if resize_back and out.shape[:2] != original_size:
        height, width = original_size
        out = np.clip(cv2.resize(out, (width, height), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    captions = captions_for(applied)
    record = DegradationRecord(tuple(applied), captions[0], captions)
    return out.astype(np.float32, copy=False), record
