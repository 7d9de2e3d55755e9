"""Choosing the torch device: ``auto`` means CUDA when torch sees a GPU, else CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restora.errors import NotAvailableError, RestoraError

if TYPE_CHECKING:
    import torch


def resolve_device(name: str | None = None) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (default: ``RESTORA_DEVICE`` from :mod:`restora.settings`, or auto)."""
    import torch

    from restora.settings import settings

    choice = (name or settings().device or "auto").lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise NotAvailableError("--device cuda was asked for but torch sees no CUDA GPU")
        return torch.device(choice)
    raise RestoraError(f"unknown device {name!r}; choose auto, cpu or cuda")


def describe_device(device: torch.device) -> str:
    """What a training record says it ran on: ``cuda (NVIDIA H100 80GB HBM3)``, ``cpu (x86_64,
    2 threads)``."""
    import platform

    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def allow_tf32(device: torch.device) -> None:
    """On CUDA, let convolutions and matrix products use TF32 (several times faster on
    Ampere/Hopper; PSNR-scale losses of 8-bit targets do not see the difference)."""
    import torch

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
