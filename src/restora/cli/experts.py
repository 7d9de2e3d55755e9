"""``restora experts``: the restoration experts that are installed."""

from __future__ import annotations

import click

from restora.cli._common import common_options, emit_json, json_option
from restora.vocabulary import TASKS


@click.command(short_help="List the restoration experts.")
@click.option("--task", type=click.Choice(TASKS), default=None, help="Only experts for this task.")
@json_option
@common_options
def experts(task: str | None, as_json: bool) -> None:
    """List every registered expert with its task, backend and parameters."""
    from restora.experts import list_experts

    found = list_experts(task)
    if as_json:
        emit_json({"experts": [e.info() for e in found]})
        return
    width = max((len(e.name) for e in found), default=4)
    for expert in found:
        scale = f" x{expert.scale}" if expert.scale > 1 else ""
        click.echo(f"{expert.name:<{width}}  {expert.task:<9} {expert.backend:<9}{scale}")
        click.echo(f"{'':<{width}}  {expert.description}")
        if expert.params:
            params = ", ".join(f"{k}={v!r}" for k, v in expert.params.items())
            click.echo(f"{'':<{width}}  params: {params}")
        if expert.suited_to:
            made_for = ", ".join(sorted(expert.suited_to))
            click.echo(f"{'':<{width}}  chosen when the photo shows: {made_for}")
    from restora.experts.published.catalogue import WHEELS, install_hint, missing_wheels

    packages = {wheel: package for package, wheel in WHEELS.items()}
    for wheel, names in missing_wheels().items():
        hint = install_hint(packages[wheel])
        click.echo(f"not installed: {', '.join(names)} (the {wheel} package: {hint})", err=True)
