"""restora: language-driven, degradation-aware image restoration with quality assessment.

The public API is imported lazily, so ``import restora`` is cheap and an optional dependency
of one part never breaks another::

    import restora
    image = restora.load("photo.jpg")
    restora.save(image, "copy.png")
    result = restora.restore(image, "remove the noise")   # the agent; result.trace explains
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    "Image": "restora.io",
    "ImageMeta": "restora.io",
    "load": "restora.io",
    "save": "restora.io",
    "RestoraError": "restora.errors",
    "data_dir": "restora.paths",
    "resolve_device": "restora.device",
    "restore": "restora.agent.api",
}

__all__ = [
    "Image",
    "ImageMeta",
    "RestoraError",
    "__version__",
    "data_dir",
    "load",
    "resolve_device",
    "restore",
    "save",
]

if TYPE_CHECKING:
    from restora.agent.api import restore
    from restora.device import resolve_device
    from restora.errors import RestoraError
    from restora.io import Image, ImageMeta, load, save
    from restora.paths import data_dir


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'restora' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
