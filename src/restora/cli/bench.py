"""``restora bench``: benchmarks on the public test sets, anchors side by side."""

from __future__ import annotations

from pathlib import Path

import click

from restora.cli._common import common_options
from restora.errors import NotAvailableError
from restora.vocabulary import TASKS


@click.command(short_help="Benchmark experts on public test sets against published anchors.")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Data folder (default ../shared/data or RESTORA_DATA).",
)
@click.option(
    "--task",
    "tasks",
    multiple=True,
    help=f"Task to benchmark (repeatable): {', '.join(TASKS)}, ...",
)
@click.option("--quick", is_flag=True, help="A small subset that runs in a few minutes.")
@common_options
def bench(data: Path | None, tasks: tuple[str, ...], quick: bool) -> None:
    """Run the benchmark harness and write Markdown and JSON tables."""
    del data, tasks, quick
    raise NotAvailableError("the benchmark harness is not available yet")
