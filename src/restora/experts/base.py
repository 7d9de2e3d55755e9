"""The expert descriptor: every restoration expert looks the same to its caller.

Like spandrel's model descriptors, an :class:`Expert` knows its task, backend, scale, the
parameters it accepts (with defaults), which estimates it needs from the analyzer, where it can
run and how it must be cut into tiles; calling it validates the input, fills missing estimates
(once, on the whole image, so every tile uses the same value), pads to the size multiple, tiles
when the image is larger than the tile, clamps to [0, 1] and crops the padding away.

It also carries everything the agent needs to choose it (STYLE.md rule 11, after spandrel's
``ArchSupport(..., before=())``): the degradation types it undoes (``handles``), its place among
the experts of its task (``rank``, lower first, with per-type overrides in ``rank_for``), its
measured cost (``seconds_per_mp``, written by ``python -m restora.bench.costs`` into
``experts/costs.json``), the types its output can show without them being new damage
(``side_effects``), the parameters it takes from the analyzer instead of estimating them
(``from_analysis``), other tasks it also serves (``also_serves``) and whether it invents
plausible texture rather than recovering the signal (``generative``: GAN restorers, tried first
for the ``detailed`` look and after the faithful experts otherwise). Candidate selection only
sorts descriptors by these fields.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from restora.errors import InputError, RestoraError
from restora.experts.tiling import TileSpec, process_tiled, tile_starts
from restora.vocabulary import CONDITIONS, DEGRADATION_TYPES, TASKS, TYPES_FOR_TASK

BACKENDS: tuple[str, ...] = ("classical", "learned", "onnx")

BACKEND_SECONDS_PER_MP: dict[str, float] = {"classical": 5.0, "learned": 40.0, "onnx": 40.0}
"""The cost assumed for an expert that has no measurement in ``costs.json`` (a new one)."""

RunFunction = Callable[..., np.ndarray]
"""``run(tile (h, w, 3) float32 in [0, 1], **params) -> (h*scale, w*scale, 3)``."""

PrepareFunction = Callable[..., dict[str, Any]]
"""``prepare(whole image, **params) -> params``: global quantities filled in before tiling
(noise level, blur kernel, atmospheric light...)."""


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class CrossTask:
    """An expert serving a task other than its own: ``nlm`` removes JPEG artefacts when its
    sigma comes from the JPEG quality (JPEG error treated as noise, after Foi et al. 2007).
    ``from_analysis`` maps the expert's parameters to the quantities of
    :mod:`restora.experts.quantities` that make it fit for ``task``; ``params`` are fixed
    parameters of that role (an upscaler serving ``deblur`` runs at ``scale=1``)."""

    task: str
    rank: float
    from_analysis: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}")
        object.__setattr__(self, "from_analysis", _frozen(self.from_analysis))
        object.__setattr__(self, "params", _frozen(self.params))


@dataclass(frozen=True)
class Expert:
    """A restoration expert (see the module docstring). ``tile_size=None`` means never tile
    (the method needs the whole image, e.g. CLAHE's tile grid is relative to the image)."""

    name: str
    task: str
    backend: str
    run: RunFunction = field(repr=False, compare=False)
    description: str = ""
    scale: int = 1
    params: Mapping[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    devices: tuple[str, ...] = ("cpu",)
    tile_size: int | None = 1024
    tile_overlap: int = 64
    size_multiple: int = 1
    prepare: PrepareFunction | None = field(default=None, repr=False, compare=False)
    reference: str = ""
    handles: tuple[str, ...] = ()
    rank: float = 0.0
    rank_for: Mapping[str, float] = field(default_factory=dict)
    seconds_per_mp: float | None = None
    side_effects: frozenset[str] = frozenset()
    from_analysis: Mapping[str, str] = field(default_factory=dict)
    also_serves: tuple[CrossTask, ...] = ()
    licence: str = ""
    generative: bool = False
    """It invents plausible texture (a GAN restorer: Real-ESRGAN, RealSR) instead of recovering
    the signal: sharp and natural-looking, below the faithful experts in PSNR. The agent tries
    it first when the instruction asks for the ``detailed`` look, and otherwise after the
    faithful experts (it offers it for small damaged photos)."""
    precision: str = "float32"
    """The arithmetic its method works in: ``"float32"``/``"float64"``, or ``"uint8"`` for a
    method that only takes 8-bit levels, whose change is then applied to the full-precision
    input (``x + f(q(x)) - q(x)``, :func:`restora.experts.classical._common.on_8bit_levels`)."""
    min_size: int = 1
    """The smallest height and width its method takes (BM3D's 8-px blocks need 16: smaller
    images fail inside the library, or crash it); a smaller image is an :class:`InputError`."""
    param_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Inclusive bounds of numeric parameters (``iterations``: 1-500); a value outside is a
    user error before any work (an unbounded count runs for hours)."""
    suited_to: frozenset[str] = frozenset()
    """Conditions measured on the image (:data:`restora.vocabulary.CONDITIONS`) its method was
    made for: when the photo shows the condition, the experts of a step suited to it are its
    candidates (``"white noise"``: a denoiser trained on Gaussian noise, rather than the
    real-noise one made for the correlated noise cameras leave)."""
    bytes_per_output_pixel: float = 64.0
    """Peak working memory of one call per output pixel, for the memory check before an
    upscale (measured at x4 on 0.5 MP: bicubic 51, lanczos 39, ibp 57 bytes)."""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"expert {self.name!r}: unknown task {self.task!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"expert {self.name!r}: backend must be one of {BACKENDS}")
        if self.scale < 1 or self.size_multiple < 1:
            raise ValueError(f"expert {self.name!r}: scale and size_multiple must be >= 1")
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "rank_for", _frozen(self.rank_for))
        object.__setattr__(self, "from_analysis", _frozen(self.from_analysis))
        object.__setattr__(self, "side_effects", frozenset(self.side_effects))
        object.__setattr__(self, "suited_to", frozenset(self.suited_to))
        if not self.suited_to <= set(CONDITIONS):
            raise ValueError(f"expert {self.name!r}: unknown conditions {sorted(self.suited_to)}")
        if not self.handles:
            object.__setattr__(self, "handles", TYPES_FOR_TASK[self.task])
        unknown = set(self.handles) | set(self.rank_for) | set(self.side_effects)
        unknown -= set(DEGRADATION_TYPES)
        if unknown:
            raise ValueError(f"expert {self.name!r}: unknown degradation types {sorted(unknown)}")
        missing = set(self.from_analysis) - set(self.params)
        if missing:
            raise ValueError(f"expert {self.name!r}: from_analysis names no parameter {missing}")
        object.__setattr__(self, "param_ranges", _frozen(self.param_ranges))
        unranged = set(self.param_ranges) - set(self.params)
        if unranged:
            raise ValueError(f"expert {self.name!r}: param_ranges names no parameter {unranged}")

    @property
    def cost(self) -> float:
        """Seconds per input megapixel on the benchmark machine (measured, or the backend's
        guess when this expert has not been measured)."""
        if self.seconds_per_mp is not None:
            return self.seconds_per_mp
        return BACKEND_SECONDS_PER_MP.get(self.backend, 40.0)

    def processed_megapixels(self, megapixels: float) -> float:
        """The megapixels its calls process for a roughly square photo of ``megapixels``: a
        photo larger than one tile is cut into overlapping tiles, each run whole, so a 12 MP
        photo in 512 px tiles overlapping by 32 costs about 1.4 times its own area (its cost
        was measured on a single tile)."""
        spec = self.tile_spec
        side = math.sqrt(max(megapixels, 0.0) * 1e6)
        if spec is None or side <= spec.tile:
            return megapixels
        count = len(tile_starts(math.ceil(side), spec.tile, spec.overlap))
        return max(megapixels, count * count * spec.tile * spec.tile / 1e6)

    def predicted_seconds(self, megapixels: float) -> float:
        """Seconds one call is expected to take on a photo of ``megapixels``."""
        return self.cost * self.processed_megapixels(megapixels)

    def rank_against(self, targets: tuple[str, ...]) -> float:
        """Its rank for a step aimed at ``targets``: the best per-type override among the
        targets it handles, else ``rank``."""
        values = [self.rank_for[t] for t in targets if t in self.rank_for and t in self.handles]
        return min([self.rank, *values]) if values else self.rank

    def output_scale(self, params: Mapping[str, Any]) -> int:
        """The upscaling factor of a call: the ``scale`` parameter when the expert takes one
        (interpolators work at any factor), else the descriptor's fixed ``scale``."""
        if "scale" in self.params:
            value = int(params.get("scale") or self.scale)
            if value < 1:
                raise RestoraError(f"scale must be a positive integer, got {value}")
            return value
        return self.scale

    @property
    def tile_spec(self) -> TileSpec | None:
        if self.tile_size is None:
            return None
        return TileSpec(tile=self.tile_size, overlap=self.tile_overlap)

    def info(self) -> dict[str, Any]:
        """The JSON shape of ``restora experts --json``."""
        return {
            "name": self.name,
            "task": self.task,
            "backend": self.backend,
            "scale": self.scale,
            "params": {k: plain_param(v) for k, v in self.params.items()},
            "needs": list(self.needs),
            "devices": list(self.devices),
            "description": self.description,
            "tile_size": self.tile_size,
            "tile_overlap": self.tile_overlap,
            "size_multiple": self.size_multiple,
            "reference": self.reference,
            "licence": self.licence,
            "precision": self.precision,
            "handles": list(self.handles),
            "rank": self.rank,
            "rank_for": dict(self.rank_for),
            "seconds_per_mp": self.seconds_per_mp,
            "side_effects": sorted(self.side_effects),
            "from_analysis": dict(self.from_analysis),
            "also_serves": [
                {
                    "task": c.task,
                    "rank": c.rank,
                    "from_analysis": dict(c.from_analysis),
                    "params": {k: plain_param(v) for k, v in c.params.items()},
                }
                for c in self.also_serves
            ],
            "generative": self.generative,
            "suited_to": sorted(self.suited_to),
            "min_size": self.min_size,
            "param_ranges": {k: list(v) for k, v in self.param_ranges.items()},
        }

    def _annotation(self, key: str) -> str:
        """The run function's annotation of parameter ``key`` as text ('' when unknown)."""
        try:
            parameter = inspect.signature(self.run).parameters.get(key)
        except (TypeError, ValueError):
            return ""
        if parameter is None or parameter.annotation is inspect.Parameter.empty:
            return ""
        annotation = parameter.annotation
        return annotation if isinstance(annotation, str) else repr(annotation)

    def resolve_params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The defaults updated with ``given``; an unknown name, or a value of another kind than
        a number/flag default (``strength=abc``), is a user error."""
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            valid = ", ".join(self.params) or "none"
            raise RestoraError(
                f"expert {self.name!r} has no parameter {unknown[0]!r}; parameters: {valid}"
            )
        for key, value in given.items():
            _check_param_kind(self.name, key, self.params[key], value, self._annotation(key))
            if key in self.param_ranges and value is not None:
                low, high = self.param_ranges[key]
                if not low <= float(value) <= high:
                    raise RestoraError(
                        f"expert {self.name!r}: {key} takes {low:g} to {high:g}, got {value!r}"
                    )
        merged = dict(self.params)
        merged.update({k: v for k, v in given.items() if v is not None})
        return merged

    def __call__(
        self,
        image: np.ndarray,
        *,
        tile: TileSpec | bool | None = True,
        device: str | None = None,
        **params: Any,
    ) -> np.ndarray:
        """Restore ``image`` (float (H, W, 3) or grey (H, W) in [0, 1], or uint8/uint16).

        ``tile=True`` uses the expert's own tiling, ``False``/``None`` runs on the whole image,
        a :class:`TileSpec` overrides it. ``device`` (``auto``, ``cpu``, ``cuda``) reaches
        experts that run on one (the others ignore it).

        The output keeps what the input is: its dtype (uint8 and uint16 are scaled to [0, 1]
        for the expert and back, floats come back in their own type) and its channels (grey
        (H, W) is run as RGB and returned grey, (H, W, 1) stays (H, W, 1)). Experts compute in
        float32 (their ``precision``); one whose method works on 8-bit levels applies its
        change to the full-precision input, so 16-bit detail survives it.
        """
        source = np.asarray(image)
        array = _check_image(source, self.name)
        if min(array.shape[:2]) < self.min_size:
            raise InputError(
                f"expert {self.name!r} needs an image of at least {self.min_size}x"
                f"{self.min_size} pixels, got {array.shape[1]}x{array.shape[0]}"
            )
        grey = array.ndim == 2
        rgb = np.repeat(array[..., None], 3, axis=2) if grey else array
        if device is not None and "device" in self.params and params.get("device") is None:
            params = {**params, "device": device}
        merged = self.resolve_params(params)
        if self.prepare is not None:
            merged = self.prepare(rgb, **merged)
        spec = self.tile_spec if tile is True else (tile or None)
        height, width = rgb.shape[:2]
        scale = self.output_scale(merged)

        def run_padded(piece: np.ndarray) -> np.ndarray:
            padded, (h, w) = pad_to_multiple(piece, self.size_multiple)
            out = np.asarray(self.run(padded, **merged), dtype=np.float32)
            return out[: h * scale, : w * scale]

        if spec is not None and (height > spec.tile or width > spec.tile):
            result = process_tiled(rgb, run_padded, spec, scale=scale)
        else:
            result = run_padded(rgb)
        expected = (height * scale, width * scale)
        if result.shape[:2] != expected:
            raise RuntimeError(f"expert {self.name!r} returned {result.shape}, expected {expected}")
        result = np.clip(np.nan_to_num(result, nan=0.0), 0.0, 1.0).astype(np.float32, copy=False)
        if grey:
            result = result.mean(axis=2)
        return _like_input(result, source)


def _like_input(result: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``result`` (float32 in [0, 1]) in the dtype and channel layout of ``source``."""
    if source.ndim == 3 and source.shape[2] == 1:
        result = result[..., None]
    if source.dtype in (np.uint8, np.uint16):
        top = 255.0 if source.dtype == np.uint8 else 65535.0
        return np.asarray(np.rint(result * top), dtype=source.dtype)
    if np.issubdtype(source.dtype, np.floating) and source.dtype != np.float32:
        return result.astype(source.dtype)
    return result


def _check_param_kind(
    expert: str, key: str, default: Any, value: Any, annotation: str = ""
) -> None:
    """A parameter whose default (or, for a None default, whose annotation) is a number takes a
    finite number, one whose default is a flag takes true/false; others (text) accept what the
    expert itself checks."""
    if value is None:
        return
    numeric_annotation = (
        default is None
        and ("float" in annotation or "int" in annotation)
        and "str" not in annotation
    )
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise RestoraError(f"expert {expert!r}: {key} takes true or false, got {value!r}")
    elif numeric_annotation or isinstance(default, (int, float)):
        number = isinstance(value, (int, float, np.integer, np.floating))
        if not number or isinstance(value, bool) or not np.isfinite(float(value)):
            raise RestoraError(f"expert {expert!r}: {key} takes a number, got {value!r}")


def pad_to_multiple(image: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad the bottom and right edges to a multiple; returns the original (h, w)."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return image, (h, w)
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (image.ndim - 2)
    if ph < h and pw < w:
        return np.pad(image, pad, mode="reflect"), (h, w)
    return np.pad(image, pad, mode="symmetric"), (h, w)


def _check_image(image: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise InputError(f"expert {name!r} needs an (H, W, 3) or (H, W) image, got {array.shape}")
    if array.size == 0:
        raise InputError(f"expert {name!r} got an empty image")
    if array.dtype in (np.uint8, np.uint16):  # integer levels: scale to [0, 1], keep them all
        top = 255.0 if array.dtype == np.uint8 else 65535.0
        return np.divide(array, top, dtype=np.float32)
    if not (np.issubdtype(array.dtype, np.floating) or array.dtype == np.bool_):
        raise InputError(f"expert {name!r} got {array.dtype} pixels; use float, uint8 or uint16")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise InputError(f"expert {name!r} got an image with NaN or infinite values")
    return array


def plain_param(value: Any) -> Any:
    """A parameter value as plain JSON data (numpy scalars unwrapped, anything else repr'd)."""
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [plain_param(v) for v in value]
    return repr(value)


def accepted_params(function: Callable[..., Any]) -> dict[str, Any]:
    """Keyword parameters (with defaults) of a run function, for building descriptors."""
    out: dict[str, Any] = {}
    for name, p in list(inspect.signature(function).parameters.items())[1:]:
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            out[name] = None if p.default is inspect.Parameter.empty else p.default
    return out
