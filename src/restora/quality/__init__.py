"""Image quality assessment: full-reference and no-reference metrics, levels and words.

* :func:`list_metrics`, :func:`get_metric`, :func:`compute`: the metric registry. Each metric
  declares its kind, direction, range and input convention (see docs/quality.md).
* :func:`psnr`, :func:`ssim`: the restoration-paper (BasicSR) convention with ``crop_border``
  and ``y_channel``; every restoration benchmark uses these.
* :func:`assess_nr`, :func:`level_for`, :func:`register_quality_model`: a 0-100 quality score,
  its level (excellent / good / fair / poor / bad) and a short description.

Submodules are imported on first use, so ``import restora.quality`` is cheap. The NIQE and
PIQE functions live in their submodules (``restora.quality.niqe.niqe``) or are reached by name
(``compute("niqe", image)``): a package attribute of the same name as a submodule would be
replaced by the submodule on import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restora.quality.full_reference import psnr, ssim
    from restora.quality.levels import (
        QualityCues,
        assess_nr,
        describe,
        level_for,
        measure_cues,
        quality_models,
        register_quality_model,
    )
    from restora.quality.registry import Metric, compute, get_metric, list_metrics

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "Metric": "registry",
    "compute": "registry",
    "get_metric": "registry",
    "list_metrics": "registry",
    "psnr": "full_reference",
    "ssim": "full_reference",
    "QualityCues": "levels",
    "assess_nr": "levels",
    "describe": "levels",
    "level_for": "levels",
    "measure_cues": "levels",
    "quality_models": "levels",
    "register_quality_model": "levels",
}

__all__ = [
    "Metric",
    "QualityCues",
    "assess_nr",
    "compute",
    "describe",
    "get_metric",
    "level_for",
    "list_metrics",
    "measure_cues",
    "psnr",
    "quality_models",
    "register_quality_model",
    "ssim",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'restora.quality' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"restora.quality.{module}"), name)
    globals()[name] = value
    return value
