"""Options and output helpers shared by every command."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

_STATE: dict[str, Any] = {"verbose": 0, "device": None}


def configure(verbose: int = 0, device: str | None = None) -> None:
    """Apply the global options (called by the group and again by each subcommand)."""
    if verbose:
        _STATE["verbose"] = max(_STATE["verbose"], verbose)
    if device:
        _STATE["device"] = device
    level = logging.WARNING
    if _STATE["verbose"] == 1:
        level = logging.INFO
    elif _STATE["verbose"] >= 2:
        level = logging.DEBUG
    logger = logging.getLogger("restora")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("restora: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    # Pillow logs warnings about odd files that restora reports itself in one line.
    logging.getLogger("PIL").setLevel(logging.DEBUG if _STATE["verbose"] >= 2 else logging.ERROR)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted: a handler bound to the
    stream of the moment writes into a closed file once that stream is replaced (an embedding
    program's redirect, a test's capture) and prints "--- Logging error ---" tracebacks."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def common_options(func: F) -> F:
    """``-v/--verbose`` and ``--device`` on a subcommand (they also work before it)."""

    def apply(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if param.name == "verbose":
            configure(verbose=value)
        elif param.name == "device":
            configure(device=value)
        return value

    func = click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=apply,
        help="More log output on stderr (-vv for debug).",
    )(func)
    func = click.option(
        "--device",
        type=click.Choice(["auto", "cpu", "cuda"]),
        default=None,
        expose_value=False,
        callback=apply,
        help="Where learned models run (default auto).",
    )(func)
    return func


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else."
    )(func)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    return value


def emit_json(payload: dict[str, Any]) -> None:
    """The one JSON object a ``--json`` command prints on stdout."""
    click.echo(json.dumps(_jsonable(payload), indent=2, ensure_ascii=False))


def device() -> str:
    """The device chosen on the command line or by RESTORA_DEVICE (default auto); the surfaces
    pass it on in the request, nothing writes it into the environment."""
    from restora.settings import settings

    return str(_STATE["device"] or settings().device or "auto")


class PixelCount(click.ParamType):
    """A finite number of pixels, at least 1 (``150e6`` is accepted; ``nan``, ``inf`` are not)."""

    name = "pixels"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
        if not (math.isfinite(number) and number >= 1):
            self.fail(f"takes a number of pixels of at least 1 (such as 150e6), got {value!r}")
        return number


PIXEL_COUNT = PixelCount()


def max_pixels_option(func: F) -> F:
    return click.option(
        "--max-pixels",
        type=PIXEL_COUNT,
        default=None,
        help="Refuse images with more pixels than this (default 150e6, env RESTORA_MAX_PIXELS).",
    )(func)


def overwrite_option(func: F) -> F:
    return click.option(
        "--overwrite", is_flag=True, help="Replace an existing output file (never the input)."
    )(func)


def image_path_argument(name: str = "input_path") -> Callable[[F], F]:
    """A positional path argument; existence and type are checked by restora.io with one line."""
    return click.argument(name, metavar="IN", type=click.Path(path_type=Path))


def load_input(
    path: Path,
    max_pixels: float | None = None,
    *,
    peak_memory: Callable[[Any], float] | None = None,
    purpose: str = "read it",
) -> Any:
    """Read an image for a command (errors are RestoraError: exit 2, one line).

    ``peak_memory(header)`` estimates the command's peak memory for this image from its
    header (:class:`restora.io.ImageHeader`); an image that would not fit in the memory
    available is refused before it is decoded, naming the estimate and ``--max-pixels``."""
    from restora.io import load

    return load(
        path,
        max_pixels=None if max_pixels is None else int(max_pixels),
        peak_memory=peak_memory,
        purpose=purpose,
    )


@contextlib.contextmanager
def progress_bar(
    enabled: bool = True,
) -> Iterator[Callable[[str, float | None, float | None], None]]:
    """A tqdm bar on stderr for a long run, fed by ``restora.restore``'s ``progress`` callback:
    the current step and, while the kept chain runs on a large photo, the time left. Only when
    stderr is a terminal (never in pipes, logs or ``--json`` runs)."""
    if not enabled or not sys.stderr.isatty():
        yield lambda message, fraction, eta: None
        return
    from tqdm import tqdm

    bar = tqdm(total=100, file=sys.stderr, leave=False, bar_format="{l_bar}{bar}| {postfix}")

    def update(message: str, fraction: float | None, eta: float | None) -> None:
        if fraction is not None:
            bar.n = round(100 * min(max(fraction, 0.0), 1.0))
        bar.set_description_str(message[:60], refresh=False)
        bar.set_postfix_str(f"about {eta:.0f} s left" if eta else "", refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
