"""``restora degrade``: synthesise a degradation on a clean image."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from restora.cli._common import (
    common_options,
    emit_json,
    image_path_argument,
    json_option,
    load_input,
    max_pixels_option,
    overwrite_option,
)
from restora.vocabulary import SYNTHESIS_TYPES

log = logging.getLogger(__name__)


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
    help="Degradation type (repeatable, applied in physical order), or 'mixed' for 1-3 random.",
)
@click.option(
    "--severity",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Severity in [0, 1] for every type (default: random per type).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Random seed (0 to 2^32 - 1).",
)
@click.option(
    "--stage",
    type=click.Choice(["easy", "medium", "hard"]),
    default="hard",
    show_default=True,
    help="Curriculum stage for random severities and 'mixed' (easy: one mild degradation).",
)
@click.option(
    "--resize-back",
    is_flag=True,
    help="With low_resolution, resize the result back to the input size (default: keep LR size).",
)
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
    stage: str,
    resize_back: bool,
    overwrite: bool,
    max_pixels: float | None,
    as_json: bool,
) -> None:
    """Degrade the clean image IN and write OUT.

    The record (types, severities, physical parameters) and a caption are printed with --json;
    the same seed gives the same image and record.
    """
    from restora.degradations import synthesize
    from restora.io import check_output, save

    if "mixed" in types and len(types) > 1:
        raise click.UsageError("--type mixed cannot be combined with other types")
    if len(set(types)) != len(types):
        raise click.UsageError("a --type is given twice")
    image = load_input(input_path, max_pixels)
    check_output(output, overwrite=overwrite, inputs=[input_path])
    chosen: str | list[str] = "mixed" if types == ("mixed",) else list(types)
    degraded, record = synthesize(
        image.rgb, chosen, severity=severity, seed=seed, stage=stage, resize_back=resize_back
    )
    written = save(image.with_rgb(degraded), output, overwrite=overwrite, inputs=[input_path])
    log.info("wrote %s: %s", written, record.caption)
    if as_json:
        emit_json({"output": str(written), **record.to_dict()})
    else:
        click.echo(f"{written}: {record.caption}")
