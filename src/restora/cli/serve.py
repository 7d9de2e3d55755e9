"""``restora serve``: the web app."""

from __future__ import annotations

import click

from restora.cli._common import common_options
from restora.errors import NotAvailableError


@click.command(short_help="Start the web app.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@common_options
def serve(host: str, port: int) -> None:
    """Serve the restora web app on HOST:PORT."""
    del host, port
    raise NotAvailableError("the web app is not available yet")
