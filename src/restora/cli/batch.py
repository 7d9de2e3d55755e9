"""``restora batch``: restore a folder of images, locally or on Ray."""

from __future__ import annotations

from pathlib import Path

import click

from restora.cli._common import common_options
from restora.errors import NotAvailableError


@click.command(short_help="Restore every image in a folder (local or Ray), with resume.")
@click.argument("in_dir", metavar="IN_DIR", type=click.Path(path_type=Path))
@click.argument("out_dir", metavar="OUT_DIR", type=click.Path(path_type=Path))
@click.option("-i", "--instruction", help="What to do, in plain English.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--resume", is_flag=True, help="Skip images already restored in OUT_DIR.")
@common_options
def batch(in_dir: Path, out_dir: Path, instruction: str | None, engine: str, resume: bool) -> None:
    """Restore every image in IN_DIR into OUT_DIR."""
    del in_dir, out_dir, instruction, engine, resume
    raise NotAvailableError("batch restoration is not available yet")
