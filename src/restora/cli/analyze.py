"""``restora analyze``: what is wrong with an image."""

from __future__ import annotations

from pathlib import Path

import click

from restora.cli._common import (
    common_options,
    image_path_argument,
    json_option,
    load_input,
    max_pixels_option,
)
from restora.errors import NotAvailableError


@click.command(short_help="Say which degradations an image has, and how strong.")
@image_path_argument()
@max_pixels_option
@json_option
@common_options
def analyze(input_path: Path, max_pixels: float | None, as_json: bool) -> None:
    """Detect the degradations in IN (noise, blur, motion blur, JPEG, haze, rain, low light,
    reflection) with severity and confidence, a caption and a quality level."""
    load_input(input_path, max_pixels)
    del as_json
    raise NotAvailableError(
        "the degradation analyzer is not available yet (no trained model ships)"
    )
