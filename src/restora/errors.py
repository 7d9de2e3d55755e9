"""The project's own exceptions.

Every error a user can cause (a bad path, a broken file, a wrong option value) is a
:class:`RestoraError`. The command line turns it into one line on stderr and exit code 2;
anything else is an internal error (exit code 1).
"""

from __future__ import annotations


class RestoraError(Exception):
    """An error caused by the input or the request, not by a bug: exit code 2 on the CLI."""

    exit_code = 2


class InputError(RestoraError):
    """The input path is missing, not a file, empty or unreadable."""


class UnsupportedFormatError(InputError):
    """The file is readable but not an image format restora supports."""


class CorruptImageError(InputError):
    """The file claims to be an image but cannot be decoded (truncated, random bytes...)."""


class ImageTooLargeError(InputError):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class InvalidValueError(RestoraError, ValueError):
    """A value given to a function is out of its range or of the wrong kind (a severity of NaN,
    an image too small for the operation, a parameter that is not a number). It is also a
    ValueError, so code that catches ValueError keeps working."""


class OutputError(RestoraError):
    """The output cannot be written: it exists, it is the input, or the folder is not writable."""


class NotAvailableError(RestoraError):
    """The requested engine, expert or backend does not exist (yet) or is not installed."""


class UnknownNameError(RestoraError, KeyError):
    """A name looked up in a registry does not exist; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        self.kind, self.name, self.valid = kind, name, list(valid)
        super().__init__(f"unknown {kind} {name!r}; choose one of: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])
