"""The fixed vocabulary of ARCHITECTURE.md: degradation types, restoration tasks, levels."""

from __future__ import annotations

DEGRADATION_TYPES: tuple[str, ...] = (
    "noise",
    "blur",
    "motion_blur",
    "jpeg",
    "haze",
    "rain",
    "low_light",
    "reflection",
)
"""Types the analyzer reports (``analyze --json``)."""

SYNTHESIS_TYPES: tuple[str, ...] = (*DEGRADATION_TYPES, "low_resolution")
"""Types the degradation engine can synthesise (resolution is judged from pixel sizes)."""

TASKS: tuple[str, ...] = (
    "denoise",
    "deblur",
    "dejpeg",
    "upscale",
    "dehaze",
    "derain",
    "brighten",
    "dereflect",
)
"""Restoration tasks an expert can perform."""

TASK_FOR_TYPE: dict[str, str] = {
    "noise": "denoise",
    "blur": "deblur",
    "motion_blur": "deblur",
    "jpeg": "dejpeg",
    "low_resolution": "upscale",
    "haze": "dehaze",
    "rain": "derain",
    "low_light": "brighten",
    "reflection": "dereflect",
}
"""Which task undoes each degradation type."""

TYPES_FOR_TASK: dict[str, tuple[str, ...]] = {
    task: tuple(t for t, k in TASK_FOR_TYPE.items() if k == task and t != "low_resolution")
    for task in TASKS
}
"""The analyzer types each task undoes (``deblur``: blur and motion_blur; upscale: none)."""

QUALITY_LEVELS: tuple[str, ...] = ("excellent", "good", "fair", "poor", "bad")
"""Quality levels, best first."""

STRENGTHS: tuple[str, ...] = ("light", "normal", "strong")
"""Instruction intensities."""

CONDITIONS: tuple[str, ...] = ("white noise",)
"""Conditions measured on an image that some experts were made for (``Expert.suited_to``):
``white noise``, noise independent from pixel to pixel and across channels, as synthetic
Gaussian noise (:func:`restora.quality.statistics.has_white_noise`); camera noise is not."""

LOOKS: tuple[str, ...] = ("faithful", "detailed")
"""The look an instruction asks for: ``faithful`` (the default: restore what is there, nothing
invented) or ``detailed`` ("make it sharp", "natural detail": generative experts, which invent
plausible texture, are tried first)."""
