"""``restora analyze``: what is wrong with an image."""

from __future__ import annotations

from pathlib import Path

import click

from restora.cli._common import (
    common_options,
    device,
    emit_json,
    image_path_argument,
    json_option,
    load_input,
    max_pixels_option,
    overwrite_option,
)
from restora.perception.backends import ANALYZER_BACKENDS


@click.command(short_help="Say which degradations an image has, and how strong.")
@image_path_argument()
@click.option(
    "--analyzer",
    "backend",
    type=click.Choice(ANALYZER_BACKENDS),
    default="embedded",
    show_default=True,
    help="Who classifies the degradations: the embedded analyzer, a CLIP model from a local "
    "folder (--weights DIR), or a vision-language model at RESTORA_VLM_URL / RESTORA_LLM_URL "
    "(the embedded analyzer answers when it fails).",
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    default=None,
    help="Analyzer weights (.safetensors with its .json); with --analyzer clip, the CLIP folder.",
)
@click.option("--report", type=click.Path(path_type=Path), help="Write an HTML report here.")
@overwrite_option
@max_pixels_option
@json_option
@common_options
def analyze(
    input_path: Path,
    backend: str,
    weights: Path | None,
    report: Path | None,
    overwrite: bool,
    max_pixels: float | None,
    as_json: bool,
) -> None:
    """Detect the degradations in IN (noise, blur, motion blur, JPEG, haze, rain, low light,
    reflection) with severity and confidence, a caption and a quality level."""
    from restora.perception import analyze as run_analyzer

    image = load_input(input_path, max_pixels)
    if report is not None:
        from restora.cli.restore import check_report_path

        check_report_path(report, overwrite, input_path)
    analysis = run_analyzer(image, weights=weights, device=device(), backend=backend)
    if report is not None:
        from restora.reports import analysis_report
        from restora.reports.html import write_html

        page = analysis_report(image.rgb, analysis, input_path.name)
        write_html(page, report, overwrite=overwrite)
    payload = {"file": str(input_path), **analysis.to_dict()}
    if as_json:
        emit_json(payload)
        return
    click.echo(f"{input_path}: {analysis.caption}")
    if analysis.is_clean:
        click.echo("  no degradation found")
    for item in analysis.degradations:
        click.echo(
            f"  {item.type:<12} severity {item.severity:.2f}  confidence {item.confidence:.2f}"
        )
    q = analysis.quality
    click.echo(f"  quality {q.score:.0f}/100 ({q.level})")
