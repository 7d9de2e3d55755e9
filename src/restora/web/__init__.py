"""The restora web app (``restora serve``): a Gradio page over the Python API.

    >>> from restora.web import build_app, launch
    >>> launch(host="127.0.0.1", port=7860)          # blocks; the page is on http://127.0.0.1:7860
    >>> app = build_app()                            # or a gr.Blocks to mount or test yourself

Gradio is an optional dependency (``pip install 'restora[web]'``); importing this package is
cheap and never imports it, so the rest of restora works without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restora.web.app import build_app, launch, make_examples

_API: dict[str, str] = {
    "build_app": "restora.web.app",
    "launch": "restora.web.app",
    "make_examples": "restora.web.app",
}

__all__ = ["build_app", "launch", "make_examples"]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'restora.web' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
