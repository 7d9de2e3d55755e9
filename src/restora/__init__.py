"""restora: language-driven, degradation-aware image restoration with quality assessment.

The public API is imported lazily, so ``import restora`` is cheap and an optional dependency
of one part never breaks another::

    import restora
    image = restora.load("photo.jpg")
    restora.save(image, "copy.png")
    result = restora.restore(image, "remove the noise")   # the agent; result.trace explains
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

__version__ = "0.1.0"

if TYPE_CHECKING:
    from restora.agent.api import restore as restore
    from restora.device import resolve_device as resolve_device
    from restora.errors import RestoraError as RestoraError
    from restora.io import Image as Image
    from restora.io import ImageMeta as ImageMeta
    from restora.io import load as load
    from restora.io import save as save
    from restora.paths import data_dir as data_dir

__getattr__, _, _lazy_names = lazy_loader.attach(
    __name__,
    submod_attrs={
        "io": ["Image", "ImageMeta", "load", "save"],
        "errors": ["RestoraError"],
        "paths": ["data_dir"],
        "device": ["resolve_device"],
        "agent.api": ["restore"],
    },
)
__all__ = sorted([*_lazy_names, "__version__"])


def __dir__() -> list[str]:
    return list(__all__)
