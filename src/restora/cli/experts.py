"""``restora experts``: the restoration experts that are installed."""

from __future__ import annotations

import click

from restora.cli._common import common_options, json_option
from restora.errors import NotAvailableError


@click.command(short_help="List the restoration experts.")
@json_option
@common_options
def experts(as_json: bool) -> None:
    """List every registered expert with its task, backend and parameters."""
    del as_json
    raise NotAvailableError("the expert registry is not available yet")
