"""Quantities an expert can take from the analyzer instead of estimating them itself.

A descriptor's ``from_analysis`` maps its parameters to the names here (``{"sigma":
"noise_sigma"}`` on the denoisers). Each quantity comes from the severity the analyzer reports for
its degradation type, through the physical mapping the synthesis engine documents for that type
(``restora.degradations``: noise sigma = 50 x severity, JPEG quality = 95 - 90 x severity), so the
analyzer and the expert speak the same units. When the analyzer does not report the type (a
user asked for the task on an image it judges clean of it), the quantity's own blind estimate
from the pixels is used where it has one, else the expert's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from restora.errors import UnknownNameError
from restora.types import Analysis


@dataclass(frozen=True)
class Quantity:
    """A physical quantity of one degradation type, from the analyzer's severity."""

    type: str
    from_severity: Callable[[float], float]
    unit: str
    estimate: Callable[[np.ndarray], float] | None = None


def _noise_sigma(severity: float) -> float:
    from restora.degradations.noise import sigma_for_severity

    return float(sigma_for_severity(severity))


def _jpeg_quality(severity: float) -> float:
    from restora.degradations.jpeg import quality_for_severity

    return float(quality_for_severity(severity))


def _jpeg_noise_sigma(severity: float) -> float:
    from restora.experts.classical.dejpeg import sigma_for_quality

    return sigma_for_quality(_jpeg_quality(severity))


def _estimate_jpeg_noise_sigma(image: np.ndarray) -> float:
    from restora.experts.classical.dejpeg import sigma_for_quality
    from restora.quality.statistics import estimate_jpeg_quality

    return sigma_for_quality(estimate_jpeg_quality(image))


QUANTITIES: dict[str, Quantity] = {
    "noise_sigma": Quantity("noise", _noise_sigma, "8-bit sigma"),
    "jpeg_quality": Quantity("jpeg", _jpeg_quality, "libjpeg quality"),
    "jpeg_noise_sigma": Quantity(
        "jpeg", _jpeg_noise_sigma, "8-bit sigma equivalent to the JPEG", _estimate_jpeg_noise_sigma
    ),
}


def params_from_analysis(
    wanted: Mapping[str, str],
    analysis: Analysis | None,
    image: np.ndarray | None = None,
    min_confidence: float = 0.5,
) -> dict[str, Any]:
    """``{parameter: value}`` for the ``wanted`` parameter -> quantity pairs: from the severity
    when the analysis reports the quantity's type with at least ``min_confidence``, else from the
    quantity's blind estimate on ``image`` when it has one (the rest is left to the expert)."""
    out: dict[str, Any] = {}
    found = {d.type: d for d in analysis.degradations} if analysis is not None else {}
    for param, name in wanted.items():
        quantity = QUANTITIES.get(name)
        if quantity is None:
            raise UnknownNameError("analysis quantity", name, list(QUANTITIES))
        degradation = found.get(quantity.type)
        if degradation is not None and degradation.confidence >= min_confidence:
            out[param] = round(quantity.from_severity(float(degradation.severity)), 2)
        elif quantity.estimate is not None and image is not None:
            out[param] = round(quantity.estimate(image), 2)
    return out
