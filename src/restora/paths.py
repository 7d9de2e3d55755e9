"""Where restora finds the public data folder and its own files."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
WEIGHTS_DIR = PACKAGE_DIR / "weights"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The public data folder: ``override``, else ``$RESTORA_DATA``, else ``../shared/data``.

    ``../shared/data`` is looked for beside the current folder first, then beside the source
    checkout. The folder may not exist; callers check (tests skip when it is absent).
    """
    if override is not None:
        return Path(override).expanduser()
    from restora.settings import settings

    env = settings().data_dir
    if env is not None:
        return env
    candidates = [Path.cwd() / ".." / "shared" / "data"]
    if PACKAGE_DIR.parent.name == "src":  # an editable/source checkout: <repo>/src/restora
        candidates.append(PACKAGE_DIR.parents[2] / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return candidates[-1]


def models_dir() -> Path:
    """restora's model cache, where installed third-party model files live (never the
    repository): ``$RESTORA_MODELS``, else ``$XDG_CACHE_HOME/restora/models``, else
    ``~/.cache/restora/models``. The folder may not exist."""
    env = os.environ.get("RESTORA_MODELS")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "restora" / "models"
