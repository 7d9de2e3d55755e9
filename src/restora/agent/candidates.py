"""Which experts the agent may try for a step, in which order, and with which parameters.

Everything here is read off the expert descriptors (``restora.experts.base.Expert``): the
experts of the task and those that also serve it (``also_serves``), sorted by
:func:`restora.experts.registry.order_key` (their ``rank`` for the step's target types, experts
that handle none of the targets last), filtered by their measured cost. When a condition
measured on the photo has experts suited to it (``Expert.suited_to``), they are the candidates:
the judge cannot tell two networks a few tenths of a dB apart (on Gaussian noise it preferred
the real-noise denoiser to the Gaussian one by 0.03 dB of predicted gain where the Gaussian one
was 0.25-0.5 dB better), the measurement can. Adding an expert is
one descriptor plus one registry line; nothing in the agent names an expert.

The instruction's look (``Intent.look``) changes one thing: for ``detailed`` the experts whose
descriptor says ``generative`` (GAN restorers, which invent plausible texture) come first and
are not held to the per-megapixel cost limit (the time budget decides, on the real image size);
for ``faithful`` they stay where their rank puts them, after the faithful experts.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from restora.errors import NotAvailableError
from restora.experts.base import Expert
from restora.types import Analysis

log = logging.getLogger(__name__)

STRENGTH_FACTOR: dict[str, float] = {"light": 0.6, "normal": 1.0, "strong": 1.4}
"""``strength`` parameter given to experts that take one, by the instruction's strength."""


@dataclass(frozen=True)
class Candidate:
    """One expert the agent may try for a step: the expert, the task it serves in this step
    (another than its own for a cross-task candidate), the parameters it takes from the
    analysis and fixed parameters (``--param``)."""

    expert: Expert
    task: str
    rank: float = 0.0
    from_analysis: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "from_analysis", MappingProxyType(dict(self.from_analysis)))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def name(self) -> str:
        return self.expert.name

    @property
    def cross_task(self) -> bool:
        return self.task != self.expert.task

    @property
    def label(self) -> str:
        """How the trace names it: the expert, and the task when it serves another one."""
        return f"{self.name} (as {self.task})" if self.cross_task else self.name

    @property
    def generative(self) -> bool:
        """Its expert invents texture (``Expert.generative``)."""
        return self.expert.generative

    @property
    def seconds_per_mp(self) -> float:
        return self.expert.cost

    def predicted_seconds(self, megapixels: float) -> float:
        return self.expert.predicted_seconds(megapixels)

    def call_params(
        self,
        image: np.ndarray,
        strength: str,
        scale: int | None,
        analysis: Analysis | None = None,
    ) -> dict[str, Any]:
        """Parameters for one call: from the analysis, then fixed, then strength and scale."""
        from restora.experts.quantities import params_from_analysis

        params = params_from_analysis(self.from_analysis, analysis, image)
        params.update(self.params)
        if "strength" in self.expert.params and strength != "normal":
            params.setdefault("strength", STRENGTH_FACTOR[strength])
        if scale is not None and "scale" in self.expert.params:
            params["scale"] = scale
        return params


def candidates_for(
    task: str,
    targets: tuple[str, ...] = (),
    *,
    max_seconds_per_mp: float | None = None,
    look: str = "faithful",
    conditions: Collection[str] = (),
) -> list[Candidate]:
    """Candidates for ``task``, best first (module docstring). Experts slower than
    ``max_seconds_per_mp`` are left out (unless that would leave none: then the fastest one
    stays). With ``look="detailed"`` the generative experts come first, whatever their cost.
    ``conditions`` (measured on the photo, :data:`restora.vocabulary.CONDITIONS`): the experts
    aimed at the targets and suited to one of them, when there are any, are the only ones."""
    from restora.experts import list_experts
    from restora.experts.registry import order_key

    out: list[tuple[tuple[bool, float], Candidate]] = []
    present = set(conditions)
    try:
        experts = list_experts()
    except NotAvailableError as exc:  # pragma: no cover - list_experts skips broken ones
        log.warning("experts unavailable: %s", exc)
        experts = []
    for expert in experts:
        if expert.task == task:
            key = order_key(expert, targets)
            out.append((key, Candidate(expert, task, key[1], expert.from_analysis)))
        for role in expert.also_serves:
            if role.task == task:
                candidate = Candidate(expert, task, role.rank, role.from_analysis, role.params)
                out.append(((False, role.rank), candidate))
    suited = [(k, c) for k, c in out if not k[0] and c.expert.suited_to & present]
    out = suited or out
    out.sort(key=lambda pair: pair[0])
    found = [candidate for _, candidate in out]
    generative: list[Candidate] = []
    if look == "detailed":
        generative = [c for c in found if c.generative]
        found = [c for c in found if not c.generative]
    if max_seconds_per_mp is not None and found:
        fast = [c for c in found if c.seconds_per_mp <= max_seconds_per_mp]
        found = fast or [min(found, key=lambda c: c.seconds_per_mp)]
    return generative + found


def explicit_candidate(expert: Expert, task: str | None, params: Mapping[str, Any]) -> Candidate:
    """The one candidate of a step where the user named the expert (``--expert``)."""
    return Candidate(expert, task or expert.task, expert.rank, expert.from_analysis, params)
