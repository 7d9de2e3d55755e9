"""The restora web app (``restora serve``): a Gradio page over the Python API.

    >>> from restora.web import build_app, launch
    >>> launch(host="127.0.0.1", port=7860)          # blocks; the page is on http://127.0.0.1:7860
    >>> app = build_app()                            # or a gr.Blocks to mount or test yourself

Gradio is an optional dependency (``pip install 'restora[web]'``); importing this package is
cheap and never imports it, so the rest of restora works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from restora.web.app import build_app as build_app
    from restora.web.app import launch as launch
    from restora.web.app import make_examples as make_examples

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__, submod_attrs={"app": ["build_app", "launch", "make_examples"]}
)
