"""``restora degrade``: synthesise a degradation on a clean image."""

from __future__ import annotations

from pathlib import Path

import click

from restora.cli._common import (
    common_options,
    image_path_argument,
    json_option,
    load_input,
    max_pixels_option,
    overwrite_option,
)
from restora.errors import NotAvailableError
from restora.vocabulary import SYNTHESIS_TYPES


@click.command(short_help="Apply a synthetic degradation (for training data and tests).")
@image_path_argument()
@click.option(
    "-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="Output file."
)
@click.option(
    "--type",
    "types",
    multiple=True,
    required=True,
    type=click.Choice([*SYNTHESIS_TYPES, "mixed"]),
    help="Degradation type (repeatable, or 'mixed').",
)
@click.option(
    "--severity", type=click.FloatRange(0.0, 1.0), default=None, help="Severity in [0, 1]."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@overwrite_option
@max_pixels_option
@json_option
@common_options
def degrade(
    input_path: Path,
    output: Path,
    types: tuple[str, ...],
    severity: float | None,
    seed: int,
    overwrite: bool,
    max_pixels: float | None,
    as_json: bool,
) -> None:
    """Degrade the clean image IN and write OUT."""
    from restora.io import check_output

    load_input(input_path, max_pixels)
    check_output(output, overwrite=overwrite, inputs=[input_path])
    del types, severity, seed, as_json
    raise NotAvailableError("the degradation engine is not available yet")
