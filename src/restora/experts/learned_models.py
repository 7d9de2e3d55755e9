"""The shipped learned experts: NAFNet per task, and the language-conditioned all-in-one.

Weights live in ``restora/weights/experts/<name>.safetensors`` with ``<name>.json`` (architecture,
training config, validation history) and a model card; they are trained by
``python -m restora.training.restorer`` (see :mod:`restora.training.restorer`). Each factory
below is listed in the registry's table and returns an :class:`~restora.experts.base.Expert`
whose module is built and loaded on first call, per device.

- ``nafnet_<task>``: one network per task (upscale: bicubic pre-upsampling, ``scale`` 2 or 4).
- ``allinone_<task>``: the single conditioned network, gated by the MiniLM embedding of the
  task (the mean embedding of its training phrasings, saved in the weights) or, when the call
  passes ``instruction="..."``, of that sentence (InstructIR's interface).
"""

from __future__ import annotations

import dataclasses
import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from restora.errors import NotAvailableError
from restora.experts.base import Expert
from restora.paths import WEIGHTS_DIR

EXPERT_WEIGHTS = WEIGHTS_DIR / "experts"
TILE = 512
"""Tile side at the network's input: ~0.2 GB peak for the small NAFNet (bounded by this)."""
BACK_PROJECTION = 10
"""Iterative back-projection steps after the learned upscaler (Irani & Peleg 1991): the output is
made consistent with the low-resolution input under the bicubic model. Measured on Set5 with
the shipped weights: x2 34.93 -> 35.77 dB, x4 29.19 -> 29.61 dB (classical IBP: 34.95 / 29.28)."""
REFERENCE = "Chen et al., Simple Baselines for Image Restoration (NAFNet), ECCV 2022"
ALLINONE_REFERENCE = "Conde et al., InstructIR, ECCV 2024 (instruction-gated NAFNet)"


def weights_path(name: str) -> Path:
    path = EXPERT_WEIGHTS / f"{name}.safetensors"
    if not path.is_file():
        raise NotAvailableError(
            f"weights for {name} are not installed ({path}); "
            f"train them with python -m restora.training.restorer"
        )
    return path


def model_record(name: str) -> dict[str, Any]:
    """The JSON saved beside the weights (architecture, training, validation)."""
    path = EXPERT_WEIGHTS / f"{name}.json"
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def load_network(name: str) -> tuple[Any, dict[str, Any]]:
    """(NAFNet with its weights, task embeddings by task) from the shipped files."""
    from safetensors.torch import load_file

    from restora.experts.archs.nafnet import build

    path = weights_path(name)
    record = model_record(name)
    tensors = dict(load_file(str(path)))
    embeddings = {
        key.split(".", 1)[1]: tensors.pop(key)
        for key in list(tensors)
        if key.startswith("task_embedding.")
    }
    network = build(record["arch"])
    network.load_state_dict(tensors, strict=True)
    return network, embeddings


class _Runner:
    """What ``torch_expert`` caches per device: the network and, conditioned, its embeddings."""

    def __init__(self, name: str) -> None:
        self.network, self.embeddings = load_network(name)

    def eval(self) -> _Runner:
        self.network.eval()
        return self

    def to(self, device: Any) -> _Runner:
        self.network.to(device)
        self.embeddings = {k: v.to(device) for k, v in self.embeddings.items()}
        return self


def _forward(runner: _Runner, x: Any, *, task: str, scale: int = 1, instruction: str = "") -> Any:
    import torch

    from restora.experts.archs.nafnet import pad_to_multiple, upsample

    if task == "upscale":
        x = upsample(x, int(scale))
    cond = None
    if runner.network.conditioned:
        if instruction:
            from restora.language.encoder import get_text_encoder

            vector = get_text_encoder().encode([instruction])[0]
            cond = torch.as_tensor(vector, dtype=torch.float32, device=x.device)[None]
        else:
            cond = runner.embeddings[task][None]
    padded, (height, width) = pad_to_multiple(x, runner.network.config.size_multiple)
    return runner.network(padded, cond)[..., :height, :width]


SIDE_EFFECTS: dict[str, frozenset[str]] = {
    "denoise": frozenset({"blur", "reflection"}),
    "dejpeg": frozenset({"blur", "reflection"}),
    "derain": frozenset({"blur", "reflection"}),
    "deblur": frozenset({"noise", "jpeg"}),
}
"""What the analyzer reads into these networks' outputs without it being new damage: smoothing
reads as blur, and its flat low-contrast areas as a reflection veil (on CBSD68 sigma 25 a
dereflect step added after denoising lost 4.6 and 3.4 dB on 2 of 10 images); deblurring
sharpens residual noise and block edges."""

TASK_NETWORK_RANK = 10
"""The per-task networks are tried before the classical experts (ranks 20-40)."""

REAL_NOISE_RANK = 9
"""The real-noise denoiser first among the denoisers: it removes the grain of real cameras
(held-out PolyU scenes: +2.6 dB where ``nafnet_denoise`` gains 0.1) and stays within a few
tenths of a dB of ``nafnet_denoise`` on Gaussian noise (BENCHMARKS.md, real noise)."""

TASK_RANKS = {"denoise": 16.0}
"""``nafnet_denoise`` after FFDNet (15): the agent's two denoising candidates are the real-noise
network and FFDNet with its noise map, two different methods, rather than two versions of one
network."""

SUITED_TO = {"denoise": frozenset({"white noise"})}
"""``nafnet_denoise`` denoises when the noise is white (Gaussian sigma 25 on CBSD68: 30.98 dB,
``nafnet_denoise_real`` 30.67): trained on Gaussian noise alone, it is the better of the two
there, and it leaves camera noise (``restora.vocabulary.CONDITIONS``)."""

ALLINONE_RANK = 60
"""The all-in-one network after the classical favourites: with two candidates per step the agent
weighs the task's own network against the best classical method, not against another network."""


def _expert(
    name: str,
    task: str,
    weights_name: str,
    description: str,
    reference: str,
    rank: float,
    suited_to: frozenset[str] = frozenset(),
) -> Expert:
    from restora.experts.learned import torch_expert

    weights_path(weights_name)  # a clear error now rather than at the first call
    upscale = task == "upscale"
    params: dict[str, Any] = {"scale": 4, "back_projection": BACK_PROJECTION} if upscale else {}
    if weights_name == "nafnet_allinone":
        params["instruction"] = ""
    expert = torch_expert(
        name,
        task,
        build=partial(_Runner, weights_name),
        forward=partial(_forward, task=task),
        scale=4 if upscale else 1,
        size_multiple=1,
        tile_size=TILE // 4 if upscale else TILE,
        tile_overlap=16 if upscale else 32,
        params=params,
        description=description,
        reference=reference,
        cache_key=weights_name,
        rank=rank,
        side_effects=SIDE_EFFECTS.get(task, frozenset()),
        licence="MIT (trained by restora)",
        suited_to=suited_to,
    )
    if not upscale:
        return expert
    network_run = expert.run

    def run(image: np.ndarray, back_projection: int = BACK_PROJECTION, **params: Any) -> np.ndarray:
        from restora.experts.classical.upscale import back_project

        estimate = network_run(image, **params)
        return back_project(estimate, image, int(back_projection)) if back_projection else estimate

    return dataclasses.replace(expert, run=run)


def _task_expert(task: str) -> Expert:
    what = {
        "denoise": "blind Gaussian denoising, sigma 0-55, colour and grey",
        "dejpeg": "JPEG artefact removal, quality 10-60, colour and grey",
        "deblur": "Gaussian, defocus and camera-shake deblurring",
        "upscale": "x2/x4 super-resolution (bicubic pre-upsampling, back-projection after)",
        "derain": "rain streak removal",
        "dehaze": "haze removal",
        "brighten": "low-light enhancement with noise",
        "dereflect": "glass reflection removal",
    }[task]
    return _expert(
        f"nafnet_{task}",
        task,
        f"nafnet_{task}",
        f"NAFNet (learned): {what}.",
        REFERENCE,
        TASK_RANKS.get(task, TASK_NETWORK_RANK),
        SUITED_TO.get(task, frozenset()),
    )


def _allinone(task: str) -> Expert:
    return _expert(
        f"allinone_{task}",
        task,
        "nafnet_allinone",
        f"All-in-one NAFNet gated by the MiniLM embedding of the instruction ({task}).",
        ALLINONE_REFERENCE,
        ALLINONE_RANK,
    )


nafnet_denoise = partial(_task_expert, "denoise")


def nafnet_denoise_real() -> Expert:
    """The real-noise denoiser: ``nafnet_denoise`` fine-tuned on camera noise and PolyU pairs
    (``python -m restora.training.restorer --task denoise_real``), blind."""
    return _expert(
        "nafnet_denoise_real",
        "denoise",
        "nafnet_denoise_real",
        "NAFNet (learned): blind denoising of the noise cameras make (signal-dependent, "
        "demosaiced, processed in camera, JPEG-saved) and of Gaussian noise; fine-tuned from "
        "nafnet_denoise on simulated camera captures and PolyU real photo pairs.",
        REFERENCE,
        REAL_NOISE_RANK,
    )


nafnet_dejpeg = partial(_task_expert, "dejpeg")
nafnet_deblur = partial(_task_expert, "deblur")
nafnet_upscale = partial(_task_expert, "upscale")
nafnet_derain = partial(_task_expert, "derain")
nafnet_dehaze = partial(_task_expert, "dehaze")
nafnet_brighten = partial(_task_expert, "brighten")
nafnet_dereflect = partial(_task_expert, "dereflect")
allinone_denoise = partial(_allinone, "denoise")
allinone_dejpeg = partial(_allinone, "dejpeg")
allinone_deblur = partial(_allinone, "deblur")
allinone_upscale = partial(_allinone, "upscale")
allinone_derain = partial(_allinone, "derain")
allinone_dehaze = partial(_allinone, "dehaze")
allinone_brighten = partial(_allinone, "brighten")
allinone_dereflect = partial(_allinone, "dereflect")


def _exportable(name: str, task: str, scale: int = 4) -> Any:
    """A learned expert as one plain module: the same :func:`_forward` as the expert, with the
    task embedding and pre-upsampling folded in."""
    from torch import nn

    runner = _Runner("nafnet_allinone" if name.startswith("allinone_") else name)

    class Wrapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = runner.network  # registered, so export sees its parameters

        def forward(self, x: Any) -> Any:
            return _forward(runner, x, task=task, scale=scale).clamp(0, 1)

    return Wrapped().eval()


def export_onnx(name: str, path: str | Path, *, scale: int = 4, opset: int = 17) -> Path:
    """Write the learned expert ``name`` as an ONNX model (dynamic H, W; input H, W must be
    multiples of 16) with a JSON card beside it, runnable as ``--expert onnx:PATH``."""
    import torch

    from restora.experts.registry import LEARNED_EXPERTS

    if name not in LEARNED_EXPERTS:
        from restora.errors import UnknownNameError

        raise UnknownNameError("learned expert", name, list(LEARNED_EXPERTS))
    task = name.split("_", 1)[1]
    module = _exportable(name, task, scale)
    target = Path(path)
    torch.onnx.export(
        module,
        (torch.rand(1, 3, 64, 64),),
        str(target),
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {2: "h", 3: "w"}, "output": {2: "h2", 3: "w2"}},
        opset_version=opset,
        dynamo=False,  # the dynamo exporter needs onnxscript, which is not a dependency
    )
    card = {"task": task, "scale": scale if task == "upscale" else 1, "size_multiple": 16,
            "description": f"{name} exported from restora"}  # fmt: skip
    target.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return target
