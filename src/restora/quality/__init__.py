"""Image quality assessment: full-reference and no-reference metrics, levels and words.

* :func:`list_metrics`, :func:`get_metric`, :func:`compute`, :func:`register_metric`: the one
  metric registry. Each metric declares its kind, direction, range and input convention (see
  docs/quality.md).
* :func:`psnr`, :func:`ssim`: the restoration-paper (BasicSR) convention with ``crop_border``
  and ``y_channel``; every restoration benchmark uses these. :func:`psnr_float` is PSNR of
  unrounded float data.
* :func:`assess_nr`, :func:`level_for`: a 0-100 quality score, its level (excellent / good /
  fair / poor / bad) and a short description. The score comes from a *quality model*: a
  registered no-reference metric scored 0-100, higher is better, picked by name
  (``assess_nr(image, model=...)``; :func:`quality_models` lists them).
* ``restora.quality.statistics``: pixel statistics shared with the experts (luma, noise sigma,
  blockiness, a JPEG quality estimate).

Submodules are imported on first use, so ``import restora.quality`` is cheap. The NIQE and
PIQE functions live in their submodules (``restora.quality.niqe.niqe``) or are reached by name
(``compute("niqe", image)``): a package attribute of the same name as a submodule would be
replaced by the submodule on import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from restora.quality.full_reference import psnr as psnr
    from restora.quality.full_reference import psnr_float as psnr_float
    from restora.quality.full_reference import ssim as ssim
    from restora.quality.levels import QualityCues as QualityCues
    from restora.quality.levels import assess_nr as assess_nr
    from restora.quality.levels import describe as describe
    from restora.quality.levels import level_for as level_for
    from restora.quality.levels import measure_cues as measure_cues
    from restora.quality.registry import Metric as Metric
    from restora.quality.registry import compute as compute
    from restora.quality.registry import get_metric as get_metric
    from restora.quality.registry import list_metrics as list_metrics
    from restora.quality.registry import quality_models as quality_models
    from restora.quality.registry import register_metric as register_metric

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "registry": [
            "Metric",
            "compute",
            "get_metric",
            "list_metrics",
            "quality_models",
            "register_metric",
        ],
        "full_reference": ["psnr", "psnr_float", "ssim"],
        "levels": ["QualityCues", "assess_nr", "describe", "level_for", "measure_cues"],
    },
)
