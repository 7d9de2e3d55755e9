"""``restora parse``: what an instruction asks for."""

from __future__ import annotations

import click

from restora.cli._common import common_options, json_option
from restora.errors import NotAvailableError


@click.command(short_help="Turn a plain-English instruction into restoration tasks.")
@click.argument("text")
@json_option
@common_options
def parse(text: str, as_json: bool) -> None:
    """Parse TEXT ("it's dark and grainy, brighten it but keep the grain") into tasks."""
    del text, as_json
    raise NotAvailableError("instruction parsing is not available yet")
