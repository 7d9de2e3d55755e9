"""Degradations, quality and intents described in words.

``describe(analysis)`` gives one or two sentences such as "Strong sensor noise and mild JPEG
blockiness; overall quality is poor (31/100)." The wording varies (several templates and
synonyms) but is deterministic for a given seed, and it never contradicts the numbers: every
degradation present is named with a severity word from its band, uncertain ones are hedged, and
the score is quoted as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from restora.types import Analysis, Degradation, Intent, QualityScore

# Severity bands: [0, 0.25) slight, [0.25, 0.5) moderate, [0.5, 0.75) strong, [0.75, 1] severe.
SEVERITY_BANDS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.25, ("slight", "mild", "faint")),
    (0.5, ("moderate", "noticeable", "visible")),
    (0.75, ("strong", "heavy", "marked")),
    (1.01, ("severe", "very strong", "extreme")),
)
LOW_CONFIDENCE = 0.5
"""Below this confidence a degradation is hedged ("possible mild haze")."""

TYPE_PHRASES: dict[str, tuple[str, ...]] = {
    "noise": ("sensor noise", "noise", "grain"),
    "blur": ("blur", "defocus blur", "softness"),
    "motion_blur": ("motion blur", "camera-shake blur"),
    "jpeg": ("JPEG blockiness", "compression artifacts", "JPEG artifacts"),
    "haze": ("haze", "atmospheric haze"),
    "rain": ("rain streaks", "rain"),
    "low_light": ("underexposure", "low light"),
    "reflection": ("reflections", "glass reflections"),
}
_PLURAL_PHRASES = {
    "compression artifacts",
    "JPEG artifacts",
    "rain streaks",
    "reflections",
    "glass reflections",
}

TASK_PHRASES: dict[str, str] = {
    "denoise": "remove noise",
    "deblur": "sharpen",
    "dejpeg": "remove JPEG artifacts",
    "upscale": "upscale",
    "dehaze": "remove haze",
    "derain": "remove rain",
    "brighten": "brighten",
    "dereflect": "remove reflections",
}

EXCLUDED_PHRASES: dict[str, str] = {
    "denoise": "denoising",
    "deblur": "sharpening",
    "dejpeg": "JPEG clean-up",
    "upscale": "upscaling",
    "dehaze": "dehazing",
    "derain": "rain removal",
    "brighten": "brightening",
    "dereflect": "reflection removal",
}


def severity_word(severity: float, rng: np.random.Generator | None = None) -> str:
    """The severity band's word for ``severity`` in [0, 1] (a random synonym when ``rng``)."""
    value = float(np.clip(severity, 0.0, 1.0))
    for upper, words in SEVERITY_BANDS:
        if value < upper:
            return words[0] if rng is None else str(rng.choice(words))
    return SEVERITY_BANDS[-1][1][0]


def _make_rng(rng: np.random.Generator | int | None, key: str) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        # Same analysis, same sentence: reports and tests stay stable without a seed.
        rng = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    return np.random.default_rng(rng)


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def degradation_phrase(degradation: Degradation, rng: np.random.Generator) -> str:
    """ "strong sensor noise", "possible mild haze"."""
    noun = str(rng.choice(TYPE_PHRASES[degradation.type]))
    phrase = f"{severity_word(degradation.severity, rng)} {noun}"
    if degradation.confidence < LOW_CONFIDENCE:
        phrase = f"possible {phrase}"
    return phrase


def _as_analysis(analysis: Analysis | Mapping[str, Any]) -> Analysis:
    if isinstance(analysis, Analysis):
        return analysis
    degradations = tuple(
        Degradation(d["type"], float(d["severity"]), float(d.get("confidence", 1.0)))
        for d in analysis.get("degradations", ())
    )
    quality = analysis.get("quality") or {"score": float("nan"), "level": "fair"}
    return Analysis(
        degradations=degradations,
        caption=str(analysis.get("caption", "")),
        quality=QualityScore(float(quality["score"]), str(quality["level"])),
    )


def _score_text(quality: QualityScore) -> str:
    if not np.isfinite(quality.score):
        return quality.level
    return f"{quality.level} ({round(float(quality.score))}/100)"


def describe_quality(
    quality: QualityScore | Mapping[str, Any], rng: np.random.Generator | int | None = None
) -> str:
    """One sentence for a quality judgement: "Overall quality is fair (55/100)."."""
    if not isinstance(quality, QualityScore):
        quality = QualityScore(float(quality["score"]), str(quality["level"]))
    generator = _make_rng(rng, f"{quality.level}{quality.score:.3f}")
    template = generator.choice(
        (
            "Overall quality is {q}.",
            "The quality is {q}.",
            "It rates as {q} overall.",
        )
    )
    return str(template).format(q=_score_text(quality))


def describe(
    analysis: Analysis | Mapping[str, Any],
    quality: QualityScore | None = None,
    rng: np.random.Generator | int | None = None,
) -> str:
    """One or two sentences on what is wrong with an image and how good it is.

    ``analysis`` is an :class:`~restora.types.Analysis` (or its ``to_dict()``); ``quality``
    overrides ``analysis.quality`` when given; ``rng`` (a Generator or a seed) picks the wording,
    which is otherwise derived from the analysis itself, so the same analysis reads the same.
    """
    analysis = _as_analysis(analysis)
    quality = quality or analysis.quality
    degradations = sorted(analysis.degradations, key=lambda d: (-d.severity, -d.confidence))
    key = repr([d.to_dict() for d in degradations]) + f"{quality.level}{quality.score:.3f}"
    generator = _make_rng(rng, key)
    q = _score_text(quality)
    if not degradations:
        template = generator.choice(
            (
                "The image looks clean, with no visible degradation; overall quality is {q}.",
                "No degradation stands out: the image looks clean. Quality is {q}.",
                "This looks like a clean image with nothing to repair; it rates as {q}.",
            )
        )
        return str(template).format(q=q)
    phrases = [degradation_phrase(d, generator) for d in degradations]
    listed = _join(phrases)
    plural = len(phrases) > 1 or phrases[0].split()[-1] in {p.split()[-1] for p in _PLURAL_PHRASES}
    templates: tuple[str, ...] = (
        "{L}; overall quality is {q}.",
        "The image shows {l}. Its quality is {q}.",
        "{L} {verb} the image, which rates as {q}.",
        "Main problems: {l}. Overall quality is {q}.",
        "I see {l}; the quality is {q}.",
    )
    if len(phrases) == 1:
        templates = (*templates[:3], "The main problem is {l}; overall quality is {q}.")
    template = str(generator.choice(templates))
    return template.format(
        L=_capitalise(listed),
        l=listed,
        q=q,
        verb="affect" if plural else "affects",
    )


def describe_intent(intent: Intent) -> str:
    """One sentence for an intent: "Will brighten (light), without denoising."."""
    if not intent.tasks and not intent.auto:
        if intent.unsupported:
            return "Nothing restora can do was asked for."
        return "No change asked: the image will only be assessed."
    steps = [
        TASK_PHRASES[t] + (f" {intent.scale}x" if t == "upscale" else "") for t in intent.tasks
    ]
    head = "Will " + _join(steps) if steps else "Will fix what the analysis finds"
    if steps and intent.auto:
        head += ", then fix anything else the analysis finds"
    if intent.strength != "normal":
        head += f" ({intent.strength})"
    if intent.look == "detailed":
        head += ", with invented natural detail (generative experts first)"
    if intent.exclude:
        head += ", without " + _join([EXCLUDED_PHRASES[t] for t in intent.exclude])
    return head + "."
