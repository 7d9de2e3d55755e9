"""Limits on Gradio's upload route, the one door through which a visitor's bytes reach the disk.

Gradio answers ``POST /gradio_api/upload`` for anyone who can open the page (with ``--auth``,
anyone logged in): it stores each file in its upload folder, tied to no session, and its own
sweep deletes it an hour later. :class:`UploadGuard`, an ASGI middleware in front of that route,
adds restora's limits (docs/web.md, "Uploads"):

- the bytes held by all uploads together (HTTP 413) and by one client address (HTTP 429):
  checked against the request's declared length before any byte is read, then counted as the
  bytes arrive, so an upload that lies about its length is cut off where it crosses a limit;
- upload requests per client address and minute (HTTP 429, with ``Retry-After``);
- images only (HTTP 415): the first file's name and first bytes are checked before Gradio
  stores anything, and every stored file again before the upload is answered (a refused file is
  deleted at once);
- :meth:`UploadLedger.sweep` deletes uploads that no open page has used a short while after
  they arrived, and the partial files of uploads that broke off.

Nothing here imports Gradio: the ledger is told how to ask whether an open page holds a file and
how to delete one (:class:`restora.web.app.RestoraPage` answers both).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from restora.web.serving import (
    DEFAULT_MAX_CLIENT_MB,
    DEFAULT_MAX_STORAGE_MB,
    DEFAULT_UPLOADS_PER_MINUTE,
    UNCLAIMED_UPLOAD_SECONDS,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_ROUTE = "/gradio_api/upload"
"""Gradio's upload route (Gradio >= 5), under whatever root the app is served from."""

MEGABYTE = 1024 * 1024
RATE_WINDOW_SECONDS = 60.0
PEEK_LIMIT = 64 * 1024
"""The most of a request's beginning read to find its first file's name and first bytes."""
HEAD_BYTES = 12

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".bmp", ".dib", ".webp"}
)
"""File name extensions of the formats the page takes (PNG, JPEG, TIFF, BMP, WebP)."""


def image_format(name: str, head: bytes) -> str | None:
    """The format of a file named ``name`` whose first bytes are ``head`` when both the name's
    extension and the bytes say PNG, JPEG, TIFF, BMP or WebP (either may be the other of
    these); None otherwise. The decoder checks the rest when the page opens the file."""
    if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


def not_an_image(name: str) -> str:
    return f"{name}: not a recognised image file (upload a PNG, JPEG, TIFF, BMP or WebP file)"


_FILENAME = re.compile(rb'filename\*?=(?:"([^"]*)"|([^;\r\n]*))', re.IGNORECASE)
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)


def multipart_boundary(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` content type, None for any other."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    match = _BOUNDARY.search(content_type)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).encode("latin-1")


def first_file(head: bytes, boundary: bytes) -> tuple[str, bytes] | None:
    """(name, first bytes) of the first file in a multipart body that begins with ``head``; None
    while ``head`` is too short to tell (or holds no file)."""
    delimiter = b"--" + boundary
    position = head.find(delimiter)
    while position >= 0:
        start = position + len(delimiter)
        if head[start : start + 2] == b"--":  # the body's end
            return None
        headers_end = head.find(b"\r\n\r\n", start)
        if headers_end < 0:
            return None
        content = headers_end + 4
        following = head.find(b"\r\n" + delimiter, content)
        match = _FILENAME.search(head[start:headers_end])
        if match is None:  # a form field, not a file
            position = following + 2 if following >= 0 else -1
            continue
        raw = match.group(1) if match.group(1) is not None else match.group(2).strip()
        if raw.lower().startswith(b"utf-8''"):  # RFC 5987 (filename*=UTF-8''name)
            raw = raw[7:]
        name = raw.decode("utf-8", errors="replace")
        if following < 0 and len(head) - content < HEAD_BYTES:
            return None
        end = following if following >= 0 else content + HEAD_BYTES
        return name, head[content:end][:HEAD_BYTES]
    return None


def _megabytes(size: float) -> str:
    return f"{size / MEGABYTE:.3g} MB"


@dataclass(frozen=True)
class UploadLimits:
    """The upload limits of one server (bytes, requests per minute, seconds)."""

    max_storage_bytes: int = int(DEFAULT_MAX_STORAGE_MB * MEGABYTE)
    max_client_bytes: int = int(DEFAULT_MAX_CLIENT_MB * MEGABYTE)
    uploads_per_minute: int = DEFAULT_UPLOADS_PER_MINUTE
    unclaimed_seconds: float = UNCLAIMED_UPLOAD_SECONDS

    @classmethod
    def from_megabytes(
        cls, max_storage_mb: float, max_client_mb: float, uploads_per_minute: int
    ) -> UploadLimits:
        return cls(
            max_storage_bytes=int(max_storage_mb * MEGABYTE),
            max_client_bytes=int(max_client_mb * MEGABYTE),
            uploads_per_minute=int(uploads_per_minute),
        )


class Refusal(NamedTuple):
    """An HTTP answer instead of the upload."""

    status: int
    message: str
    retry_after: int | None = None


@dataclass
class _Charge:
    client: str
    size: int
    since: float
    broken: bool = False  # the upload broke off: its partial file may be on disk until swept


class UploadLedger:
    """What each client has uploaded and is uploading, the limits' decisions, and the sweep.

    ``in_use(path)`` says whether an open page holds the upload; ``delete(path)`` deletes one
    (by default the file and its folder when empty). ``clock`` is wall-clock seconds (the sweep
    compares it with files' modification times)."""

    def __init__(
        self,
        limits: UploadLimits,
        root: str | Path,
        in_use: Callable[[Path], bool] | None = None,
        delete: Callable[[Path], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits
        self.root = Path(root)
        self._in_use = in_use or (lambda path: False)
        self._delete = delete or _delete_file
        self._clock = clock
        self.started = clock()
        self._lock = threading.Lock()
        self._tickets = itertools.count(1)
        self._held: dict[str, _Charge] = {}  # stored uploads, by real path
        self._pending: dict[int, _Charge] = {}  # uploads arriving, and broken off ones
        self._attempts: dict[str, deque[float]] = {}

    # ------------------------------------------------------------------------------- accounting

    def _forget_deleted(self) -> None:
        """Forget stored uploads deleted meanwhile (a closed page, Gradio's own sweep). Under
        the lock."""
        for key in [key for key in self._held if not os.path.exists(key)]:
            del self._held[key]

    def _usage(self, client: str) -> tuple[int, int]:
        """Bytes held (stored, arriving, broken off) by everyone, and by ``client``. Under the
        lock."""
        total = mine = 0
        for charge in itertools.chain(self._held.values(), self._pending.values()):
            total += charge.size
            if charge.client == client:
                mine += charge.size
        return total, mine

    def usage(self, client: str = "") -> tuple[int, int]:
        """Bytes held by everyone, and by ``client``."""
        with self._lock:
            self._forget_deleted()
            return self._usage(client)

    def _over(self, client: str, extra: int) -> Refusal | None:
        limits = self.limits
        if extra > limits.max_storage_bytes:
            return Refusal(
                413,
                f"this upload ({_megabytes(extra)}) is larger than the server's room for uploads "
                f"({_megabytes(limits.max_storage_bytes)})",
            )
        total, used = self._usage(client)
        if total + extra > limits.max_storage_bytes:
            return Refusal(
                413,
                f"the server holds as many uploads as it may "
                f"({_megabytes(limits.max_storage_bytes)}); try again in a few minutes",
                retry_after=int(limits.unclaimed_seconds),
            )
        if used + extra > limits.max_client_bytes:
            return Refusal(
                429,
                f"your uploads on this server would take more than the "
                f"{_megabytes(limits.max_client_bytes)} one address may hold; close pages you "
                "no longer use, or try again in a few minutes",
                retry_after=int(limits.unclaimed_seconds),
            )
        return None

    def admit(self, client: str, length: int | None) -> int | Refusal:
        """A ticket for an upload of ``length`` bytes (None: not declared) from ``client``, or
        the refusal: too many uploads this minute, or too many bytes."""
        now = self._clock()
        with self._lock:
            attempts = self._attempts.setdefault(client, deque())
            while attempts and now - attempts[0] >= RATE_WINDOW_SECONDS:
                attempts.popleft()
            if len(attempts) >= self.limits.uploads_per_minute:
                wait = math.ceil(RATE_WINDOW_SECONDS - (now - attempts[0]))
                return Refusal(
                    429,
                    f"too many uploads from your address (at most "
                    f"{self.limits.uploads_per_minute} a minute); try again in {wait} s",
                    retry_after=max(wait, 1),
                )
            attempts.append(now)
            self._forget_deleted()
            refusal = self._over(client, length or 0)
            if refusal is not None:
                return refusal
            ticket = next(self._tickets)
            self._pending[ticket] = _Charge(client, 0, now)
            return ticket

    def arrived(self, ticket: int, size: int) -> Refusal | None:
        """Count ``size`` more bytes of the upload; the refusal once it crosses a limit."""
        with self._lock:
            charge = self._pending.get(ticket)
            if charge is None:
                return None
            charge.size += size
            return self._over(charge.client, 0)

    def stored(self, ticket: int, paths: Iterable[Path]) -> None:
        """The upload is on disk as ``paths``: they are held by its client from now."""
        now = self._clock()
        with self._lock:
            charge = self._pending.pop(ticket, None)
            client = charge.client if charge is not None else "unknown"
            for path in paths:
                try:
                    size = path.stat().st_size
                except OSError:
                    continue
                self._held[os.path.realpath(path)] = _Charge(client, size, now)

    def release(self, ticket: int) -> None:
        """The upload ended and Gradio kept nothing of it."""
        with self._lock:
            self._pending.pop(ticket, None)

    def broke_off(self, ticket: int) -> None:
        """The upload ended half-way: Gradio may have left its partial file, which counts
        until the sweep deletes it."""
        with self._lock:
            charge = self._pending.get(ticket)
            if charge is not None:
                charge.broken = True
                charge.since = self._clock()

    # ------------------------------------------------------------------------------------ sweep

    def sweep(self, now: float | None = None) -> list[Path]:
        """Delete the uploads that no open page holds ``unclaimed_seconds`` after they arrived,
        and Gradio's partial files (``tmp*`` in the upload folder, from this server's life)
        untouched for as long; returns the uploads deleted."""
        now = self._clock() if now is None else now
        age = self.limits.unclaimed_seconds
        with self._lock:
            held = list(self._held.items())
        deleted = []
        for key, charge in held:
            path = Path(key)
            if now - charge.since < age or self._in_use(path):
                continue
            self._delete(path)
            deleted.append(path)
            with self._lock:
                self._held.pop(key, None)
        for partial in self._partial_files():
            try:
                modified = partial.stat().st_mtime
                if modified >= self.started - 1 and now - modified >= age:
                    partial.unlink()
            except OSError:
                continue
        with self._lock:
            for ticket, charge in list(self._pending.items()):
                if charge.broken and now - charge.since >= age:
                    del self._pending[ticket]
            for client, attempts in list(self._attempts.items()):
                if not attempts or now - attempts[-1] >= RATE_WINDOW_SECONDS:
                    del self._attempts[client]
        return deleted

    def _partial_files(self) -> list[Path]:
        """Gradio's temporary files of uploads (NamedTemporaryFile in the upload folder)."""
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        return [
            Path(entry.path)
            for entry in entries
            if entry.name.startswith("tmp") and entry.is_file(follow_symlinks=False)
        ]

    def discard(self, path: Path) -> None:
        """Delete a stored upload now (one that is not an image)."""
        self._delete(path)
        with self._lock:
            self._held.pop(os.path.realpath(path), None)

    def forget_all(self) -> list[Path]:
        """Every stored upload this server still counts (at shutdown), and forget them."""
        with self._lock:
            paths = [Path(key) for key in self._held]
            self._held.clear()
            self._pending.clear()
        return paths


def _delete_file(path: Path) -> None:
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # only when empty


class _Refused(Exception):
    """Raised into Gradio's reading of an upload that crossed a limit while it arrived."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


async def _answer(send: Send, refusal: Refusal) -> None:
    body = refusal.message.encode("utf-8")
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if refusal.retry_after is not None:
        headers.append((b"retry-after", str(refusal.retry_after).encode()))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class UploadGuard:
    """ASGI middleware: the :class:`UploadLedger`'s limits on ``POST .../gradio_api/upload``;
    every other request passes untouched."""

    def __init__(self, app: ASGIApp, ledger: UploadLedger) -> None:
        self.app = app
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope.get("type") != "http"
            or scope.get("method") != "POST"
            or not path.rstrip("/").endswith(UPLOAD_ROUTE)
        ):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0] or "unknown"
        declared = _header(scope, b"content-length")
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            length = None
        if length is not None and length < 0:
            length = None
        ledger = self.ledger
        admitted = ledger.admit(client, length)
        if isinstance(admitted, Refusal):
            await _answer(send, admitted)
            return
        ticket = admitted

        # Read the beginning, up to the first file's first bytes, before Gradio stores anything.
        early: list[Message] = []
        boundary = multipart_boundary(_header(scope, b"content-type") or "")
        head = b""
        found = None
        while boundary is not None:
            message = await receive()
            early.append(message)
            if message.get("type") != "http.request":
                break
            chunk = bytes(message.get("body", b""))
            over = ledger.arrived(ticket, len(chunk))
            if over is not None:
                ledger.release(ticket)  # nothing reached Gradio
                await _answer(send, over)
                return
            head += chunk[: max(PEEK_LIMIT - len(head), 0)]
            found = first_file(head, boundary)
            if found is not None or not message.get("more_body") or len(head) >= PEEK_LIMIT:
                break
        if found is not None and image_format(*found) is None:
            ledger.release(ticket)
            await _answer(send, Refusal(415, not_an_image(Path(found[0]).name)))
            return

        async def counted() -> Message:
            if early:
                return early.pop(0)
            message = await receive()
            if message.get("type") == "http.request":
                over = ledger.arrived(ticket, len(message.get("body", b"")))
                if over is not None:
                    raise _Refused(over)
            return message

        response: list[Message] = []

        async def hold(message: Message) -> None:
            response.append(message)

        try:
            await self.app(scope, counted, hold)
        except _Refused as refused:
            ledger.broke_off(ticket)
            if not response:
                await _answer(send, refused.refusal)
            for message in response:  # Gradio had answered already
                await send(message)
            return
        except BaseException:
            ledger.broke_off(ticket)
            raise
        await self._answer_upload(ticket, response, send)

    async def _answer_upload(self, ticket: int, response: list[Message], send: Send) -> None:
        """Pass Gradio's answer on; a success only once every stored file is an image."""
        ledger = self.ledger
        start = next((m for m in response if m.get("type") == "http.response.start"), None)
        if start is None or start.get("status") != 200:
            ledger.release(ticket)
            for message in response:
                await send(message)
            return
        body = b"".join(bytes(m.get("body", b"")) for m in response if m is not start)
        try:
            paths = [Path(str(p)) for p in json.loads(body)]
        except (ValueError, TypeError):
            paths = []
        refused = []
        for path in paths:
            try:
                with path.open("rb") as stored:
                    head = stored.read(HEAD_BYTES)
            except OSError:
                continue
            if image_format(path.name, head) is None:
                refused.append(path)
        for path in refused:
            ledger.discard(path)
        ledger.stored(ticket, [p for p in paths if p not in refused])
        if refused:
            await _answer(send, Refusal(415, not_an_image(refused[0].name)))
            return
        for message in response:
            await send(message)
