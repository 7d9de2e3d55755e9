"""``restora serve``: the web app (Gradio; ``pip install 'restora[web]'``)."""

from __future__ import annotations

import click

from restora.cli._common import common_options, device, max_pixels_option
from restora.errors import NotAvailableError


@click.command(short_help="Start the web app.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; 0.0.0.0 exposes the page to the network.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--share", is_flag=True, help="Also ask Gradio for a public share link (off).")
@click.option("--no-examples", is_flag=True, help="Leave out the bundled examples.")
@max_pixels_option
@common_options
def serve(host: str, port: int, share: bool, no_examples: bool, max_pixels: float | None) -> None:
    """Serve the restora web app on HOST:PORT until Ctrl-C."""
    try:
        from restora.web.app import launch
    except ImportError as exc:
        raise NotAvailableError(
            f"the web app needs gradio ({exc.name} is missing): pip install 'restora[web]'"
        ) from exc
    launch(
        host=host,
        port=port,
        share=share,
        max_pixels=None if max_pixels is None else int(max_pixels),
        device=device(),
        examples=not no_examples,
    )
