"""The metric registry: one table from a name to where the metric lives and what it means.

Every metric declares whether it needs a reference, which direction is better, its range and
the convention its numbers follow, so that nobody has to guess (pyiqa users ask this again and
again). Implementations are imported on first use; :func:`compute` validates the inputs once for
all metrics and raises :class:`~restora.errors.InputError` subclasses with clear messages.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from restora.errors import InputError, UnknownNameError

FULL_REFERENCE = "full-reference"
NO_REFERENCE = "no-reference"

CONVENTIONS: dict[str, str] = {
    "iqa": (
        "IQA convention: the official (MATLAB) implementation on 8-bit input; grey metrics use "
        "MATLAB rgb2gray, PSNR uses all RGB channels with peak 255 (matches "
        "TID2013_calibration/results_official.csv)"
    ),
    "basicsr": (
        "restoration-paper convention (BasicSR calculate_psnr/calculate_ssim): 8-bit rounding, "
        "Y of ITU-R BT.601 YCbCr (16-235), optional crop_border"
    ),
    "restora": "defined by restora (see docs/quality.md)",
}


class ImageShapeError(InputError):
    """An image array has an unsupported shape or is too small for the metric."""


class ImageRangeError(InputError):
    """Pixel values are outside [0, 1] (float) or the dtype is not supported."""


class SizeMismatchError(InputError):
    """A full-reference metric got an image and a reference of different sizes."""


class ChannelMismatchError(InputError):
    """One image is grey and the other colour."""


class MissingReferenceError(InputError):
    """A full-reference metric was called without a reference image."""


@dataclass(frozen=True)
class Metric:
    """A quality metric and what its numbers mean.

    Call it as ``metric(image)`` (no-reference) or ``metric(image, ref)`` (full-reference) with
    float arrays in [0, 1], (H, W, 3) or (H, W) (uint8 arrays are accepted too).

    ``target`` is where the implementation lives, ``"module:function"`` inside
    ``restora.quality`` (imported on first use), or the function itself for a metric registered
    from outside (:func:`register_metric`).
    """

    name: str
    kind: str
    higher_is_better: bool
    range: tuple[float, float]
    input: str
    convention: str
    target: str | Callable[..., float]
    description: str = ""
    min_size: int = 1
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    by_default: bool = True
    """Computed by ``restora assess`` when no ``--metrics`` are named (False for a metric
    that only repeats others, such as ``quality_classic``)."""
    memory: str | Callable[[int, int], float] | None = field(default=None, compare=False)
    """Its peak working memory in bytes for a height x width input, beyond the input arrays:
    ``"module:function"`` in ``restora.quality`` or a function; None assumes
    :data:`DEFAULT_BYTES_PER_PIXEL` per pixel (the refusal of images that cannot fit uses it)."""

    @property
    def needs_reference(self) -> bool:
        return self.kind == FULL_REFERENCE

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    @property
    def is_quality_model(self) -> bool:
        """No-reference, 0-100, higher is better: usable by :func:`restora.quality.assess_nr`."""
        return self.kind == NO_REFERENCE and self.higher_is_better and self.range == (0.0, 100.0)

    def function(self) -> Callable[..., float]:
        if callable(self.target):
            return self.target
        module_name, attr = self.target.split(":")
        module = importlib.import_module(f"restora.quality.{module_name}")
        func: Callable[..., float] = getattr(module, attr)
        return func

    def working_memory(self, height: int, width: int) -> float:
        """Estimated peak bytes this metric needs on a ``height`` x ``width`` image (and its
        reference), beyond the input arrays themselves."""
        if self.memory is None:
            return DEFAULT_BYTES_PER_PIXEL * height * width
        if callable(self.memory):
            return float(self.memory(height, width))
        module_name, attr = self.memory.split(":")
        module = importlib.import_module(f"restora.quality.{module_name}")
        return float(getattr(module, attr)(height, width))

    def __call__(self, image: Any, ref: Any = None, **opts: Any) -> float:
        img = as_metric_array(image, "image")
        check_size(img, self)
        options = {**self.options, **opts}
        if self.needs_reference:
            if ref is None:
                raise MissingReferenceError(f"metric {self.name!r} needs a reference image")
            reference = as_metric_array(ref, "reference")
            check_pair(img, reference)
            return float(self.function()(img, reference, **options))
        return float(self.function()(img, **options))

    def to_dict(self) -> dict[str, Any]:
        low, high = self.range
        return {
            "name": self.name,
            "kind": self.kind,
            "higher_is_better": self.higher_is_better,
            "direction": self.direction,
            "range": [_json_bound(low), _json_bound(high)],
            "input": self.input,
            "convention": self.convention,
            "description": self.description,
        }


def _json_bound(value: float) -> float | str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


DEFAULT_BYTES_PER_PIXEL = 120.0
"""Working memory assumed for a metric that does not declare its own: a dozen float64
full-size arrays, what whole-image numpy code typically holds at once."""

_RGB_OR_GREY = "float RGB (H, W, 3) or grey (H, W) in [0, 1]"
_INF = math.inf

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "psnr",
            FULL_REFERENCE,
            True,
            (0.0, _INF),
            _RGB_OR_GREY + "; computed on all RGB channels of the 8-bit image",
            "iqa",
            "full_reference:psnr_rgb",
            "peak signal-to-noise ratio in dB, peak 255 (inf for identical images)",
            memory="full_reference:psnr_memory",
        ),
        Metric(
            "psnr_y",
            FULL_REFERENCE,
            True,
            (0.0, _INF),
            _RGB_OR_GREY + "; Y of BT.601 YCbCr (16-235) of the 8-bit image",
            "basicsr",
            "full_reference:psnr_y",
            "PSNR on the luma channel, as restoration papers report it (crop_border=0)",
            memory="full_reference:psnr_memory",
        ),
        Metric(
            "ssim",
            FULL_REFERENCE,
            True,
            (-1.0, 1.0),
            _RGB_OR_GREY + "; MATLAB rgb2gray of the 8-bit image",
            "iqa",
            "full_reference:ssim_grey",
            "structural similarity (Wang et al. 2004), 11x11 Gaussian window, sigma 1.5",
            min_size=11,
            memory="full_reference:ssim_memory",
        ),
        Metric(
            "ssim_y",
            FULL_REFERENCE,
            True,
            (-1.0, 1.0),
            _RGB_OR_GREY + "; Y of BT.601 YCbCr (16-235) of the 8-bit image",
            "basicsr",
            "full_reference:ssim_y",
            "SSIM on the luma channel, as restoration papers report it (crop_border=0)",
            min_size=11,
            memory="full_reference:ssim_memory",
        ),
        Metric(
            "ms_ssim",
            FULL_REFERENCE,
            True,
            (0.0, 1.0),
            _RGB_OR_GREY + "; MATLAB rgb2gray of the 8-bit image",
            "iqa",
            "full_reference:ms_ssim",
            "multi-scale SSIM, five scales, weights 0.0448/0.2856/0.3001/0.2363/0.1333",
            min_size=176,
            memory="full_reference:ms_ssim_memory",
        ),
        Metric(
            "gmsd",
            FULL_REFERENCE,
            False,
            (0.0, _INF),
            _RGB_OR_GREY + "; MATLAB rgb2gray of the 8-bit image",
            "iqa",
            "full_reference:gmsd",
            "gradient magnitude similarity deviation (Xue et al. 2014); 0 for identical images",
            min_size=4,
            memory="full_reference:gmsd_memory",
        ),
        Metric(
            "vif",
            FULL_REFERENCE,
            True,
            (0.0, _INF),
            _RGB_OR_GREY + "; MATLAB rgb2gray of the 8-bit image",
            "iqa",
            "vif:vif",
            "visual information fidelity (Sheikh & Bovik 2006), wavelet-domain GSM; 1 for "
            "identical images, above 1 for contrast enhancement",
            min_size=64,
            memory="vif:working_memory",
        ),
        Metric(
            "fsim",
            FULL_REFERENCE,
            True,
            (0.0, 1.0),
            _RGB_OR_GREY + "; MATLAB rgb2gray of the 8-bit image",
            "iqa",
            "fsim:fsim",
            "feature similarity (Zhang et al. 2011), phase congruency + gradient magnitude",
            min_size=16,
            memory="fsim:working_memory",
        ),
        Metric(
            "niqe",
            NO_REFERENCE,
            False,
            (0.0, _INF),
            _RGB_OR_GREY + "; MATLAB rgb2gray of the 8-bit image; at least 96x96",
            "iqa",
            "niqe:niqe",
            "natural image quality evaluator (Mittal et al. 2013), pristine model fitted by "
            "restora on clean training images",
            min_size=96,
            memory="niqe:working_memory",
        ),
        Metric(
            "piqe",
            NO_REFERENCE,
            False,
            (0.0, 100.0),
            _RGB_OR_GREY + "; MATLAB rgb2gray of the 8-bit image",
            "iqa",
            "piqe:piqe",
            "perception-based image quality evaluator (Venkatanath et al. 2015); 0 best, 100 worst",
            min_size=16,
            memory="piqe:working_memory",
        ),
        Metric(
            "brisque",
            NO_REFERENCE,
            False,
            (-_INF, _INF),
            _RGB_OR_GREY + "; MATLAB rgb2gray of the 8-bit image",
            "iqa",
            "brisque:brisque",
            "BRISQUE (Mittal et al. 2012) with the LIVE-trained SVR of the 'brisque' package: "
            "nominally 0 (pristine) to 100 (heavy distortion), not clipped: clean photos can "
            "score slightly below 0, synthetic images above 100; 100 for a flat image",
            min_size=32,
            memory="brisque:working_memory",
        ),
        Metric(
            "quality",
            NO_REFERENCE,
            True,
            (0.0, 100.0),
            _RGB_OR_GREY + "; judged on the whole photo seen at most 512 x 512",
            "restora",
            "learned:mos",
            "restora's quality score: the mean opinion score (0-100) predicted by a head on "
            "frozen ImageNet EfficientNet-Lite0 features, fitted on the 496 LIVE In-the-Wild "
            "Challenge training photos; behind the levels (excellent >= 80, good >= 60, fair "
            ">= 40, poor >= 20, bad below)",
            min_size=1,
            memory="learned:working_memory",
        ),
        Metric(
            "quality_classic",
            NO_REFERENCE,
            True,
            (0.0, 100.0),
            _RGB_OR_GREY,
            "restora",
            "levels:quality_score",
            "the classical score restora used before the learned one: NIQE and PIQE mapped to "
            "0-100 and weighted 3:1",
            min_size=16,
            memory="levels:working_memory",
            by_default=False,
        ),
    )
}
"""Every metric restora knows, by name (the order is the listing order)."""


def list_metrics(kind: str | None = None) -> list[str]:
    """Metric names (all, or only ``'full-reference'`` / ``'no-reference'`` ones)."""
    if kind is not None and kind not in (FULL_REFERENCE, NO_REFERENCE):
        raise UnknownNameError("metric kind", kind, [FULL_REFERENCE, NO_REFERENCE])
    return [name for name, m in METRICS.items() if kind is None or m.kind == kind]


def register_metric(metric: Metric, *, replace: bool = False) -> Metric:
    """Add ``metric`` to the registry (``replace=True`` to overwrite one of the same name).

    >>> register_metric(Metric("my_quality", NO_REFERENCE, True, (0.0, 100.0), "float RGB",
    ...                        "restora", lambda image: 100 * my_model(image)))
    >>> assess_nr(image, model="my_quality")
    """
    if metric.kind not in (FULL_REFERENCE, NO_REFERENCE):
        raise UnknownNameError("metric kind", metric.kind, [FULL_REFERENCE, NO_REFERENCE])
    if metric.convention not in CONVENTIONS:
        raise UnknownNameError("metric convention", metric.convention, list(CONVENTIONS))
    if metric.name in METRICS and not replace:
        raise ValueError(f"metric {metric.name!r} is already registered (pass replace=True)")
    METRICS[metric.name] = metric
    return metric


def quality_models() -> list[str]:
    """Metrics :func:`restora.quality.assess_nr` can use (no-reference, 0-100, higher is
    better), ``"quality"`` (the learned mean opinion score) first."""
    return [name for name, m in METRICS.items() if m.is_quality_model]


def get_quality_model(name: str) -> Metric:
    """The quality-model metric called ``name``; other names list the valid ones."""
    metric = METRICS.get(name)
    if metric is None or not metric.is_quality_model:
        raise UnknownNameError("quality model", name, quality_models())
    return metric


def get_metric(name: str) -> Metric:
    """The metric descriptor called ``name``; unknown names list the valid ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownNameError("metric", name, list(METRICS)) from None


def compute(name: str, image: Any, ref: Any = None, **opts: Any) -> float:
    """Compute metric ``name`` on ``image`` (and ``ref`` for full-reference metrics)."""
    return get_metric(name)(image, ref, **opts)


# ------------------------------------------------------------------------------ input checking


def as_metric_array(image: Any, what: str = "image") -> np.ndarray:
    """Validate an image for the metrics: float (H, W) or (H, W, 3) in [0, 1].

    Accepts numpy arrays (float in [0, 1], uint8, uint16), :class:`restora.io.Image` (grey files
    stay grey) and (H, W, 1) arrays. Float arrays keep their precision and are not copied
    when they are already in range (the result may be the caller's array or a view of it:
    metrics never write into it); integers become float32, whose 8- and 16-bit levels are
    exact for every metric (they round to the 8-bit grid in float64, see docs/quality.md).
    """
    if hasattr(image, "rgb") and hasattr(image, "meta"):
        rgb = np.asarray(image.rgb)
        image = rgb[..., 0] if getattr(image.meta, "grey", False) else rgb
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[2] == 4:
        raise ImageShapeError(f"{what} has an alpha channel; pass RGB (H, W, 3) or grey (H, W)")
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ImageShapeError(f"{what} must have shape (H, W, 3) or (H, W), got {tuple(arr.shape)}")
    if arr.dtype in (np.uint8, np.uint16):
        out = arr.astype(np.float32)
        return np.divide(out, 255.0 if arr.dtype == np.uint8 else 65535.0, out=out)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ImageRangeError(f"{what} has unsupported pixel type {arr.dtype}; use float or uint8")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32)
    if arr.size == 0:
        raise ImageShapeError(f"{what} is empty")
    # min and max carry NaN through, so no full-size mask of finite values is needed
    low, high = float(arr.min()), float(arr.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ImageRangeError(f"{what} contains NaN or infinite values")
    if low < -1e-3 or high > 1.0 + 1e-3:
        hint = " (it looks like 0-255 data: divide by 255)" if high > 1.5 else ""
        raise ImageRangeError(f"{what} values must be in [0, 1], got [{low:.4g}, {high:.4g}]{hint}")
    if low < 0.0 or high > 1.0:
        return np.clip(arr, 0.0, 1.0)
    return arr


def check_size(image: np.ndarray, metric: Metric) -> None:
    height, width = image.shape[:2]
    if min(height, width) < metric.min_size:
        raise ImageShapeError(
            f"metric {metric.name!r} needs images of at least {metric.min_size}x"
            f"{metric.min_size} pixels, got {width}x{height}"
        )


def check_pair(image: np.ndarray, ref: np.ndarray) -> None:
    """Full-reference inputs must have the same size and both be grey or both colour."""
    if image.ndim != ref.ndim:
        grey, colour = ("image", "reference") if image.ndim == 2 else ("reference", "image")
        raise ChannelMismatchError(
            f"the {grey} is grey and the {colour} is colour; convert one so both match"
        )
    if image.shape != ref.shape:
        raise SizeMismatchError(
            f"image and reference differ in size: {image.shape[1]}x{image.shape[0]} vs "
            f"{ref.shape[1]}x{ref.shape[0]}"
        )
