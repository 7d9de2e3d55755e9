"""``restora serve``: the web app (Gradio; ``pip install 'restora[web]'``)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

import click

from restora.cli._common import common_options, device
from restora.errors import NotAvailableError
from restora.web.serving import (
    DEFAULT_MAX_CLIENT_MB,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_STORAGE_MB,
    DEFAULT_MAX_UPLOAD_MB,
    DEFAULT_UPLOADS_PER_MINUTE,
    exposure_warning,
    parse_auth,
)


def _auth_pairs(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        try:
            pairs.append(parse_auth(value))
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return pairs


@contextlib.contextmanager
def _sigterm_stops_the_server() -> Iterator[None]:
    """SIGTERM (a service manager, ``kill``) stops the server like Ctrl-C, so that the uploads
    and results are deleted before the process ends."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command(short_help="Start the web app.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; 0.0.0.0 (or any non-loopback address) exposes the page to the "
    "network, with a warning.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--share", is_flag=True, help="Also ask Gradio for a public share link (off).")
@click.option(
    "--auth",
    "auth",
    metavar="USER:PASSWORD",
    multiple=True,
    callback=_auth_pairs,
    help="Ask for this user name and password before showing the page (repeat for more users).",
)
@click.option("--no-examples", is_flag=True, help="Leave out the bundled examples.")
@click.option(
    "--max-pixels",
    type=click.FloatRange(min=1),
    default=None,
    help=f"Refuse uploads with more pixels than this, checked before decoding (default "
    f"{DEFAULT_MAX_PIXELS / 1e6:g}e6, or RESTORA_MAX_PIXELS).",
)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_MAX_UPLOAD_MB,
    show_default=True,
    help="Refuse uploaded files larger than this many megabytes (MiB).",
)
@click.option(
    "--max-storage-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_MAX_STORAGE_MB,
    show_default=True,
    help="Uploads the server holds at once, all visitors together (MiB); more are refused.",
)
@click.option(
    "--max-client-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_MAX_CLIENT_MB,
    show_default=True,
    help="Uploads one client address holds at once (MiB); more are refused.",
)
@click.option(
    "--uploads-per-minute",
    type=click.IntRange(1, 100_000),
    default=DEFAULT_UPLOADS_PER_MINUTE,
    show_default=True,
    help="Upload requests one client address may make in a minute; more are refused.",
)
@click.option(
    "--max-queue",
    type=click.IntRange(1, 1000),
    default=DEFAULT_MAX_QUEUE,
    show_default=True,
    help="Runs that may wait behind the running one; more are told the server is busy.",
)
@common_options
def serve(
    host: str,
    port: int,
    share: bool,
    auth: list[tuple[str, str]],
    no_examples: bool,
    max_pixels: float | None,
    max_upload_mb: float,
    max_storage_mb: float,
    max_client_mb: float,
    uploads_per_minute: int,
    max_queue: int,
) -> None:
    """Serve the restora web app on HOST:PORT until Ctrl-C (or SIGTERM).

    Uploads and results are kept only while the visitor's page is open and deleted when the
    server stops.
    """
    try:
        from restora.web.app import launch
    except ImportError as exc:
        raise NotAvailableError(
            f"the web app needs gradio ({exc.name} is missing): pip install 'restora[web]'"
        ) from exc
    warning = exposure_warning(host, share=share, auth=bool(auth))
    if warning is not None:
        click.echo(f"restora: {warning}", err=True)
    with _sigterm_stops_the_server():
        launch(
            host=host,
            port=port,
            share=share,
            max_pixels=max_pixels,
            device=device(),
            examples=not no_examples,
            max_upload_mb=max_upload_mb,
            max_queue=max_queue,
            auth=auth or None,
            max_storage_mb=max_storage_mb,
            max_client_mb=max_client_mb,
            uploads_per_minute=uploads_per_minute,
        )
    click.echo("restora: the web app stopped; its uploads and results are deleted", err=True)
