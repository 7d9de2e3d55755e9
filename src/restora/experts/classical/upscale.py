"""Upscaling: bicubic, Lanczos and iterative back-projection.

Bicubic uses Pillow because its cubic kernel is Keys' a = -0.5, the kernel of MATLAB's
``imresize`` with which every SR test set (Set5, Set14, B100, Urban100) was made; OpenCV's and
torch's cubic use a = -0.75 and lose ~0.1-0.2 dB on those sets. Lanczos is OpenCV's 8x8
``INTER_LANCZOS4``. Iterative back-projection (Irani & Peleg 1991) has no library
implementation we can depend on, so it is written here: start from the bicubic estimate and
repeatedly add back the upsampled error between the input and the estimate's downsampled
version, so that the result stays consistent with the low-resolution image.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image as PILImage

from restora.experts.base import Expert


def resize_bicubic(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """MATLAB-style bicubic resize (Pillow, a = -0.5; antialiased when shrinking)."""
    planes = [
        np.asarray(
            PILImage.fromarray(
                np.ascontiguousarray(image[..., c], dtype=np.float32), mode="F"
            ).resize((width, height), PILImage.Resampling.BICUBIC)
        )
        for c in range(image.shape[2])
    ]
    return np.stack(planes, axis=2).astype(np.float32)


def _bicubic(image: np.ndarray, scale: int = 4) -> np.ndarray:
    h, w = image.shape[:2]
    return resize_bicubic(image, h * scale, w * scale)


def _lanczos(image: np.ndarray, scale: int = 4) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (w * scale, h * scale), interpolation=cv2.INTER_LANCZOS4)


def _ibp(image: np.ndarray, scale: int = 4, iterations: int = 20, step: float = 1.0) -> np.ndarray:
    h, w = image.shape[:2]
    return back_project(resize_bicubic(image, h * scale, w * scale), image, iterations, step)


def back_project(
    estimate: np.ndarray, image: np.ndarray, iterations: int = 10, step: float = 1.0
) -> np.ndarray:
    """Refine a high-resolution ``estimate`` of low-resolution ``image`` until its bicubic
    downscale matches ``image`` (Irani & Peleg); also used after the learned upscaler."""
    h, w = image.shape[:2]
    estimate = np.array(estimate, dtype=np.float32)
    for _ in range(int(iterations)):
        error = image - resize_bicubic(estimate, h, w)
        estimate += step * resize_bicubic(error, *estimate.shape[:2])
        np.clip(estimate, 0.0, 1.0, out=estimate)
    return estimate


def _upscaler(name: str, run: object, description: str, reference: str, rank: float) -> Expert:
    return Expert(
        name=name,
        task="upscale",
        backend="classical",
        run=run,  # type: ignore[arg-type]
        params={"scale": 4} if name != "ibp" else {"scale": 4, "iterations": 20, "step": 1.0},
        param_ranges={"scale": (1, 8), **({"iterations": (0, 500)} if name == "ibp" else {})},
        # interpolators take any integer factor: ``scale`` is the default, a call may ask for
        # another (Expert.output_scale)
        scale=4,
        tile_size=1024,
        tile_overlap=64 if name == "ibp" else 16,
        description=description,
        reference=reference,
        rank=rank,
        bytes_per_output_pixel={"bicubic": 51.0, "lanczos": 39.0}.get(name, 57.0),
    )


def bicubic() -> Expert:
    return _upscaler(
        "bicubic", _bicubic, "Bicubic (MATLAB imresize kernel, a=-0.5).", "Keys 1981", 40
    )


def lanczos() -> Expert:
    return _upscaler("lanczos", _lanczos, "Lanczos-4 interpolation (OpenCV).", "Duchon 1979", 30)


def ibp() -> Expert:
    return _upscaler(
        "ibp",
        _ibp,
        "Iterative back-projection from bicubic: consistent with the low-resolution input.",
        "Irani & Peleg 1991",
        20,  # Set5 (BENCHMARKS.md): ibp > lanczos > bicubic
    )
