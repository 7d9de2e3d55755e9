"""The degradation engine: realistic single and mixed degradations with labels and captions.

Every type of :data:`restora.vocabulary.SYNTHESIS_TYPES` is one pure function
``add_<type>(image, severity, rng, **options) -> (image, params)`` on float32 RGB (H, W, 3) in
[0, 1], deterministic for a given generator state, with its severity -> physical mapping in its
module docstring (see docs/degradations.md for the table). The registry below maps each type
name to where its function lives; modules are imported on first use. Every function also
takes ``realistic=True`` for a camera-realistic variant of its type (the camera pipeline of
:mod:`restora.degradations.camera`, lens defocus, compression chains, layered rain ...), and
``synthesize(..., realism=p)`` uses those variants with probability ``p``.

    >>> from restora import degradations
    >>> noisy, params = degradations.apply("noise", image, 0.5, np.random.default_rng(0))
    >>> out, record = degradations.synthesize(image, "mixed", seed=3, stage="medium")
    >>> out, record = degradations.synthesize(image, "mixed", seed=3, realism=0.5)
    >>> record.to_dict()   # {"degradations": [{"type", "severity", "params"}], "caption": ...}
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import lazy_loader
import numpy as np

from restora.errors import UnknownNameError

if TYPE_CHECKING:
    from restora.degradations.blur import add_blur as add_blur
    from restora.degradations.captions import caption_for as caption_for
    from restora.degradations.captions import captions_for as captions_for
    from restora.degradations.haze import add_haze as add_haze
    from restora.degradations.jpeg import add_jpeg as add_jpeg
    from restora.degradations.jpeg import encode_jpeg as encode_jpeg
    from restora.degradations.jpeg import (
        jpeg_quality_from_quantization_tables as jpeg_quality_from_quantization_tables,
    )
    from restora.degradations.low_light import add_low_light as add_low_light
    from restora.degradations.mixed import PHYSICAL_ORDER as PHYSICAL_ORDER
    from restora.degradations.mixed import STAGES as STAGES
    from restora.degradations.mixed import synthesize as synthesize
    from restora.degradations.motion import add_motion_blur as add_motion_blur
    from restora.degradations.noise import add_noise as add_noise
    from restora.degradations.rain import add_rain as add_rain
    from restora.degradations.records import AppliedDegradation as AppliedDegradation
    from restora.degradations.records import DegradationRecord as DegradationRecord
    from restora.degradations.reflection import add_reflection as add_reflection
    from restora.degradations.resize import imresize as imresize
    from restora.degradations.resolution import add_low_resolution as add_low_resolution

DegradationFunction = Callable[..., tuple[np.ndarray, dict[str, Any]]]

REGISTRY: dict[str, tuple[str, str]] = {
    "noise": ("restora.degradations.noise", "add_noise"),
    "blur": ("restora.degradations.blur", "add_blur"),
    "motion_blur": ("restora.degradations.motion", "add_motion_blur"),
    "jpeg": ("restora.degradations.jpeg", "add_jpeg"),
    "low_resolution": ("restora.degradations.resolution", "add_low_resolution"),
    "haze": ("restora.degradations.haze", "add_haze"),
    "rain": ("restora.degradations.rain", "add_rain"),
    "low_light": ("restora.degradations.low_light", "add_low_light"),
    "reflection": ("restora.degradations.reflection", "add_reflection"),
}
"""Type name -> (module, function). One entry per synthesis type."""

_EXPORTS: dict[str, list[str]] = {
    "mixed": ["PHYSICAL_ORDER", "STAGES", "synthesize"],
    "records": ["AppliedDegradation", "DegradationRecord"],
    "captions": ["caption_for", "captions_for"],
    "resize": ["imresize"],
    "jpeg": ["encode_jpeg", "jpeg_quality_from_quantization_tables"],
}
"""Submodule -> names imported from it on first use (plus every add_<type> of REGISTRY)."""
for _module, _function in REGISTRY.values():
    _EXPORTS.setdefault(_module.removeprefix(f"{__name__}."), []).append(_function)
del _module, _function

__getattr__, _, _lazy_names = lazy_loader.attach(__name__, submod_attrs=_EXPORTS)
__all__ = sorted([*_lazy_names, "REGISTRY", "apply", "check_type", "get", "list_types"])


def __dir__() -> list[str]:
    return list(__all__)


def list_types() -> list[str]:
    """Every degradation type the engine synthesises."""
    return list(REGISTRY)


def check_type(type_name: str) -> str:
    """``type_name`` if it is a registered type, else :class:`UnknownNameError`."""
    if type_name not in REGISTRY:
        raise UnknownNameError("degradation type", type_name, list(REGISTRY))
    return type_name


def get(type_name: str) -> DegradationFunction:
    """The function for ``type_name`` (its module is imported on first use)."""
    module, function = REGISTRY[check_type(type_name)]
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def apply(
    type_name: str,
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    **options: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply one degradation: float32 RGB (H, W, 3) in [0, 1] in and out.

    ``low_resolution`` returns the smaller, low-resolution image unless
    ``resize_back=True`` is passed (see :mod:`restora.degradations.resolution`).
    """
    out, params = get(type_name)(image, severity, rng, **options)
    return out, params
