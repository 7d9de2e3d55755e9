"""Faster CPU inference for the learned experts: which runtime saves time and keeps the PSNR.

    python -m restora.bench.runtimes [--expert nafnet_denoise] [--images 8] [--repeats 3]
                                     [--paths torch_fp32,onnx_fp32,...] [--json F] [--write]
    restora bench --task runtimes [--quick]

Every path is the same expert call (its padding, its 512 px tiles and their blending) with
another engine inside:

- ``torch_fp32``: the expert as shipped (torch, float32, channels-last weights), the reference;
- ``torch_1thread``: the same with ``torch.set_num_threads(1)``;
- ``torch_bf16`` / ``torch_fp16``: under ``torch.autocast("cpu", dtype)`` (fp16 only with
  ``--paths``: on CPUs without native fp16 it is several times slower);
- ``torch_int8_dynamic``: ``torch.ao.quantization.quantize_dynamic``, which covers ``nn.Linear``
  and RNN layers only, so it is reported as not applicable to convolutional networks;
- ``onnx_fp32``: the expert exported by :func:`restora.experts.learned_models.export_onnx`, run
  by onnxruntime with ``ORT_ENABLE_ALL`` and as many intra-op threads as torch uses;
  ``onnx_1thread`` and ``onnx_no_spin`` (``session.intra_op.allow_spinning = 0``) vary the
  threads;
- ``onnx_int8_dynamic`` / ``onnx_int8_static``: that model through onnxruntime's
  ``quantize_dynamic`` (int8 weights, ConvInteger) and ``quantize_static`` (QDQ, per-channel
  int8 weights, uint8 activations calibrated on crops of images that are not evaluated).

The ONNX paths need the ``onnx`` extra (``pip install restora[onnx]``); without it their rows
say so. Measured: PSNR (the harness's convention) on the first images of the expert's test set,
the largest absolute difference from the ``torch_fp32`` output on any pixel, and the time of
one call on a ~1 MP photo (Urban100 ``img_021``, 796x1200, with the test set's noise for a
denoiser). The CPU may be shared, so times are only compared within a run: the paths run
interleaved (``A B C ... C B A ...``) and a path's speed-up is the median over repeats of the
reference's seconds over its own in the same repeat; the process's CPU seconds are kept too
(with one thread and no spinning they are the engine's own cost, whatever the load). The
function measures only; ``--write`` rewrites the ``runtimes`` section of BENCHMARKS.md through
:func:`restora.bench.run_named`.

What it found for ``nafnet_denoise`` on the 2-core EPYC shared with a training run (load ~7):
onnxruntime fp32 gives the same output (4e-7) 2.7x faster than torch on two threads, but one
thread is faster still for both (torch 4.9x, onnxruntime 4.2x) and torch's single-thread CPU
time is 15 % below onnxruntime's: the gain is torch's OpenMP threads spin-waiting for a
descheduled partner (``OMP_WAIT_POLICY=PASSIVE`` alone takes torch from 23 to 10 s), not faster
kernels, so no runtime option was added to the experts. bf16 autocast is slower (0.8x), fp16
much slower; int8 loses PSNR (dynamic -0.07 dB and no faster, static QDQ -0.29 dB).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from restora.bench import BenchmarkOutcome, command_line, default_command, run_named
from restora.errors import NotAvailableError, RestoraError, UnknownNameError
from restora.experts.base import Expert

Restore = Callable[[np.ndarray], np.ndarray]
"""A path: restore an (H, W, 3) float32 image in [0, 1] through the whole expert call."""

REFERENCE_PATH = "torch_fp32"
PSNR_TOLERANCE_DB = 0.05
"""A path "keeps the PSNR" when its mean PSNR is at most this much below the reference's."""
USEFUL_SPEEDUP = 1.2
"""A path worth wiring into the experts is at least this much faster than the reference."""

TEST_SETS: dict[str, str] = {
    "denoise": "cbsd68_sigma25",
    "dejpeg": "live1_q20",
    "deblur": "cbsd68_blur",
    "derain": "rain100l",
    "dehaze": "sots_outdoor",
    "brighten": "cbsd68_lowlight",
    "dereflect": "cbsd68_reflection",
}
"""Task -> the benchmark data set its PSNR is measured on (upscaling is not covered: its expert
wraps the network in back-projection)."""

TIMING_PHOTO = ("Urban100_subset", "HR", "img_021.png")
"""796x1200 (0.96 MP) under ``<data>/test``; a CBSD68 image tiled to ~1 MP when it is absent."""
DENOISE_SIGMA = 25.0
CALIBRATION_CROP = 256
CALIBRATION_IMAGES = 4


class PathSkipped(Exception):
    """A path that cannot run here or does not apply; the message is the row's note."""


@dataclass(frozen=True)
class Subject:
    """What the paths need of one expert: the expert itself (the torch reference), a way to
    write the same function as an ONNX model, and its network (to inspect its layers)."""

    name: str
    expert: Expert
    export_onnx: Callable[[Path], Path]
    network: Callable[[], Any]
    onnx_size_multiple: int = 16
    """H and W of the exported model's input must be multiples of this."""


@dataclass
class Workspace:
    """Shared by the paths of one run: a scratch folder, the thread count and the calibration
    crops; the float32 ONNX model is exported once, on first use."""

    folder: Path
    threads: int
    calibration: list[np.ndarray] = field(default_factory=list)
    _fp32: Path | None = None

    def fp32_model(self, subject: Subject) -> Path:
        if self._fp32 is None:
            self._fp32 = subject.export_onnx(self.folder / f"{subject.name}.onnx")
        return self._fp32


@dataclass(frozen=True)
class RuntimePath:
    """One engine: ``build(subject, workspace)`` returns its :data:`Restore` or raises
    :class:`PathSkipped`; ``needs`` are the modules it imports; ``default``: run unless
    ``--paths`` names others."""

    label: str
    build: Callable[[Subject, Workspace], Restore]
    needs: tuple[str, ...] = ()
    default: bool = True


# ------------------------------------------------------------------------------- torch paths


def _torch_call(
    subject: Subject, context: Callable[[], contextlib.AbstractContextManager[Any]]
) -> Restore:
    def restore(image: np.ndarray) -> np.ndarray:
        with context():
            return subject.expert(image, device="cpu")

    return restore


@contextlib.contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _torch_fp32(subject: Subject, workspace: Workspace) -> Restore:
    return _torch_call(subject, contextlib.nullcontext)


def _torch_1thread(subject: Subject, workspace: Workspace) -> Restore:
    return _torch_call(subject, lambda: _torch_threads(1))


def _autocast(dtype_name: str) -> Callable[[Subject, Workspace], Restore]:
    def build(subject: Subject, workspace: Workspace) -> Restore:
        import torch

        dtype = getattr(torch, dtype_name)
        return _torch_call(subject, lambda: torch.autocast("cpu", dtype=dtype))

    return build


def _torch_int8_dynamic(subject: Subject, workspace: Workspace) -> Restore:
    from torch import nn

    modules = list(subject.network().modules())
    convs = sum(isinstance(m, nn.Conv2d) for m in modules)
    linears = sum(isinstance(m, nn.Linear) for m in modules)
    what = f"its {linears} Linear layers are the conditioning MLP" if linears else "it has none"
    raise PathSkipped(
        f"not applicable: quantize_dynamic covers nn.Linear and RNN layers only; the network "
        f"computes with {convs} Conv2d layers ({what})"
    )


# -------------------------------------------------------------------------------- ONNX paths


def ort_session(model: Path, threads: int, spinning: bool = True) -> Any:
    """An onnxruntime CPU session with every graph optimisation and ``threads`` intra-op
    threads (``spinning=False``: idle threads sleep instead of spinning)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(model), sess_options=options, providers=["CPUExecutionProvider"]
    )


def onnx_restore(subject: Subject, session: Any) -> Restore:
    """The expert's call (padding, tiles, blending) with ``session`` in place of torch."""
    input_name = session.get_inputs()[0].name

    def run(image: np.ndarray, **_params: Any) -> np.ndarray:
        tensor = np.ascontiguousarray(image.transpose(2, 0, 1)[None], np.float32)
        out = np.asarray(session.run(None, {input_name: tensor})[0][0]).transpose(1, 2, 0)
        return np.clip(out, 0.0, 1.0)  # as torch_expert: every tile clamped before blending

    multiple = max(subject.expert.size_multiple, subject.onnx_size_multiple)
    expert = dataclasses.replace(subject.expert, run=run, backend="onnx", size_multiple=multiple)
    return lambda image: expert(image, device="cpu")


def _onnx(
    threads: int | None = None, spinning: bool = True
) -> Callable[[Subject, Workspace], Restore]:
    def build(subject: Subject, workspace: Workspace) -> Restore:
        model = workspace.fp32_model(subject)
        return onnx_restore(subject, ort_session(model, threads or workspace.threads, spinning))

    return build


def _preprocessed(subject: Subject, workspace: Workspace) -> Path:
    """The float32 model after onnxruntime's quantisation pre-processing (graph folding; the
    symbolic shape pass fails on the dynamic H, W and is skipped)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    target = workspace.folder / f"{subject.name}.pre.onnx"
    if not target.is_file():
        source = workspace.fp32_model(subject)
        # onnxruntime's quantisation tools write scratch models into the working directory
        with contextlib.chdir(workspace.folder):
            quant_pre_process(str(source), str(target), skip_symbolic_shape=True)
    return target


def _onnx_int8_dynamic(subject: Subject, workspace: Workspace) -> Restore:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = workspace.folder / f"{subject.name}.int8_dynamic.onnx"
    source = _preprocessed(subject, workspace)
    with contextlib.chdir(workspace.folder):
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    return onnx_restore(subject, ort_session(target, workspace.threads))


def _onnx_int8_static(subject: Subject, workspace: Workspace) -> Restore:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from restora.experts.base import pad_to_multiple

    if not workspace.calibration:
        raise PathSkipped("no calibration images")
    multiple = subject.onnx_size_multiple
    feeds = [
        np.ascontiguousarray(
            pad_to_multiple(crop, multiple)[0].transpose(2, 0, 1)[None], np.float32
        )
        for crop in workspace.calibration
    ]

    class Crops(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.left = list(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return {"input": self.left.pop()} if self.left else None

    target = workspace.folder / f"{subject.name}.int8_static.onnx"
    source = _preprocessed(subject, workspace)
    with contextlib.chdir(workspace.folder):
        quantize_static(
            str(source),
            str(target),
            Crops(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    return onnx_restore(subject, ort_session(target, workspace.threads))


ONNX_NEEDS = ("onnx", "onnxruntime")

PATHS: dict[str, RuntimePath] = {
    "torch_fp32": RuntimePath("torch fp32, channels-last (the expert as shipped)", _torch_fp32),
    "torch_1thread": RuntimePath("torch fp32, 1 thread", _torch_1thread),
    "torch_bf16": RuntimePath("torch bf16 autocast", _autocast("bfloat16")),
    "torch_fp16": RuntimePath("torch fp16 autocast", _autocast("float16"), default=False),
    "torch_int8_dynamic": RuntimePath("torch int8 quantize_dynamic", _torch_int8_dynamic),
    "onnx_fp32": RuntimePath("onnxruntime fp32, ORT_ENABLE_ALL", _onnx(), ONNX_NEEDS),
    "onnx_1thread": RuntimePath("onnxruntime fp32, 1 thread", _onnx(threads=1), ONNX_NEEDS),
    "onnx_no_spin": RuntimePath(
        "onnxruntime fp32, no thread spinning", _onnx(spinning=False), ONNX_NEEDS
    ),
    "onnx_int8_dynamic": RuntimePath(
        "onnxruntime int8 quantize_dynamic", _onnx_int8_dynamic, ONNX_NEEDS
    ),
    "onnx_int8_static": RuntimePath(
        "onnxruntime int8 quantize_static (QDQ)", _onnx_int8_static, ONNX_NEEDS
    ),
}
"""Path name -> how it is built (``--paths`` takes these names)."""


def default_paths() -> list[str]:
    return [name for name, path in PATHS.items() if path.default]


def build_path(name: str, subject: Subject, workspace: Workspace) -> Restore:
    """Path ``name`` for ``subject``; :class:`PathSkipped` when a module it needs is missing."""
    if name not in PATHS:
        raise UnknownNameError("runtime path", name, list(PATHS))
    path = PATHS[name]
    missing = [m for m in path.needs if importlib.util.find_spec(m) is None]
    if missing:
        raise PathSkipped(
            f"not run: {' and '.join(missing)} not installed (pip install 'restora[onnx]')"
        )
    return path.build(subject, workspace)


# ---------------------------------------------------------------------------- the measuring


def subject_for(name: str) -> Subject:
    """The shipped learned expert ``name`` (not the upscalers: back-projection wraps them)."""
    from restora.experts import get_expert
    from restora.experts.learned_models import export_onnx, load_network
    from restora.experts.registry import LEARNED_EXPERTS

    if name not in LEARNED_EXPERTS:
        raise UnknownNameError("learned expert", name, list(LEARNED_EXPERTS))
    expert = get_expert(name)
    if expert.task not in TEST_SETS:
        raise RestoraError(f"{name}: the {expert.task} experts are not covered (see the module)")
    stem = LEARNED_EXPERTS[name][1]
    return Subject(
        name,
        expert,
        export_onnx=lambda path: export_onnx(name, path),
        network=lambda: load_network(stem)[0],
    )


def timing_photo(
    data_dir: Path | None, task: str, megapixels: float = 1.0
) -> tuple[np.ndarray, np.ndarray | None]:
    """(input, clean target or None) of ~``megapixels``: :data:`TIMING_PHOTO` (resized when the
    size asked for is not ~1 MP), with seeded sigma-25 noise for a denoiser."""
    import cv2

    from restora.bench.datasets import add_benchmark_noise, read_uint8, to_unit
    from restora.paths import data_dir as find

    test = find(data_dir) / "test"
    photo = test.joinpath(*TIMING_PHOTO)
    if photo.is_file():
        clean = to_unit(read_uint8(photo, "RGB"))
    else:
        first = sorted((test / "CBSD68").glob("*.png"))
        if not first:
            raise NotAvailableError(f"neither {photo} nor CBSD68 found (set RESTORA_DATA)")
        clean = np.tile(to_unit(read_uint8(first[0], "RGB")), (3, 3, 1))[:816, :1224]
    height, width = clean.shape[:2]
    factor = (megapixels * 1e6 / (height * width)) ** 0.5
    if abs(factor - 1.0) > 0.1:
        size = (max(round(width * factor), 16), max(round(height * factor), 16))
        clean = np.clip(cv2.resize(clean, size, interpolation=cv2.INTER_AREA), 0.0, 1.0)
    if task == "denoise":
        return add_benchmark_noise(clean, DENOISE_SIGMA), clean
    return clean, None


def _rgb(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image, np.float32)
    return np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array


def _timed(restore: Restore, image: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(output, wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    output = restore(image)
    return output, time.perf_counter() - wall, time.process_time() - cpu


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _median_ratio(reference: Sequence[float], path: Sequence[float]) -> float:
    """Median over paired calls of the reference's seconds over the path's."""
    return _median([r / p for r, p in zip(reference, path, strict=True) if p > 0])


def _widen(diffs: dict[str, float], outputs: dict[str, np.ndarray]) -> None:
    """Raise each path's max |diff| to its largest difference from the reference here."""
    reference = outputs[REFERENCE_PATH]
    for name, output in outputs.items():
        diffs[name] = max(diffs[name], float(np.max(np.abs(output - reference))))


def measure(
    subject: Subject,
    pairs: Sequence[Any],
    timing: tuple[np.ndarray, np.ndarray | None],
    paths: Sequence[str],
    repeats: int,
    workspace: Workspace,
    psnr_rule: dict[str, Any] | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Every path on ``pairs`` (objects with ``input``, ``target``: PSNR, max |diff| from the
    reference, seconds per image) and ``repeats`` interleaved calls on ``timing`` (input,
    target or None). The reference path is always run, first."""
    from restora.quality import psnr

    names = [REFERENCE_PATH, *(p for p in dict.fromkeys(paths) if p != REFERENCE_PATH)]
    restorers: dict[str, Restore] = {}
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        row: dict[str, Any] = {"path": name, "label": PATHS[name].label, "note": ""}
        start = time.perf_counter()
        try:
            restorers[name] = build_path(name, subject, workspace)
        except PathSkipped as skipped:
            row["note"] = str(skipped)
        row["setup_seconds"] = time.perf_counter() - start
        rows[name] = row
        built = f"built in {row['setup_seconds']:.1f} s"
        log(f"{name}: {row['note'] or built}")
    if REFERENCE_PATH not in restorers:
        raise RestoraError(f"the reference path {REFERENCE_PATH} did not build")
    live = list(restorers)
    source, clean = timing
    warm = _rgb(pairs[0].input) if pairs else source[:256, :256]
    for name in live:  # first calls load weights, plan memory and pick kernels: not timed
        restorers[name](warm)
    rule = psnr_rule or {}
    psnrs: dict[str, list[float]] = {n: [] for n in live}
    image_seconds: dict[str, list[float]] = {n: [] for n in live}
    diffs: dict[str, float] = dict.fromkeys(live, 0.0)
    for index, pair in enumerate(pairs):
        image, target = _rgb(pair.input), np.asarray(pair.target, np.float32)
        outputs: dict[str, np.ndarray] = {}
        for name in live if index % 2 == 0 else live[::-1]:
            outputs[name], wall, _ = _timed(restorers[name], image)
            image_seconds[name].append(wall)
            scored = outputs[name].mean(axis=2) if target.ndim == 2 else outputs[name]
            psnrs[name].append(psnr(scored, target, **rule))
        _widen(diffs, outputs)
        log(f"image {index + 1}/{len(pairs)}: "
            + ", ".join(f"{n} {psnrs[n][-1]:.2f} dB" for n in live))  # fmt: skip
    seconds: dict[str, list[float]] = {n: [] for n in live}
    cpu_seconds: dict[str, list[float]] = {n: [] for n in live}
    timing_psnr: dict[str, float] = {}
    for repeat in range(repeats):
        outputs = {}
        for name in live if repeat % 2 == 0 else live[::-1]:
            outputs[name], wall, cpu = _timed(restorers[name], source)
            seconds[name].append(wall)
            cpu_seconds[name].append(cpu)
        if repeat == 0:
            _widen(diffs, outputs)
            if clean is not None:
                timing_psnr = {n: psnr(outputs[n], clean, **rule) for n in live}
        log(f"repeat {repeat + 1}/{repeats}: "
            + ", ".join(f"{n} {seconds[n][-1]:.2f} s" for n in live))  # fmt: skip
    base_psnr = float(np.mean(psnrs[REFERENCE_PATH])) if pairs else float("nan")
    for name in live:
        mean = float(np.mean(psnrs[name])) if pairs else float("nan")
        rows[name].update(
            psnr=mean,
            delta_psnr=mean - base_psnr,
            max_abs_diff=diffs[name],
            seconds=_median(seconds[name]),
            all_seconds=seconds[name],
            cpu_seconds=_median(cpu_seconds[name]),
            speedup=_median_ratio(seconds[REFERENCE_PATH], seconds[name]),
            image_speedup=_median_ratio(image_seconds[REFERENCE_PATH], image_seconds[name]),
            timing_psnr=timing_psnr.get(name),
        )
    return {
        "expert": subject.name,
        "images": len(pairs),
        "repeats": repeats,
        "timing_shape": list(source.shape[:2]),
        "threads": workspace.threads,
        "rows": [rows[n] for n in names],
    }


def run(
    expert: str,
    images: int,
    repeats: int,
    paths: Sequence[str],
    data_dir: Path | None,
    megapixels: float = 1.0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """:func:`measure` for a shipped expert on its test set (:data:`TEST_SETS`) and the timing
    photo; int8 calibration uses crops of the set's last images (never evaluated ones)."""
    import torch

    from restora.bench.datasets import get_dataset
    from restora.bench.harness import convention

    subject = subject_for(expert)
    task = subject.expert.task
    dataset = get_dataset(TEST_SETS[task], data_dir)
    count = min(images, max(len(dataset) - CALIBRATION_IMAGES, 1))
    pairs = [dataset[i] for i in range(count)]
    calibration = []
    for index in range(max(count, len(dataset) - CALIBRATION_IMAGES), len(dataset)):
        image = _rgb(np.clip(dataset[index].input, 0.0, 1.0))
        top = max((image.shape[0] - CALIBRATION_CROP) // 2, 0)
        left = max((image.shape[1] - CALIBRATION_CROP) // 2, 0)
        calibration.append(image[top : top + CALIBRATION_CROP, left : left + CALIBRATION_CROP])
    timing = timing_photo(data_dir, task, megapixels)
    with tempfile.TemporaryDirectory(prefix="restora-runtimes-") as folder:
        workspace = Workspace(Path(folder), torch.get_num_threads(), calibration)
        results = measure(subject, pairs, timing, paths, repeats, workspace,
                          convention(task, {}), log)  # fmt: skip
    results["dataset"] = TEST_SETS[task]
    return results


def machine_line() -> str:
    """The machine as the section names it: :func:`~restora.bench.report.machine_description`
    with ``platform`` and ``os.cpu_count()``."""
    from restora.bench.report import machine_description

    return f"{machine_description()}; {platform.platform()}, os.cpu_count() = {os.cpu_count()}"


def _number(value: float | None, digits: int, suffix: str = "") -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.{digits}f}{suffix}"


def keeps_psnr_and_saves_time(row: dict[str, Any]) -> bool:
    """At least :data:`USEFUL_SPEEDUP` faster, at most :data:`PSNR_TOLERANCE_DB` lower PSNR."""
    if row.get("note") or row["path"] == REFERENCE_PATH:
        return False
    return bool(row["speedup"] >= USEFUL_SPEEDUP and row["delta_psnr"] >= -PSNR_TOLERANCE_DB)


def to_markdown(results: dict[str, Any]) -> str:
    """The ``runtimes`` section: one row per path (skipped paths with their note)."""
    height, width = results["timing_shape"]
    size = f"{height * width / 1e6:.2g} MP"
    timed_psnr = any(r.get("timing_psnr") is not None for r in results["rows"])
    load = results.get("load", [])
    load_text = (
        f"; load average {load[0]:.1f} at the start and {load[1]:.1f} at the end"
        if len(load) == 2
        else ""
    )
    lines = [
        "## Runtimes for the learned experts (CPU)",
        "",
        f"Written by `{results.get('command', '')}` on {results.get('machine', '')}, "
        f"{results['threads']} torch threads{load_text}; the run took "
        f"{results.get('seconds', 0.0):.0f} s. Expert `{results['expert']}`, every path through "
        f"the expert's own padding and 512 px tiles. PSNR: mean over the first "
        f"{results['images']} images of `{results.get('dataset', '')}`"
        + (f", and on the {size} timing photo" if timed_psnr else "")
        + "; max |diff|: the largest absolute difference from the torch fp32 output on any pixel "
        f"of those images and of the {width}x{height} ({size}) timing photo. Speed-up: torch "
        f"fp32 seconds over the path's in the same interleaved round, the median of "
        f"{results['repeats']} rounds on the timing photo, or of the test images; higher is "
        "faster. CPU s: the process's CPU time for one call on the timing photo (spinning "
        "threads count). On a shared CPU the wall times mostly measure how each engine copes "
        "with the other processes; the CPU s of a 1-thread row is that engine's own cost.",
        "",
        "| path | PSNR (dB) | Δ PSNR | max \\|diff\\| | "
        + (f"PSNR {size} | " if timed_psnr else "")
        + f"{size} s | CPU s | speed-up {size} | speed-up test images | setup s | note |",
        "|---|---:|---:|---:|" + ("---:|" if timed_psnr else "") + "---:|---:|---:|---:|---:|---|",
    ]
    for row in results["rows"]:
        if row.get("note"):
            cells = ["-"] * (9 if timed_psnr else 8)
        else:
            cells = [
                _number(row["psnr"], 3),
                _number(row["delta_psnr"], 3),
                f"{row['max_abs_diff']:.1e}",
                *([_number(row.get("timing_psnr"), 3)] if timed_psnr else []),
                _number(row["seconds"], 2),
                _number(row.get("cpu_seconds"), 2),
                _number(row["speedup"], 2, "x"),
                _number(row["image_speedup"], 2, "x"),
                _number(row["setup_seconds"], 1),
            ]
        note = (row.get("note") or "").replace("|", "\\|")
        lines.append(f"| `{row['path']}` {row['label']} | " + " | ".join(cells) + f" | {note} |")
    good = [f"`{r['path']}`" for r in results["rows"] if keeps_psnr_and_saves_time(r)]
    lines += [
        "",
        f"At least {USEFUL_SPEEDUP:g}x faster on the timing photo with at most "
        f"{PSNR_TOLERANCE_DB:g} dB lost: {', '.join(good) if good else 'none'}.",
    ]
    return "\n".join(lines) + "\n"


def benchmark(
    data_dir: Path | None,
    quick: bool,
    expert: str = "nafnet_denoise",
    images: int | None = None,
    repeats: int | None = None,
    paths: Sequence[str] | None = None,
    megapixels: float | None = None,
    command: str | None = None,
) -> BenchmarkOutcome:
    """The registered ``runtimes`` benchmark (``restora bench --task runtimes [--quick]``;
    quick: 2 images, 2 repeats on a 0.25 MP photo)."""
    start = time.perf_counter()
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    results = run(
        expert,
        images if images is not None else (2 if quick else 8),
        repeats if repeats is not None else (2 if quick else 3),
        list(paths) if paths else default_paths(),
        data_dir,
        megapixels if megapixels is not None else (0.25 if quick else 1.0),
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if load_start is not None:
        results["load"] = [load_start, os.getloadavg()[0]]
    results["command"] = command or default_command("runtimes", quick)
    results["machine"] = machine_line()
    results["seconds"] = time.perf_counter() - start
    return BenchmarkOutcome("runtimes", to_markdown(results), results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--expert", default="nafnet_denoise")
    parser.add_argument("--images", type=int, default=None, help="test images for PSNR (8)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved 1 MP calls (3)")
    parser.add_argument("--megapixels", type=float, default=None, help="timing photo size (1)")
    parser.add_argument(
        "--paths",
        default=None,
        help=f"comma-separated, of {', '.join(PATHS)} (default: all but torch_fp16)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    outcome = run_named(
        "runtimes",
        args.data,
        args.quick,
        write=args.write,
        expert=args.expert,
        images=args.images,
        repeats=args.repeats,
        paths=args.paths.split(",") if args.paths else None,
        megapixels=args.megapixels,
        command=command_line("restora.bench.runtimes", argv),
    )
    if args.json is not None:
        from restora.io import write_bytes_atomic

        text = json.dumps(outcome.results, indent=2, default=float) + "\n"
        write_bytes_atomic(args.json, text.encode("utf-8"), overwrite=True)
    print(outcome.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
