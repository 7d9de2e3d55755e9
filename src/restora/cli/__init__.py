"""The ``restora`` command line: a thin layer over the Python API.

Each command lives in its own module under ``restora.cli`` and is imported only when it is
run or listed, so ``restora --help`` stays fast and a broken optional dependency of one command
cannot take the others down. Exit codes: 0 success, 2 bad input or usage (one line on stderr),
1 internal error (one line; the traceback with ``-v``).
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import sys
from typing import Any

import click

from restora import __version__
from restora.errors import RestoraError

# name -> "module:function" (module relative to restora.cli); the order is the help order.
COMMANDS: dict[str, str] = {
    "restore": "restore:restore",
    "analyze": "analyze:analyze",
    "assess": "assess:assess",
    "parse": "parse:parse",
    "degrade": "degrade:degrade",
    "experts": "experts:experts",
    "models": "models:models",
    "bench": "bench:bench",
    "batch": "batch:batch",
    "serve": "serve:serve",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use (see STYLE.md, rule 1)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"restora.cli.{module_name}")
        command: click.Command = getattr(module, attr)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            raise click.UsageError(
                f"no such command {name!r}; commands: {', '.join(COMMANDS)}", ctx
            )
        return super().resolve_command(ctx, args)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="restora")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default=None,
    help="Where learned models run (default auto: CUDA when torch sees a GPU).",
)
def cli(verbose: int, device: str | None) -> None:
    """restora: language-driven, degradation-aware image restoration with quality assessment.

    Give it a damaged photo and, if you like, an instruction in plain English; it finds what is
    wrong, runs the right restoration experts, checks every step with quality assessment and
    reports what it did. Everything runs offline; a GPU is used when there is one.
    """
    from restora.cli._common import configure

    configure(verbose=verbose, device=device)


def _verbose_requested(argv: list[str]) -> bool:
    return any(a in ("-v", "-vv", "--verbose") for a in argv) or bool(
        os.environ.get("RESTORA_DEBUG")
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``restora`` console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        result: Any = cli.main(args=args, prog_name="restora", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("restora: aborted", err=True)
        return 130
    except click.ClickException as exc:  # usage errors, bad option values, missing arguments
        click.echo(f"restora: error: {_one_line(exc.format_message())}", err=True)
        return 2
    except RestoraError as exc:
        if _verbose_requested(args):
            logging.getLogger("restora").exception("details")
        click.echo(f"restora: error: {_one_line(str(exc))}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("restora: interrupted", err=True)
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. piped to head): not an error worth a traceback
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.errno not in _USER_OS_ERRORS:
            return _internal_error(exc, args)
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"restora: error: {exc.strerror or exc}{where}", err=True)
        return 2
    except MemoryError:
        click.echo(
            "restora: error: out of memory (try a smaller --tile or a smaller image)", err=True
        )
        return 1
    except Exception as exc:
        return _internal_error(exc, args)


_USER_OS_ERRORS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG}
)
"""Operating-system errors the user can fix (disk full, read-only or forbidden folder, a file
name too long): one line and exit 2, like any other bad output location."""


def _internal_error(exc: BaseException, args: list[str]) -> int:
    if _verbose_requested(args):
        import traceback

        traceback.print_exc()
    click.echo(
        f"restora: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
        "(run with -v for the traceback)",
        err=True,
    )
    return 1


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "unknown error"


def run() -> None:  # pragma: no cover - used by `python -m restora`
    sys.exit(main())
