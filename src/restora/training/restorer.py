"""Train the learned restoration experts: one NAFNet per task, and the conditioned all-in-one.

One command per model, seeded, resumable, CPU or CUDA unchanged::

    python -m restora.training.restorer --task denoise --size base --steps 6000 --out runs/denoise
    python -m restora.training.restorer --task all --size base --steps 6000 --out runs/allinone
    python -m restora.training.restorer --task derain --init runs/allinone/last.pt --steps 800 ...
    python -m restora.training.restorer --smoke --out /tmp/smoke   # seconds, used by the tests

Pairs are made on the fly from random crops of ``train/`` (CBSD432 + Train400, the last
:data:`VALIDATION_HOLDOUT` CBSD432 files held out for validation) by each task's sampler in
:data:`TASK_SAMPLERS`, with the physical ranges the issue asks for (noise sigma 0-55 colour and
grey, JPEG quality 10-60 colour and grey, Gaussian/defocus/motion blur, x2/x4 bicubic and
blurred-kernel downscaling, rendered rain, haze, low light with noise, glass reflections).
Upscaling is pre-upsampled (bicubic, as VDSR) so every expert shares one architecture.

The all-in-one model (``--task all``) is conditioned on the MiniLM embedding of an instruction:
each sample gets a random phrasing of its task from :data:`TASK_PHRASES` (InstructIR's recipe);
the mean embedding per task is saved with the weights, so inference by task name needs no text
encoder, and any free-text instruction can be embedded at run time.

Outputs in ``--out``: ``last.pt`` (resumable checkpoint: model, optimiser, step, RNG), ``log.jsonl``
(loss per ``--log-every`` steps, validation PSNR per ``--val-every``), and on completion
``<name>.safetensors`` + ``<name>.json`` (architecture, training config, validation history).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from restora.experts.archs.nafnet import (
    SIZES,
    NAFNet,
    NAFNetConfig,
    count_parameters,
    upsample,
)
from restora.training import SentenceEncoder

log = logging.getLogger("restora.training.restorer")

TASKS = ("denoise", "dejpeg", "deblur", "upscale", "derain", "dehaze", "brighten", "dereflect")
EXTRA_TASKS = ("denoise_real",)
"""Single-task models outside the all-in-one's pool (the real-noise denoiser)."""
VALIDATION_HOLDOUT = 16
TEXT_DIM = 384

TASK_PHRASES: dict[str, tuple[str, ...]] = {
    "denoise": (
        "remove the noise",
        "denoise this photo",
        "the image is grainy, clean it up",
        "get rid of the grain and speckles",
        "reduce the sensor noise",
        "my picture is noisy",
    ),
    "dejpeg": (
        "remove the jpeg artifacts",
        "fix the compression blocks",
        "the photo is heavily compressed",
        "get rid of blocky artefacts",
        "clean up the jpeg compression",
        "remove ringing and blocking from compression",
    ),
    "deblur": (
        "deblur the image",
        "make it sharp, it is blurry",
        "the photo is out of focus",
        "remove the camera shake",
        "fix the motion blur",
        "sharpen this blurry picture",
    ),
    "upscale": (
        "upscale the image",
        "increase the resolution",
        "make it bigger with more detail",
        "super-resolve this small picture",
        "enlarge the photo",
        "the image is low resolution",
    ),
    "derain": (
        "remove the rain",
        "get rid of the rain streaks",
        "it was raining, clean the photo",
        "derain this image",
        "erase the raindrops and streaks",
        "remove rain from the picture",
    ),
    "dehaze": (
        "remove the haze",
        "dehaze this photo",
        "the picture is foggy",
        "clear the fog and mist",
        "make the hazy landscape clear",
        "remove the smog",
    ),
    "brighten": (
        "brighten the image",
        "the photo is too dark",
        "enhance this low light picture",
        "fix the underexposure",
        "make the night photo brighter",
        "lighten the dark image",
    ),
    "dereflect": (
        "remove the reflection",
        "get rid of the glass reflection",
        "the photo was taken through a window",
        "remove reflections from the glass",
        "erase the ghosting from the window",
        "take away the reflected scene",
    ),
}
"""Phrasings per task for the all-in-one model's instruction embedding (training and defaults)."""


# ------------------------------------------------------------------------------------ samplers

Sampler = Callable[[np.ndarray, np.random.Generator, Sequence[np.ndarray]], np.ndarray]


def _grey(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma repeated to three channels (how grey images reach an expert)."""
    y = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat(y[..., None], 3, axis=2).astype(np.float32)


def sample_denoise(clean: np.ndarray, rng: np.random.Generator, _pool: Any) -> np.ndarray:
    """Gaussian noise, sigma ~ U(0, 55)/255, not clipped (the benchmarks' convention); grey
    images get the same noise in every channel."""
    sigma = rng.uniform(0.0, 55.0) / 255.0
    if np.ptp(clean - clean[..., :1]) == 0:
        noise = np.repeat(rng.normal(0.0, sigma, (*clean.shape[:2], 1)), 3, axis=2)
    else:
        noise = rng.normal(0.0, sigma, clean.shape)
    return (clean + noise).astype(np.float32)


def sample_dejpeg(clean: np.ndarray, rng: np.random.Generator, _pool: Any) -> np.ndarray:
    """Real JPEG (Pillow, 4:2:0 for colour), quality ~ U{10..60}; grey images coded as grey."""
    from restora.degradations.jpeg import decode_jpeg, encode_jpeg

    quality = int(rng.integers(10, 61))
    if np.ptp(clean - clean[..., :1]) == 0:
        grey = decode_jpeg(encode_jpeg(clean[..., 0], quality))
        return np.repeat(grey[..., None], 3, axis=2)
    return decode_jpeg(encode_jpeg(clean, quality))


def sample_deblur(clean: np.ndarray, rng: np.random.Generator, _pool: Any) -> np.ndarray:
    """Gaussian/defocus blur or a camera-shake trajectory, plus a little noise half the time."""
    from restora.degradations import add_blur, add_motion_blur

    severity = float(rng.uniform(0.1, 1.0))
    if rng.random() < 0.5:
        out, _ = add_blur(clean, severity, rng)
    else:
        out, _ = add_motion_blur(clean, severity, rng)
    if rng.random() < 0.5:
        out = np.clip(out + rng.normal(0.0, rng.uniform(0, 3) / 255.0, out.shape), 0, 1)
    return out.astype(np.float32)


def sample_upscale(clean: np.ndarray, rng: np.random.Generator, _pool: Any) -> np.ndarray:
    """x2 or x4 down (MATLAB bicubic 70 %, else Gaussian-blurred kernel) and bicubic back up."""
    import cv2

    from restora.degradations.resize import imresize

    scale = 2 if rng.random() < 0.5 else 4
    source = clean
    if rng.random() >= 0.7:
        sigma = rng.uniform(0.2, 0.6) * scale
        source = cv2.GaussianBlur(clean, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101)
    low = np.clip(imresize(source, 1.0 / scale), 0.0, 1.0)
    low = np.round(low * 255.0) / 255.0  # LR images reach the expert as 8-bit files
    up = upsample(torch.from_numpy(low.transpose(2, 0, 1).copy())[None], scale, clean.shape[:2])
    return np.asarray(up[0].numpy().transpose(1, 2, 0), np.float32)


def sample_denoise_real(clean: np.ndarray, rng: np.random.Generator, pool: Any) -> np.ndarray:
    """Noise as photos carry it: 45 % a simulated camera (:func:`restora.degradations.camera.
    capture`: signal-dependent noise on the Bayer mosaic, demosaicing, in-camera denoising and
    sharpening, sometimes downscaling, a JPEG file; sigma on mid-grey ~ U(1, 30)), 20 % Gaussian
    noise (sigma ~ U(3, 35)) that then went through JPEG (quality ~ U{30..90}: a noisy photo
    saved again), 35 % the plain Gaussian of :func:`sample_denoise` (the benchmarks' noise,
    kept so the network stays good at it). Grey crops always get the plain Gaussian."""
    from restora.degradations.camera import capture
    from restora.degradations.jpeg import decode_jpeg, encode_jpeg

    draw = float(rng.random())
    if draw < 0.35 or np.ptp(clean - clean[..., :1]) == 0:
        return sample_denoise(clean, rng, pool)
    if draw < 0.55:
        sigma = rng.uniform(3.0, 35.0) / 255.0
        noisy = np.clip(clean + rng.normal(0.0, sigma, clean.shape), 0.0, 1.0).astype(np.float32)
        return decode_jpeg(encode_jpeg(noisy, int(rng.integers(30, 91))))
    out, _ = capture(clean, rng, sigma=float(rng.uniform(1.0, 30.0)))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _engine(type_name: str, low: float = 0.2) -> Sampler:
    def sample(
        clean: np.ndarray, rng: np.random.Generator, pool: Sequence[np.ndarray]
    ) -> np.ndarray:
        from restora.degradations import apply

        severity = float(rng.uniform(low, 1.0))
        options: dict[str, Any] = {}
        if type_name == "reflection":
            options["reflection_source"] = pool
        out, _ = apply(type_name, clean, severity, rng, **options)
        return np.asarray(out, np.float32)

    sample.__doc__ = f"The degradation engine's {type_name!r}, severity ~ U({low}, 1)."
    return sample


TASK_SAMPLERS: dict[str, Sampler] = {
    "denoise": sample_denoise,
    "dejpeg": sample_dejpeg,
    "deblur": sample_deblur,
    "upscale": sample_upscale,
    "derain": _engine("rain"),
    "dehaze": _engine("haze"),
    "brighten": _engine("low_light"),
    "dereflect": _engine("reflection"),
    "denoise_real": sample_denoise_real,
}
REAL_PAIR_SHARE = {"denoise_real": 0.3}
"""Share of a task's samples that are crops of real photo pairs instead of synthesis: PolyU real
noisy photos and their mean-image ground truth, training scenes only
(:mod:`restora.training.splits`)."""
GREY_FRACTION = {"denoise": 0.25, "dejpeg": 0.5, "denoise_real": 0.1}
"""Share of grey samples (the grey benchmarks BSD68 and LIVE1-Y are scored on these)."""


# ------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved beside the weights)."""

    task: str = "denoise"
    """A task of :data:`TASKS`, ``denoise_real`` (the real-noise denoiser: camera noise and real
    photo pairs, :func:`sample_denoise_real`), or ``all`` for the conditioned all-in-one model."""
    size: str = "base"
    steps: int = 6000
    batch: int = 16
    crop: int = 64
    lr: float = 1e-3
    min_lr: float = 1e-6
    warmup: int = 100
    seed: int = 0
    val_every: int = 500
    log_every: int = 50
    val_crops: int = 24
    val_crop: int = 128
    threads: int = 0
    """torch CPU threads (0 = torch's default)."""
    init: str = ""
    """A checkpoint or safetensors file to start from (fine-tuning); empty = from scratch."""
    clip_fraction: float = 0.0
    """Share of degraded samples clipped to [0, 1] (real photos clip; the benchmarks' Gaussian
    noise does not): 0.5 makes a denoiser right for both."""
    tasks: tuple[str, ...] = field(default=TASKS)
    """Task pool of the all-in-one model."""
    name: str = ""
    workers: int = 0
    """DataLoader processes making the pairs (0 = in the training process). Pairs depend only on
    (seed, step), so the result does not depend on this number."""
    max_minutes: float = 0.0
    """Time budget (0 = none): the learning-rate schedule runs on whichever of steps and time is
    further along, and training stops, validates and exports when either is used up."""

    @property
    def model_name(self) -> str:
        return self.name or ("nafnet_allinone" if self.task == "all" else f"nafnet_{self.task}")

    def arch(self) -> NAFNetConfig:
        base = SIZES[self.size]
        return replace(base, cond_dim=TEXT_DIM if self.task == "all" else 0)


def smoke_config() -> TrainConfig:
    """A run of about a second (the tests use it): the tiny net, tiny crops, two validations."""
    return TrainConfig(
        task="all", size="tiny", steps=4, batch=2, crop=32, warmup=1, val_every=2,
        log_every=1, val_crops=2, val_crop=32, tasks=("denoise", "upscale", "dejpeg"),
    )  # fmt: skip


# --------------------------------------------------------------------------------------- data


class PairSource:
    """Random training pairs for one task or a pool of tasks, deterministic per (seed, step)."""

    def __init__(
        self,
        files: Sequence[Path],
        tasks: Sequence[str],
        crop: int,
        seed: int,
        clip_fraction: float = 0.0,
        real_pairs: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    ) -> None:
        from restora.training.data import cached_image

        self.clip_fraction = clip_fraction
        self.real_pairs = list(real_pairs)
        self.images = [cached_image(Path(f)) for f in files]
        self.tasks = tuple(tasks)
        self.crop = crop
        self.seed = seed

    def batch(self, step: int, size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        from restora.training.data import random_crop

        rng = np.random.default_rng([self.seed, step])
        degraded, clean, tasks = [], [], []
        for _ in range(size):
            task = self.tasks[int(rng.integers(len(self.tasks)))]
            if self.real_pairs and rng.random() < REAL_PAIR_SHARE.get(task, 0.0):
                noisy, truth = self.real_pairs[int(rng.integers(len(self.real_pairs)))]
                pair = pair_crop(noisy, truth, self.crop, rng)
                degraded.append(pair[0])
                clean.append(pair[1])
                tasks.append(task)
                continue
            image = self.images[int(rng.integers(len(self.images)))]
            crop = random_crop(image, self.crop, rng)
            if rng.random() < GREY_FRACTION.get(task, 0.0):
                crop = _grey(crop)
            sample = TASK_SAMPLERS[task](crop, rng, self.images)
            if self.clip_fraction and rng.random() < self.clip_fraction:
                sample = np.clip(sample, 0.0, 1.0)
            degraded.append(sample)
            clean.append(crop)
            tasks.append(task)
        return _stack(degraded), _stack(clean), tasks


def pair_crop(
    noisy: np.ndarray, truth: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The same random crop of both images, flipped and rotated alike (8 orientations)."""
    height, width = noisy.shape[:2]
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    turns, flip = int(rng.integers(4)), bool(rng.random() < 0.5)
    out = []
    for image in (noisy, truth):
        crop = np.rot90(image[top : top + size, left : left + size], turns)
        out.append(np.ascontiguousarray(crop[:, ::-1] if flip else crop, dtype=np.float32))
    return out[0], out[1]


def real_noise_pairs(data_dir: str | Path | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(noisy, ground truth) of the PolyU photos of the training scenes (``real_train``; the
    held-out scenes of :mod:`restora.training.splits` are never read); empty without the data."""
    from restora.io import load
    from restora.paths import data_dir as find_data_dir
    from restora.training.splits import CLEAN_DIR, NOISY_DIR, split_by_scene

    root = find_data_dir(None if data_dir is None else str(data_dir))
    noisy_dir, clean_dir = root / NOISY_DIR, root / CLEAN_DIR
    if not noisy_dir.is_dir():
        return []
    names = [p.name for p in noisy_dir.iterdir() if (clean_dir / p.name).is_file()]
    train_names, _ = split_by_scene(names)
    return [(load(noisy_dir / n).rgb, load(clean_dir / n).rgb) for n in train_names]


def _stack(images: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.ascontiguousarray(i.transpose(2, 0, 1)) for i in images]))


def split_files(data_dir: str | None = None) -> tuple[list[Path], list[Path]]:
    """(training files, validation files): CBSD432 minus its last files, + Train400."""
    from restora.training.data import list_training_images

    colour = list_training_images(data_dir, sets=("CBSD432",))
    grey = list_training_images(data_dir, sets=("Train400",))
    return colour[:-VALIDATION_HOLDOUT] + grey, colour[-VALIDATION_HOLDOUT:]


def validation_set(
    files: Sequence[Path], tasks: Sequence[str], count: int, crop: int
) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """Fixed (task, degraded, clean) crops per task from held-out files (seed 1234)."""
    source = PairSource(files, tasks, crop, seed=1234)
    out = []
    for task in tasks:
        source.tasks = (task,)
        degraded, clean, _ = source.batch(10_000 + (*TASKS, *EXTRA_TASKS).index(task), count)
        out.append((task, degraded, clean))
    return out


# ------------------------------------------------------------------------------------ helpers


def task_embeddings(
    tasks: Sequence[str], encoder: SentenceEncoder | None = None
) -> dict[str, torch.Tensor]:
    """MiniLM embeddings (normalised) of every phrasing of every task: {task: (P, 384)}.
    ``encoder`` defaults to the process-wide MiniLM."""
    if encoder is None:
        from restora.language.encoder import get_text_encoder

        encoder = get_text_encoder()
    return {
        t: torch.as_tensor(np.asarray(encoder.encode(list(TASK_PHRASES[t])), np.float32))
        for t in tasks
    }


def task_condition(phrasings: torch.Tensor) -> torch.Tensor:
    """A task's conditioning vector from its phrasings' embeddings ``(P, 384)``: their mean,
    normalised. Exported with the weights (inference by task name uses it) and validated on."""
    mean = phrasings.mean(0)
    return mean / mean.norm()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.clamp(0, 1) - b) ** 2).mean())
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def psnr_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """NAFNet's PSNR loss: -PSNR per image, averaged (scale-free across tasks)."""
    mse = ((output - target) ** 2).flatten(1).mean(1)
    return (10.0 * torch.log10(mse + 1e-8)).mean()


def learning_rate(cfg: TrainConfig, step: int, minutes: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to ``min_lr``; with a time budget the decay follows the
    elapsed share of ``max_minutes`` when that is further along than the share of steps."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    if cfg.max_minutes > 0:
        progress = max(progress, minutes / cfg.max_minutes)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


class _StepPairs(torch.utils.data.Dataset[tuple[torch.Tensor, torch.Tensor, list[str]]]):
    """Item ``i`` is the batch of step ``i`` (for DataLoader workers; same pairs as in-process)."""

    def __init__(self, source: PairSource, batch: int, steps: int) -> None:
        self.source, self.size, self.steps = source, batch, steps

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        return self.source.batch(step, self.size)


def _batches(
    source: PairSource, cfg: TrainConfig, start: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, list[str]]]:
    """The batches of steps ``start..cfg.steps-1``, made by ``cfg.workers`` processes or here."""
    if cfg.workers <= 0:
        for step in range(start, cfg.steps):
            yield source.batch(step, cfg.batch)
        return
    loader = torch.utils.data.DataLoader(
        _StepPairs(source, cfg.batch, cfg.steps),
        batch_size=None,
        sampler=range(start, cfg.steps),
        num_workers=cfg.workers,
        prefetch_factor=4,
        pin_memory=torch.cuda.is_available(),
    )
    yield from loader


def _load_init(model: NAFNet, path: Path) -> None:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = dict(load_file(str(path)))
    else:
        state = torch.load(str(path), map_location="cpu", weights_only=False)["model"]
    own = model.state_dict()
    # Fine-tuning a task expert from the all-in-one: the conditioning layers are dropped.
    kept = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = [k for k in own if k not in kept]
    model.load_state_dict(kept, strict=False)
    log.info("initialised from %s (%d tensors; %d left as built)", path, len(kept), len(missing))


# -------------------------------------------------------------------------------------- train


def train(
    cfg: TrainConfig,
    out_dir: Path,
    train_files: Sequence[Path],
    val_files: Sequence[Path],
    device: str = "auto",
    *,
    text_encoder: SentenceEncoder | None = None,
    data_dir: str | None = None,
) -> dict[str, Any]:
    """Train (or resume) the model of ``cfg`` in ``out_dir``; returns the final record.

    ``text_encoder`` embeds the all-in-one model's task phrasings (default: the process-wide
    MiniLM; the tests pass a small stand-in, a few seconds faster to load); ``data_dir`` is
    where tasks with real photo pairs (:data:`REAL_PAIR_SHARE`) find them."""

    previous_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _train(cfg, out_dir, train_files, val_files, device, text_encoder, data_dir)
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    cfg: TrainConfig,
    out_dir: Path,
    train_files: Sequence[Path],
    val_files: Sequence[Path],
    device: str,
    text_encoder: SentenceEncoder | None,
    data_dir: str | None = None,
) -> dict[str, Any]:
    from restora.device import allow_tf32, resolve_device

    out_dir.mkdir(parents=True, exist_ok=True)
    target = resolve_device(None if device == "auto" else device)
    torch.manual_seed(cfg.seed)
    tasks = cfg.tasks if cfg.task == "all" else (cfg.task,)
    for task in tasks:
        if task not in TASK_SAMPLERS:
            from restora.errors import UnknownNameError

            raise UnknownNameError("task", task, list(TASKS))
    allow_tf32(target)
    if target.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop size: pick the fastest kernels once
    model = NAFNet(cfg.arch()).to(target)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.9), weight_decay=0.0)
    embeddings = task_embeddings(tasks, text_encoder) if cfg.task == "all" else {}
    checkpoint = out_dir / "last.pt"
    step, history = 0, []
    if checkpoint.is_file():
        state = torch.load(str(checkpoint), map_location=target, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, history = int(state["step"]), list(state["history"])
        log.info("resumed %s at step %d", checkpoint, step)
    elif cfg.init:
        _load_init(model, Path(cfg.init))
    (out_dir / "config.json").write_text(json.dumps(_config_record(cfg), indent=2) + "\n")
    pairs = real_noise_pairs(data_dir) if any(t in REAL_PAIR_SHARE for t in tasks) else []
    if pairs:
        log.info("%d real photo pairs (PolyU training scenes)", len(pairs))
    source = PairSource(train_files, tasks, cfg.crop, cfg.seed, cfg.clip_fraction, pairs)
    validation = validation_set(val_files, tasks, cfg.val_crops, cfg.val_crop)
    cond_rng = np.random.default_rng([cfg.seed, 7])
    started = time.perf_counter()
    logfile = (out_dir / "log.jsonl").open("a")
    for degraded, clean, batch_tasks in _batches(source, cfg, step):
        minutes = (time.perf_counter() - started) / 60.0
        if cfg.max_minutes and minutes >= cfg.max_minutes:
            log.info("time budget of %.1f min used at step %d", cfg.max_minutes, step)
            break
        degraded = degraded.to(target, non_blocking=True)
        clean = clean.to(target, non_blocking=True)
        cond = None
        if embeddings:
            cond = torch.stack(
                [embeddings[t][int(cond_rng.integers(len(TASK_PHRASES[t])))] for t in batch_tasks]
            ).to(target)
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(cfg, step, minutes)
        model.train()
        loss = psnr_loss(model(degraded, cond), clean)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimiser.step()
        step += 1
        if step % cfg.log_every == 0:
            record = {"step": step, "loss": round(loss.item(), 4),
                      "lr": learning_rate(cfg, step, minutes),
                      "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
            logfile.write(json.dumps(record) + "\n")
            logfile.flush()
            log.info("step %d loss %.3f", step, loss.item())
        if step % cfg.val_every == 0 or step == cfg.steps:
            _validate_and_save(model, optimiser, cfg, step, history, validation, embeddings,
                               target, checkpoint, logfile)  # fmt: skip
    if not history or history[-1]["step"] != step:  # stopped by the time budget
        _validate_and_save(model, optimiser, cfg, step, history, validation, embeddings,
                           target, checkpoint, logfile)  # fmt: skip
    logfile.close()
    return export(model, cfg, out_dir, history, embeddings, time.perf_counter() - started, step)


def _validate_and_save(
    model: NAFNet,
    optimiser: torch.optim.Optimizer,
    cfg: TrainConfig,
    step: int,
    history: list[dict[str, Any]],
    validation: Sequence[tuple[str, torch.Tensor, torch.Tensor]],
    embeddings: dict[str, torch.Tensor],
    target: torch.device,
    checkpoint: Path,
    logfile: Any,
) -> None:
    """Validation PSNR into ``history`` and the log, then an atomic resumable checkpoint."""
    scores = evaluate(model, validation, embeddings, target)
    history.append({"step": step, **scores})
    logfile.write(json.dumps({"step": step, "val_psnr": scores}) + "\n")
    logfile.flush()
    log.info("step %d validation %s", step, scores)
    torch.save(
        {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
         "step": step, "history": history, "config": _config_record(cfg)},
        str(checkpoint) + ".tmp",
    )  # fmt: skip
    Path(str(checkpoint) + ".tmp").replace(checkpoint)


def evaluate(
    model: NAFNet,
    validation: Sequence[tuple[str, torch.Tensor, torch.Tensor]],
    embeddings: dict[str, torch.Tensor],
    device: torch.device,
) -> dict[str, dict[str, float]]:
    """Validation PSNR per task: input and output."""
    model.eval()
    scores: dict[str, dict[str, float]] = {}
    with torch.inference_mode():
        for task, degraded, clean in validation:
            cond = None
            if embeddings:
                cond = task_condition(embeddings[task]).expand(len(degraded), -1).to(device)
            output = model(degraded.to(device), cond).cpu()
            scores[task] = {
                "input": round(psnr(degraded, clean), 3),
                "output": round(psnr(output, clean), 3),
            }
    return scores


def _config_record(cfg: TrainConfig) -> dict[str, Any]:
    return {
        "name": cfg.model_name,
        "architecture": "nafnet",
        "arch": cfg.arch().to_dict(),
        "train": {**asdict(cfg), "tasks": list(cfg.tasks)},
        "pre_upsample": "bicubic" if cfg.task in ("upscale", "all") else None,
    }


def total_seconds(log_path: Path) -> float:
    """Training time over every (resumed) run recorded in ``log.jsonl``: the clock restarts at
    each resume, so the last time of each run is added up."""
    total, last = 0.0, 0.0
    if log_path.is_file():
        for line in log_path.read_text().splitlines():
            seconds = json.loads(line).get("seconds")
            if seconds is None:
                continue
            if seconds < last:
                total += last
            last = float(seconds)
    return round(total + last, 1)


def export(
    model: NAFNet,
    cfg: TrainConfig,
    out_dir: Path,
    history: list[dict[str, Any]],
    embeddings: dict[str, torch.Tensor],
    seconds: float,
    steps_done: int | None = None,
) -> dict[str, Any]:
    """Write ``<name>.safetensors`` (+ per-task mean embeddings) and ``<name>.json``."""
    from safetensors.torch import save_file

    from restora.device import describe_device

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for task, emb in embeddings.items():
        tensors[f"task_embedding.{task}"] = task_condition(emb.cpu()).contiguous()
    weights = out_dir / f"{cfg.model_name}.safetensors"
    save_file(tensors, str(weights))
    record = {
        **_config_record(cfg),
        "parameters": count_parameters(model),
        "validation": history,
        "trained": {
            "steps": cfg.steps if steps_done is None else steps_done,
            "seconds_this_run": round(seconds, 1),
            "seconds_total": max(round(seconds, 1), total_seconds(out_dir / "log.jsonl")),
            "device": describe_device(next(model.parameters()).device),
            "machine": f"{platform.machine()} {platform.system()}",
            "data": "train/ CBSD432 (minus the last 16 files, held out for validation) + Train400"
            + (
                " + real_train/ PolyU pairs of the training scenes"
                if cfg.task in REAL_PAIR_SHARE
                else ""
            ),
        },
    }
    (out_dir / f"{cfg.model_name}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", default="denoise", choices=(*TASKS, *EXTRA_TASKS, "all"))
    parser.add_argument("--size", default="base", choices=tuple(SIZES))
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-every", type=int, default=500)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--init", default="", help="checkpoint/safetensors to fine-tune from")
    parser.add_argument("--clip-fraction", type=float, default=0.0, help="share clipped to [0,1]")
    parser.add_argument("--name", default="")
    parser.add_argument("--workers", type=int, default=0, help="pair-making processes")
    parser.add_argument(
        "--max-minutes", type=float, default=0.0, help="time budget (the schedule follows it)"
    )
    parser.add_argument("--data", default=None, help="data folder (default ../shared/data)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--smoke", action="store_true", help="a few-second run (tests)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.smoke:
        cfg = smoke_config()
    else:
        cfg = TrainConfig(
            task=args.task, size=args.size, steps=args.steps, batch=args.batch, crop=args.crop,
            lr=args.lr, seed=args.seed, val_every=args.val_every, threads=args.threads,
            init=args.init, name=args.name, clip_fraction=args.clip_fraction,
            workers=args.workers, max_minutes=args.max_minutes,
        )  # fmt: skip
    train_files, val_files = split_files(args.data)
    if args.smoke:
        train_files, val_files = train_files[:8], val_files[:2]
    record = train(cfg, args.out, train_files, val_files, args.device, data_dir=args.data)
    print(json.dumps(record["validation"][-1] if record["validation"] else {}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
