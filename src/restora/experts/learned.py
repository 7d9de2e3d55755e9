"""The hook for learned (torch) experts: a module factory plus a weights file, loaded lazily.

The learned experts of a later issue register themselves with :func:`torch_expert` into the same
registry as the classical ones, so the agent never knows the difference::

    register("nafnet_denoise", lambda: torch_expert(
        "nafnet_denoise", "denoise", build=lambda: NAFNet(width=32),
        weights=WEIGHTS_DIR / "nafnet_denoise.safetensors"))

Nothing is imported or loaded until the expert is first called; the module is then cached per
device. Weights are read with safetensors (no pickle); ``.pth`` state dicts load with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from restora.experts.base import Expert

_MODULES: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def load_state_dict(path: Path) -> dict[str, Any]:
    """Tensors of a ``.safetensors`` (preferred) or ``.pth`` file, on the CPU."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    import torch

    state = torch.load(str(path), map_location="cpu", weights_only=True)
    return dict(state.get("state_dict", state) if isinstance(state, dict) else state)


def _channels_last(module: Any) -> Any:
    """The module's weights in channels-last layout: the learned experts' convolutions run 1.9x
    faster on the 2-core CPU (``nafnet_denoise`` on 1 MP: 9.6 -> 5.2 s) with outputs equal to
    2e-7. Modules that wrap a network (``.network``) convert that."""
    import torch

    target = module if isinstance(module, torch.nn.Module) else getattr(module, "network", None)
    if isinstance(target, torch.nn.Module):
        target.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return module


def torch_expert(
    name: str,
    task: str,
    build: Callable[[], Any],
    weights: str | Path | None = None,
    *,
    scale: int = 1,
    size_multiple: int = 1,
    tile_size: int = 512,
    tile_overlap: int = 32,
    params: Mapping[str, Any] | None = None,
    forward: Callable[..., Any] | None = None,
    description: str = "",
    reference: str = "",
    cache_key: str | None = None,
    **descriptor: Any,
) -> Expert:
    """An :class:`Expert` around a torch ``nn.Module`` built by ``build()``.

    ``forward(module, x, **params)`` maps an NCHW float tensor in [0, 1] to the restored tensor
    (default: ``module(x)``); use it for models that take a noise level or an embedding.
    Experts built with the same ``cache_key`` (default: the name) share one loaded module per
    device, so an all-in-one network behind several task names is loaded once. ``descriptor``
    holds the other :class:`Expert` fields (``rank``, ``handles``, ``side_effects``...).
    """
    weights_path = Path(weights) if weights is not None else None

    def module_on(device: Any) -> Any:
        key = (cache_key or name, str(device))
        with _LOCK:
            if key not in _MODULES:
                module = build()
                if weights_path is not None:
                    module.load_state_dict(load_state_dict(weights_path), strict=True)
                _MODULES[key] = _channels_last(module.eval().to(device))
            return _MODULES[key]

    def run(image: np.ndarray, device: str = "auto", **call_params: Any) -> np.ndarray:
        import torch

        from restora.device import resolve_device

        target = resolve_device(None if device == "auto" else device)
        module = module_on(target)
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(target)
        with torch.inference_mode():
            y = forward(module, x, **call_params) if forward else module(x)
        return np.asarray(y[0].float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0))

    return Expert(
        name=name,
        task=task,
        backend="learned",
        run=run,
        scale=scale,
        params={"device": "auto", **dict(params or {})},
        devices=("cpu", "cuda"),
        tile_size=tile_size,
        tile_overlap=tile_overlap,
        size_multiple=size_multiple,
        description=description,
        reference=reference,
        **descriptor,
    )
