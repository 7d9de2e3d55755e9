"""Reading inputs and writing outputs under a root that is a local folder or a pyarrow URI.

Local roots go through :func:`restora.io.load`/:func:`restora.io.save` (atomic write through a
temporary file and a rename, never the input). Remote roots (``s3://``, ``gs://``, ``hdfs://``,
anything :func:`pyarrow.fs.FileSystem.from_uri` opens) are read into a temporary local file, so
decoding is the same code (EXIF orientation, 16-bit, ICC), and written as the same PNG bytes in
one ``open_output_stream`` (an object store publishes an object only when it is closed).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from restora.errors import OutputError
from restora.io import TEMPORARY_NAME, open_files


def is_uri(location: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` locations (S3, GCS, HDFS, ...), read through pyarrow."""
    return "://" in str(location) and not str(location).startswith("file://")


def local_path(location: str | os.PathLike[str]) -> Path:
    text = str(location)
    return Path(text.removeprefix("file://"))


def filesystem_for(uri: str) -> tuple[Any, str]:
    """(pyarrow FileSystem, path inside it without a trailing slash) for a ``scheme://`` URI."""
    from pyarrow import fs as pafs

    filesystem, base = pafs.FileSystem.from_uri(uri)
    return filesystem, base.rstrip("/")


def read_image(root: str, rel: str, max_pixels: int | None = None) -> Any:
    """The :class:`restora.Image` at ``root/rel``."""
    from restora.io import load

    if not is_uri(root):
        return load(local_path(root) / rel, max_pixels=max_pixels)
    filesystem, base = filesystem_for(root)
    with filesystem.open_input_stream(f"{base}/{rel}") as stream:
        data = stream.read()
    suffix = PurePosixPath(rel).suffix
    with tempfile.TemporaryDirectory(prefix="restora-batch-") as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        return load(path, max_pixels=max_pixels)


def write_image(image: Any, root: str, rel: str, *, overwrite: bool, source: Any = None) -> str:
    """Write ``image`` as PNG to ``root/rel``; the location written."""
    from restora.io import encode, save

    if not is_uri(root):
        target = local_path(root) / rel
        inputs = [source.meta.path] if source is not None and source.meta.path else []
        save(image, target, overwrite=overwrite, inputs=inputs)
        return str(target)
    filesystem, base = filesystem_for(root)
    location = f"{base}/{rel}"
    if not overwrite:
        from pyarrow import fs as pafs

        if filesystem.get_file_info(location).type != pafs.FileType.NotFound:
            raise OutputError(f"{root}/{rel}: already exists (use --overwrite to replace it)")
    data = encode(image, "PNG")
    filesystem.create_dir(location.rpartition("/")[0], recursive=True)
    with filesystem.open_output_stream(location) as stream:
        stream.write(data)
    return f"{root.rstrip('/')}/{rel}"


def write_text(root: str, name: str, text: str) -> str:
    """Write a small text file (summaries) atomically under ``root``."""
    from restora.io import write_bytes_atomic

    if not is_uri(root):
        return str(write_bytes_atomic(local_path(root) / name, text.encode(), overwrite=True))
    filesystem, base = filesystem_for(root)
    with filesystem.open_output_stream(f"{base}/{name}") as stream:
        stream.write(text.encode())
    return f"{root.rstrip('/')}/{name}"


def check_writable(location: str | os.PathLike[str], what: str = "OUT_DIR") -> None:
    """Refuse, before any work, a local folder in which no file can be written (read-only,
    not a folder, or a full disk): one line ``... OUT_DIR is not writable (why)``, exit 2.

    The folder need not exist yet: its nearest existing parent is probed, by writing a small
    file there and removing it (``os.access`` is wrong for root and read-only mounts)."""
    if is_uri(location):
        return
    folder = local_path(location).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{location}: {what} is not writable ({folder} is not a folder)")
    try:
        fd, name = tempfile.mkstemp(prefix=".restora-probe-", dir=folder)
    except OSError as exc:
        raise OutputError(f"{location}: {what} is not writable ({_reason(exc)})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"\0" * PROBE_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise OutputError(f"{location}: {what} is not writable ({_reason(exc)})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


PROBE_BYTES = 64 * 1024
"""What the writability probe writes: a full disk refuses it, where an empty file may pass."""


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the device"
    return exc.strerror or type(exc).__name__


def existing(root: str, names: Iterable[str]) -> list[str]:
    """Those of ``names`` (relative to ``root``) that already exist there, in the given order."""
    names = list(names)
    if not is_uri(root):
        base = local_path(root)
        return [name for name in names if os.path.lexists(base / name)]
    from pyarrow import fs as pafs

    filesystem, base_path = filesystem_for(root)
    infos = filesystem.get_file_info([f"{base_path}/{name}" for name in names])
    return [
        name for name, info in zip(names, infos, strict=True) if info.type != pafs.FileType.NotFound
    ]


def sweep_partial_writes(root: str, outputs: Iterable[str]) -> int:
    """Remove temporary files a killed write left next to ``outputs``; how many were removed.

    :func:`restora.io.write_bytes_atomic` writes ``.{name}.XXXXXXXX.tmp`` and renames it; a
    SIGKILL between the two leaves the temporary file. Only that pattern, only for the names in
    ``outputs`` (paths relative to ``root``), only regular files (never a link), and only ones
    no process holds open (where /proc tells) are removed: nothing else in the folder is
    touched. Call it while holding the run's manifest lock, so no other batch run on this
    manifest is writing there."""
    if is_uri(root):
        return 0
    base = local_path(root)
    by_folder: dict[Path, set[str]] = {}
    for rel in outputs:
        path = base / rel
        by_folder.setdefault(path.parent, set()).add(path.name)
    candidates: list[str] = []
    for folder, names in by_folder.items():
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            match = TEMPORARY_NAME.fullmatch(entry.name)
            if match and match["name"] in names and entry.is_file(follow_symlinks=False):
                candidates.append(os.path.abspath(entry.path))
    if not candidates:
        return 0
    in_use = open_files()
    removed = 0
    for candidate in candidates:
        if candidate in in_use or os.path.realpath(candidate) in in_use:
            continue
        with contextlib.suppress(OSError):
            os.unlink(candidate)
            removed += 1
    return removed
