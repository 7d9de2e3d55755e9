"""``restora parse``: what an instruction asks for."""

from __future__ import annotations

import logging

import click

from restora.cli._common import common_options, emit_json, json_option

log = logging.getLogger("restora.language")


@click.command(short_help="Turn a plain-English instruction into restoration tasks.")
@click.argument("text")
@json_option
@click.option(
    "--embedded",
    is_flag=True,
    help="Use the embedded parser even when RESTORA_LLM_URL configures a chat model.",
)
@common_options
def parse(text: str, as_json: bool, embedded: bool) -> None:
    """Parse TEXT ("it's dark and grainy, brighten it but keep the grain") into tasks.

    Exits 2 with a one-line message when TEXT is empty or asks for nothing restora can do.
    """
    from restora.language import parse as parse_text
    from restora.language.descriptions import describe_intent
    from restora.language.parser import parse_instruction, require_actionable

    intent = parse_instruction(text) if embedded else parse_text(text)
    require_actionable(intent)
    if intent.unsupported:
        log.warning("ignored (not something restora can do): %s", "; ".join(intent.unsupported))
    if as_json:
        emit_json(intent.to_dict())
        return
    click.echo(f"tasks:    {', '.join(intent.tasks) or '-'}")
    click.echo(f"exclude:  {', '.join(intent.exclude) or '-'}")
    click.echo(f"auto:     {str(intent.auto).lower()}")
    click.echo(f"scale:    {intent.scale if intent.scale is not None else '-'}")
    click.echo(f"strength: {intent.strength}")
    click.echo(f"look:     {intent.look}")
    click.echo(describe_intent(intent))
