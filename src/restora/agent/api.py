"""``restora.restore``: analysis + instruction -> plan -> quality-guided execution -> Result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from restora.agent.execution import Judge, StepObserver, execute
from restora.agent.planning import AgentConfig, plan
from restora.agent.trace import Result
from restora.types import Intent


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
    return replace(
        intent,
        tasks=tuple(dict.fromkeys([*intent.tasks, *tasks])),
        exclude=tuple(dict.fromkeys([*intent.exclude, *exclude])),
        scale=scale if scale is not None else intent.scale,
        strength=strength or intent.strength,
        auto=intent.auto or not (intent.tasks or tasks),
    )


def restore(
    image: Any,
    instruction: str | Intent | None = None,
    *,
    tasks: Sequence[str] = (),
    exclude: Sequence[str] = (),
    scale: int | None = None,
    strength: str | None = None,
    config: AgentConfig | None = None,
    analyzer: Judge | None = None,
    weights: str | Path | None = None,
    device: str | None = None,
    observe: StepObserver | None = None,
) -> Result:
    """Restore ``image`` (an :class:`restora.Image`, a path or an array) as ``instruction`` asks.

        >>> result = restora.restore("photo.jpg", "remove the noise but keep it dark")
        >>> result.image            # restora.Image (alpha and metadata kept)
        >>> print("\\n".join(result.trace.lines()))

    No instruction (or "make it better") restores what the analyzer finds. ``tasks`` /
    ``exclude`` / ``scale`` / ``strength`` add to what the instruction says; ``config`` sets the
    budgets; ``analyzer`` replaces the shipped analyzer (anything with ``.analysis(image)``);
    ``observe`` sees every step (see :func:`restora.agent.execute`).
    """
    source = as_image(image)
    intent = make_intent(instruction, tasks, exclude, scale, strength)
    config = config or AgentConfig()
    if analyzer is None:
        from restora.perception import get_analyzer

        analyzer = get_analyzer(weights, device)
    before = analyzer.analysis(source.rgb)
    steps = plan(before, intent, config, source.rgb.shape)
    rgb, after, trace = execute(
        source.rgb, steps, analyzer, config, analysis=before, observe=observe
    )
    output = source.with_rgb(rgb) if trace.kept else source
    return Result(output, before, after, intent, steps, trace, source)
