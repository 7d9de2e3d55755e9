"""The expert registry: one explicit table of name -> "module:factory", imported on first use.

Nothing here scans folders or star-imports (STYLE.md rule 1): a broken optional dependency of one
expert cannot stop the others from loading. ``register`` adds user, learned or ONNX experts to
the same table at run time; ``onnx:PATH`` names an ONNX model file directly.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from restora.errors import NotAvailableError, UnknownNameError
from restora.experts.base import Expert
from restora.experts.published import installed_experts as installed_published_experts
from restora.vocabulary import TASKS

log = logging.getLogger(__name__)

ExpertFactory = Callable[[], Expert]

# name -> "module:factory" (module relative to restora.experts). Order: by task, then the
# expert the agent should try first.
BUILTIN_EXPERTS: dict[str, str] = {
    "nlm": "classical.denoise:nlm",
    "cbm3d": "classical.denoise:cbm3d",
    "wiener": "classical.deblur:wiener",
    "richardson_lucy": "classical.deblur:richardson_lucy",
    "wiener_motion": "classical.deblur:wiener_motion",
    "bm3d_deblock": "classical.dejpeg:bm3d_deblock",
    "bicubic": "classical.upscale:bicubic",
    "lanczos": "classical.upscale:lanczos",
    "ibp": "classical.upscale:ibp",
    "dark_channel": "classical.dehaze:dark_channel_expert",
    "lime": "classical.brighten:lime",
    "clahe_gamma": "classical.brighten:clahe_gamma",
    "guided_derain": "classical.derain:guided_derain",
    "laplacian_dereflect": "classical.dereflect:laplacian_dereflect",
    # published networks (Real-ESRGAN, RealSR, waifu2x, SRMD, SPAN): only those whose model
    # wheel is installed, found without importing it (restora.experts.published.catalogue)
    **installed_published_experts(),
}

LEARNED_EXPERTS: dict[str, tuple[str, str]] = {
    **{f"nafnet_{t}": (f"learned_models:nafnet_{t}", f"nafnet_{t}") for t in (
        "denoise", "dejpeg", "deblur", "upscale", "derain", "dehaze", "brighten", "dereflect")},
    "nafnet_denoise_real": ("learned_models:nafnet_denoise_real", "nafnet_denoise_real"),
    **{f"allinone_{t}": (f"learned_models:allinone_{t}", "nafnet_allinone") for t in (
        "denoise", "dejpeg", "deblur", "upscale", "derain", "dehaze", "brighten", "dereflect")},
}  # fmt: skip
"""name -> (factory, weights file stem): listed only when the shipped weights are present
(``restora/weights/experts``; see :mod:`restora.experts.learned_models`)."""

COSTS_FILE = Path(__file__).with_name("costs.json")
"""Measured seconds per megapixel of the built-in experts, written by
``python -m restora.bench.costs`` (its machine and image are recorded in the file)."""

_EXTRA: dict[str, ExpertFactory] = {}
_CACHE: dict[str, Expert] = {}
_LOCK = threading.Lock()


def register(name: str, factory: ExpertFactory | Expert | str, *, replace: bool = False) -> None:
    """Add an expert under ``name``: a factory called on first use, a ready :class:`Expert`,
    or a ``"package.module:function"`` string. Learned torch experts and ONNX models use this.
    """
    if not replace and (name in BUILTIN_EXPERTS or name in _EXTRA):
        raise ValueError(f"an expert named {name!r} is already registered (pass replace=True)")
    if isinstance(factory, Expert):
        expert = factory
        factory = lambda: expert  # noqa: E731 - a constant factory
    elif isinstance(factory, str):
        target = factory
        factory = lambda: _import_factory(target, absolute=True)()  # noqa: E731
    with _LOCK:
        _EXTRA[name] = factory
        _CACHE.pop(name, None)


def unregister(name: str) -> None:
    """Remove an expert added with :func:`register` (built-ins stay)."""
    with _LOCK:
        _EXTRA.pop(name, None)
        _CACHE.pop(name, None)


def names() -> list[str]:
    """Every registered name: built-ins first, then user-registered ones."""
    return [
        *BUILTIN_EXPERTS,
        *_installed_learned(),
        *(n for n in _EXTRA if n not in BUILTIN_EXPERTS),
    ]


def _installed_learned() -> list[str]:
    from restora.paths import WEIGHTS_DIR

    folder = WEIGHTS_DIR / "experts"
    return [
        name
        for name, (_, stem) in LEARNED_EXPERTS.items()
        if (folder / f"{stem}.safetensors").is_file()
    ]


def _import_factory(target: str, absolute: bool = False) -> ExpertFactory:
    module_name, attr = target.split(":")
    module = importlib.import_module(module_name if absolute else f"restora.experts.{module_name}")
    factory: ExpertFactory = getattr(module, attr)
    return factory


def get_expert(name: str, **options: Any) -> Expert:
    """The expert called ``name`` (``onnx:PATH`` loads an ONNX model; ``options`` are passed to
    the ONNX loader: task, scale...). Unknown names raise :class:`UnknownNameError`."""
    if name.startswith("onnx:"):
        from restora.experts.onnx import onnx_expert

        return onnx_expert(name[len("onnx:") :], **options)
    with _LOCK:
        cached = _CACHE.get(name)
    if cached is not None:
        return cached
    if name in _EXTRA:
        factory = _EXTRA[name]
    elif name in BUILTIN_EXPERTS or name in LEARNED_EXPERTS:
        target = BUILTIN_EXPERTS[name] if name in BUILTIN_EXPERTS else LEARNED_EXPERTS[name][0]
        try:
            factory = _import_factory(target)
        except ImportError as exc:  # an optional library of this one expert is missing
            raise NotAvailableError(f"expert {name!r} cannot be loaded: {exc}") from exc
    else:
        from restora.experts.published.catalogue import missing_expert_message

        missing = missing_expert_message(name)  # a published expert whose wheel is absent
        if missing is not None:
            raise NotAvailableError(missing)
        raise UnknownNameError("expert", name, [*names(), "onnx:PATH"])
    expert = factory()
    if expert.name != name:
        raise RuntimeError(f"factory for {name!r} built an expert named {expert.name!r}")
    if expert.seconds_per_mp is None and name in measured_costs():
        expert = dataclasses.replace(expert, seconds_per_mp=measured_costs()[name])
    with _LOCK:
        _CACHE[name] = expert
    return expert


@functools.cache
def measured_costs() -> dict[str, float]:
    """``name -> seconds per megapixel`` from :data:`COSTS_FILE` (empty when it is missing)."""
    try:
        data = json.loads(COSTS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.get("seconds_per_mp", {}).items()}


def list_experts(task: str | None = None) -> list[Expert]:
    """Every expert that loads (optionally for one task), in registry order."""
    if task is not None and task not in TASKS:
        raise UnknownNameError("task", task, TASKS)
    experts: list[Expert] = []
    for name in names():
        try:
            expert = get_expert(name)
        except NotAvailableError as exc:
            log.warning("skipping expert %s: %s", name, exc)
            continue
        if task is None or expert.task == task:
            experts.append(expert)
    return experts


def experts_for_task(task: str, targets: tuple[str, ...] = ()) -> list[Expert]:
    """The experts that perform ``task``, best first: by their rank for ``targets`` (the
    degradation types the step aims at; default all the task undoes), experts that handle none
    of the targets last. ``restora restore --task``, batch, the demo and the agent all take
    this order."""
    return sorted(list_experts(task), key=lambda e: order_key(e, targets))


def order_key(expert: Expert, targets: tuple[str, ...] = ()) -> tuple[bool, float]:
    """The sort key of :func:`experts_for_task`."""
    aimed = targets or expert.handles
    return (not set(aimed) & set(expert.handles), expert.rank_against(tuple(aimed)))
