"""The bundled examples of the web app: scikit-image pictures degraded by restora's own engine.

They are made at start-up (deterministic seeds, a few hundred milliseconds) and written to a
folder under the system temporary directory, which Gradio serves without extra permissions; the
shared data folder is never read, so the page works from a bare install.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXAMPLE_SIDE = 256
"""Longer side of the example pictures: big enough to see the damage, small enough that the
agent finishes in seconds on a CPU."""


@dataclass(frozen=True)
class Example:
    """One bundled example: a scikit-image picture, the damage done to it (type -> severity,
    applied in this order) and the instruction suggested with it."""

    name: str
    picture: str
    damage: tuple[tuple[str, float], ...]
    instruction: str
    seed: int

    @property
    def file_name(self) -> str:
        return "".join(c if c.isalnum() else "_" for c in self.name) + ".png"

    @property
    def recipe(self) -> str:
        """A digest of everything that makes the pixels: a changed example gets a new folder
        in the cache instead of the older picture."""
        made_of = repr((self.picture, self.damage, self.seed, EXAMPLE_SIDE)).encode()
        return hashlib.sha1(made_of).hexdigest()[:10]


EXAMPLES: tuple[Example, ...] = (
    Example("noisy astronaut", "astronaut", (("noise", 0.5),), "remove the noise", 1),
    Example("hazy coffee", "coffee", (("haze", 0.6),), "remove the haze", 2),
    Example(
        "dark noisy cat",
        "chelsea",
        (("low_light", 0.4), ("noise", 0.2)),
        "brighten it and remove the noise",
        3,
    ),
    Example("blurry rocket", "rocket", (("blur", 0.5),), "sharpen it", 4),
    Example("blocky cameraman", "camera", (("jpeg", 0.7),), "fix the compression artifacts", 5),
    Example("rainy astronaut", "astronaut", (("rain", 0.5),), "make it better", 6),
)


def example_picture(name: str, side: int = EXAMPLE_SIDE) -> np.ndarray:
    """A scikit-image picture by name as float32 RGB in [0, 1], longer side ``side``."""
    from skimage import data, transform

    from restora.errors import UnknownNameError
    from restora.io import to_float

    pictures = ("astronaut", "camera", "chelsea", "coffee", "rocket")
    if name not in pictures:
        raise UnknownNameError("example picture", name, pictures)
    pixels = to_float(np.asarray(getattr(data, name)()))
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    scale = side / max(pixels.shape[:2])
    if scale < 1.0:
        size = (round(pixels.shape[0] * scale), round(pixels.shape[1] * scale))
        pixels = transform.resize(pixels, (*size, 3), anti_aliasing=True)
    return np.ascontiguousarray(pixels, dtype=np.float32)


def default_examples_dir() -> Path:
    return Path(tempfile.gettempdir()) / "restora-web-examples"


def make_examples(
    folder: str | Path | None = None, examples: tuple[Example, ...] = EXAMPLES
) -> list[tuple[Path, Example]]:
    """Write every example as PNG into ``folder/<recipe>/`` (default folder: one under the
    system temporary directory) unless it is already there; returns (path, example) pairs in
    order."""
    from restora.degradations import synthesize
    from restora.io import Image, save

    target = Path(folder) if folder is not None else default_examples_dir()
    target.mkdir(parents=True, exist_ok=True)
    made: list[tuple[Path, Example]] = []
    for example in examples:
        path = target / example.recipe / example.file_name
        if not path.is_file():
            path.parent.mkdir(exist_ok=True)
            clean = example_picture(example.picture)
            damaged, _ = synthesize(
                clean,
                types=[kind for kind, _ in example.damage],
                severity=dict(example.damage),
                seed=example.seed,
                keep_order=True,
            )
            save(Image.from_array(damaged), path, overwrite=True)
        made.append((path, example))
    return made
