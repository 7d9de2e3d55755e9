"""Which real training photos are held out for evaluation.

PolyU real noisy photos (``real_train/noise``, ground truth of the same name in
``real_train/noise_gt``) are split **by scene**: the scene is the word before the shot number in
the file name (``PolyU_Canon5D2_5_160_3200_chair_5_real.jpg`` -> ``chair``) and a scene is held
out when ``zlib.crc32(scene) % 100 < HELD_OUT_PERCENT``, so whole scenes, never single shots,
are kept out of training. The real-noise benchmark (``restora.bench.real_noise``) evaluates on
the held-out side; trainers (``restora.training.judge``) read only the other.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from pathlib import Path

HELD_OUT_PERCENT = 30
"""A scene is held out when ``zlib.crc32(scene) % 100`` is below this."""
NOISY_DIR = Path("real_train") / "noise"
CLEAN_DIR = Path("real_train") / "noise_gt"
_SCENE = re.compile(r"_([A-Za-z]+)_+\d+_real$")


def scene_of(name: str) -> str:
    """The scene word of a PolyU file name (``..._chair_5_real.jpg`` -> ``chair``); names not
    in that form are their own scene (their stem)."""
    stem = Path(name).stem
    match = _SCENE.search(stem)
    return match.group(1).lower() if match else stem


def is_held_out(scene: str) -> bool:
    """Whether ``scene`` is one of the evaluation scenes (never trained on)."""
    return zlib.crc32(scene.encode("utf-8")) % 100 < HELD_OUT_PERCENT


def split_by_scene(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(training names, held-out names), each sorted: whole scenes go to one side."""
    train: list[str] = []
    held: list[str] = []
    for name in sorted(names):
        (held if is_held_out(scene_of(name)) else train).append(name)
    return train, held


__all__ = [
    "CLEAN_DIR",
    "HELD_OUT_PERCENT",
    "NOISY_DIR",
    "is_held_out",
    "scene_of",
    "split_by_scene",
]
