"""Which experts the agent may try for a task, in which order, and what each is predicted to cost.

Candidates come from the expert registry by task (so learned and ONNX experts registered later
are picked up without code changes), ordered by a preference table measured on this project's
benchmarks, plus cross-task candidates: an expert of another task that also undoes this
degradation (JPEG error treated as noise, after Foi et al. 2007, is what ``bm3d_deblock`` does
with BM3D; the fast NLM denoiser with the same quality-derived sigma is its cheap stand-in).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from restora.errors import NotAvailableError

log = logging.getLogger(__name__)

SECONDS_PER_MP: dict[str, float] = {
    "nlm": 2.8,
    "cbm3d": 200.0,
    "wiener": 4.4,
    "richardson_lucy": 9.0,
    "wiener_motion": 1.1,
    "bm3d_deblock": 120.0,
    "bicubic": 0.34,
    "lanczos": 0.11,
    "ibp": 3.9,
    "dark_channel": 0.15,
    "lime": 7.1,
    "clahe_gamma": 0.03,
    "guided_derain": 0.11,
    "laplacian_dereflect": 0.3,
    # learned NAFNet (small, 1.7 M parameters): ~1.7 CPU-seconds for 0.17 MP on 2 threads;
    # the upscaler runs at the output size (x4 default: 16 output pixels per input pixel)
    **{f"{kind}_{task}": 6.0 for kind in ("nafnet", "allinone") for task in (
        "denoise", "dejpeg", "deblur", "derain", "dehaze", "brighten", "dereflect")},
    "nafnet_upscale": 96.0,
    "allinone_upscale": 96.0,
    # the base-size (3.8 M) experts trained on a lent GPU: about 1.5x the small ones' time
    **{f"nafnet_{task}": 9.0 for task in ("denoise", "deblur", "dehaze")},
}  # fmt: skip
"""Seconds per input megapixel of each built-in expert on the 2-core benchmark machine
(0.15 MP CBSD68-sized image; BENCHMARKS.md experts section and a timing run of every expert)."""

BACKEND_SECONDS_PER_MP: dict[str, float] = {"classical": 5.0, "learned": 40.0, "onnx": 40.0}
"""Guess for experts missing from :data:`SECONDS_PER_MP` (a small conv net on a CPU)."""

PREFERENCE: dict[str, tuple[str, ...]] = {
    "denoise": ("nlm", "cbm3d"),
    "deblur": ("wiener", "richardson_lucy", "wiener_motion"),
    "dejpeg": ("bm3d_deblock", "nlm@jpeg"),
    "upscale": ("ibp", "lanczos", "bicubic"),
    "dehaze": ("dark_channel",),
    "derain": ("guided_derain",),
    "brighten": ("lime", "clahe_gamma"),
    "dereflect": ("laplacian_dereflect",),
}
"""Classical experts best-first per task (BENCHMARKS.md: ibp > lanczos > bicubic on Set5;
cbm3d > nlm but 70x slower; LIME keeps colour better than CLAHE). ``name@rule`` is a cross-task
candidate: expert ``name`` with parameters from :data:`PARAMETER_RULES` ``rule``."""

MOTION_PREFERENCE: tuple[str, ...] = ("wiener_motion", "richardson_lucy", "wiener")
"""Deblurring order when the analyzer says the blur is motion blur."""

STRENGTH_FACTOR: dict[str, float] = {"light": 0.6, "normal": 1.0, "strong": 1.4}
"""``strength`` parameter given to experts that take one, by the instruction's strength."""


def _sigma_from_jpeg_quality(image: np.ndarray) -> dict[str, Any]:
    from restora.experts.classical.dejpeg import sigma_for_quality
    from restora.experts.estimate import estimate_jpeg_quality

    return {"sigma": sigma_for_quality(estimate_jpeg_quality(image))}


PARAMETER_RULES: dict[str, Callable[[np.ndarray], dict[str, Any]]] = {
    "jpeg": _sigma_from_jpeg_quality,
}
"""``rule name -> parameters from the image`` for cross-task candidates."""


@dataclass(frozen=True)
class Candidate:
    """One expert the agent may try for a step, with fixed parameters and a parameter rule."""

    expert: str
    task: str
    seconds_per_mp: float
    rule: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def label(self) -> str:
        return f"{self.expert}@{self.rule}" if self.rule else self.expert

    def predicted_seconds(self, megapixels: float) -> float:
        return self.seconds_per_mp * megapixels

    def call_params(self, image: np.ndarray, strength: str, scale: int | None) -> dict[str, Any]:
        """Parameters for one call: rule-derived, then fixed, then strength and scale."""
        from restora.experts import get_expert

        expert = get_expert(self.expert)
        params: dict[str, Any] = {}
        if self.rule is not None:
            params.update(PARAMETER_RULES[self.rule](image))
        params.update(self.params)
        if "strength" in expert.params and strength != "normal":
            params["strength"] = STRENGTH_FACTOR[strength]
        if scale is not None and "scale" in expert.params:
            params["scale"] = scale
        return params


def _cost(name: str) -> float:
    if name in SECONDS_PER_MP:
        return SECONDS_PER_MP[name]
    from restora.experts import get_expert

    return BACKEND_SECONDS_PER_MP.get(get_expert(name).backend, 40.0)


def candidates_for(
    task: str,
    targets: tuple[str, ...] = (),
    *,
    max_seconds_per_mp: float | None = None,
) -> list[Candidate]:
    """Candidates for ``task``, best first: learned/ONNX experts of the registry, then the
    classical preference order, then any other registered expert of the task; cross-task
    candidates last among the classical ones. Experts slower than ``max_seconds_per_mp`` are
    left out (unless that would leave none: then the fastest one stays)."""
    from restora.experts import experts_for_task, get_expert

    try:
        registered = {e.name: e for e in experts_for_task(task)}
    except NotAvailableError:  # pragma: no cover - experts_for_task skips broken ones
        registered = {}
    preference = PREFERENCE.get(task, ())
    if task == "deblur" and "motion_blur" in targets and "blur" not in targets:
        preference = MOTION_PREFERENCE
    # learned/ONNX experts first, but the all-in-one network after the classical favourites:
    # with ``max_candidates`` 2 the agent then weighs the task's own network against the best
    # classical method rather than against another network.
    from restora.experts.registry import LEARNED_EXPERTS

    networks = [n for n, e in registered.items() if e.backend != "classical"]
    order: list[str] = [n for n in networks if n not in LEARNED_EXPERTS]  # the user's own first
    order += [n for n in networks if n in LEARNED_EXPERTS and not n.startswith("allinone_")]
    order += [n for n in preference if n in registered or "@" in n]
    order += [n for n in registered if n not in order]
    out: list[Candidate] = []
    for label in order:
        name, _, rule = label.partition("@")
        try:
            expert = get_expert(name)
        except NotAvailableError as exc:
            log.warning("candidate %s unavailable: %s", name, exc)
            continue
        out.append(Candidate(name, expert.task, _cost(name), rule or None))
    if max_seconds_per_mp is not None and out:
        fast = [c for c in out if c.seconds_per_mp <= max_seconds_per_mp]
        out = fast or [min(out, key=lambda c: c.seconds_per_mp)]
    return out
