"""Captions for degradation labels: templates with synonyms, drawn deterministically.

These sentences train the vision-language analyzer, so the same label is phrased many ways
("a photo with heavy sensor noise and mild JPEG compression", "strong grain, slight
blockiness"). Degradations are described most severe first; a type applied twice (second-order
synthesis) is described once, at its highest severity. With no ``rng`` the choice is seeded by
the content, so a label always gets the same captions.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

SEVERITY_WORDS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.25, ("slight", "mild", "faint", "light", "a little")),
    (0.5, ("moderate", "noticeable", "medium", "visible")),
    (0.75, ("strong", "heavy", "significant", "pronounced")),
    (1.01, ("severe", "extreme", "very heavy", "intense")),
)
"""Upper severity bound of each bin and its adjectives."""

NOUNS: dict[str, tuple[str, ...]] = {
    "noise": ("noise", "sensor noise", "grain", "graininess", "speckle noise"),
    "blur": ("blur", "defocus blur", "softness", "out-of-focus blur", "lack of sharpness"),
    "motion_blur": ("motion blur", "camera shake", "shake blur", "motion smear"),
    "jpeg": ("JPEG compression", "compression artifacts", "blockiness", "JPEG artifacts"),
    "low_resolution": ("low resolution", "pixelation", "loss of fine detail", "downsampling"),
    "haze": ("haze", "fog", "mist", "atmospheric haze", "washed-out contrast"),
    "rain": ("rain streaks", "rain", "rain streak occlusion", "falling rain"),
    "low_light": ("darkness", "underexposure", "low light", "dim lighting"),
    "reflection": ("glass reflections", "reflections", "reflection artifacts", "window glare"),
}
"""Phrases per type; kind-specific ones are added from the parameters (see _nouns_for)."""

KIND_NOUNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("noise", "poisson_gaussian"): ("sensor noise", "shot noise"),
    ("noise", "colour"): ("colour noise", "chroma noise"),
    ("noise", "gaussian"): ("Gaussian noise",),
    ("blur", "defocus"): ("defocus blur", "out-of-focus blur"),
    ("blur", "gaussian"): ("Gaussian blur", "softness"),
    ("motion_blur", "shake"): ("camera shake", "hand-shake blur"),
    ("motion_blur", "linear"): ("linear motion blur", "motion streaking"),
    ("noise", "camera"): ("sensor noise", "high-ISO noise", "camera noise", "chroma noise"),
    ("blur", "lens_defocus"): ("defocus blur", "out-of-focus blur", "lens blur"),
    ("jpeg", "double"): ("double JPEG compression", "recompression artifacts"),
    ("jpeg", "resize"): ("recompression artifacts", "JPEG artifacts"),
    ("jpeg", "messenger"): ("messenger compression", "recompression artifacts"),
}

TEMPLATES: tuple[str, ...] = (
    "a photo with {items}",
    "{items}",
    "an image degraded by {items}",
    "this picture suffers from {items}",
    "a photograph showing {items}",
    "{items} in the image",
    "the photo has {items}",
)
"""Sentence templates; ``{items}`` is a list of "adjective noun" phrases."""

CLEAN_CAPTIONS: tuple[str, ...] = (
    "a clean photo",
    "a clean, sharp image with no visible degradation",
    "a high-quality photo",
    "no visible degradation",
)


def severity_word(severity: float, rng: np.random.Generator) -> str:
    """An adjective for ``severity`` (one of the synonyms of its bin)."""
    for upper, words in SEVERITY_WORDS:
        if severity < upper:
            return words[int(rng.integers(len(words)))]
    return SEVERITY_WORDS[-1][1][0]


def _items(source: Any) -> list[tuple[str, float, dict[str, Any]]]:
    """(type, severity, params) from a record, a list of applied degradations, dicts or pairs."""
    entries = getattr(source, "degradations", source)
    items: list[tuple[str, float, dict[str, Any]]] = []
    for entry in entries:
        if isinstance(entry, dict):
            items.append((entry["type"], float(entry["severity"]), dict(entry.get("params", {}))))
        elif isinstance(entry, (tuple, list)):
            items.append((str(entry[0]), float(entry[1]), {}))
        else:
            items.append((entry.type, float(entry.severity), dict(getattr(entry, "params", {}))))
    merged: dict[str, tuple[str, float, dict[str, Any]]] = {}
    for kind, severity, params in items:
        if kind not in NOUNS:
            raise ValueError(f"no caption words for degradation type {kind!r}")
        if kind not in merged or severity > merged[kind][1]:
            merged[kind] = (kind, severity, params)
    return sorted(merged.values(), key=lambda item: -item[1])


def _nouns_for(kind: str, params: dict[str, Any]) -> tuple[str, ...]:
    specific = KIND_NOUNS.get((kind, str(params.get("kind", params.get("trajectory", "")))), ())
    return specific + NOUNS[kind]


def _join(phrases: Sequence[str], rng: np.random.Generator) -> str:
    if len(phrases) == 1:
        return phrases[0]
    if rng.random() < 0.5:
        return ", ".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _content_seed(items: Iterable[tuple[str, float, dict[str, Any]]]) -> int:
    text = ";".join(f"{kind}:{severity:.3f}" for kind, severity, _ in items)
    return zlib.crc32(text.encode())


def _one_caption(items: list[tuple[str, float, dict[str, Any]]], rng: np.random.Generator) -> str:
    if not items:
        return CLEAN_CAPTIONS[int(rng.integers(len(CLEAN_CAPTIONS)))]
    phrases = []
    for kind, severity, params in items:
        nouns = _nouns_for(kind, params)
        phrases.append(f"{severity_word(severity, rng)} {nouns[int(rng.integers(len(nouns)))]}")
    template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
    return template.format(items=_join(phrases, rng))


def captions_for(
    record_or_list: Any, rng: np.random.Generator | None = None, count: int = 4
) -> tuple[str, ...]:
    """``count`` distinct phrasings (as far as the templates allow) of one label.

    ``record_or_list``: a :class:`DegradationRecord`, a sequence of applied degradations, of
    objects with ``.type``/``.severity`` (the analyzer's ``Degradation``), of dicts with
    ``type``/``severity``, or of (type, severity) pairs.
    """
    items = _items(record_or_list)
    generator = rng if rng is not None else np.random.default_rng(_content_seed(items))
    captions: list[str] = []
    for _ in range(8 * count):
        caption = _one_caption(items, generator)
        if caption not in captions:
            captions.append(caption)
        if len(captions) == count:
            break
    return tuple(captions)


def caption_for(record_or_list: Any, rng: np.random.Generator | None = None) -> str:
    """One caption for a label (see :func:`captions_for`)."""
    return captions_for(record_or_list, rng, count=1)[0]
