"""Restoration experts: a registry of classical, learned and ONNX experts behind one descriptor.

>>> from restora.experts import get_expert
>>> denoised = get_expert("nlm")(noisy)          # float32 (H, W, 3) in [0, 1]
>>> [e.name for e in experts_for_task("upscale")]
['bicubic', 'lanczos', 'ibp']
"""

from __future__ import annotations

from restora.experts.base import BACKENDS, Expert
from restora.experts.registry import (
    BUILTIN_EXPERTS,
    experts_for_task,
    get_expert,
    list_experts,
    names,
    register,
    unregister,
)
from restora.experts.tiling import TileSpec, process_tiled

__all__ = [
    "BACKENDS",
    "BUILTIN_EXPERTS",
    "Expert",
    "TileSpec",
    "experts_for_task",
    "get_expert",
    "list_experts",
    "names",
    "process_tiled",
    "register",
    "unregister",
]
