"""The batch manifest: one JSON line per finished file, appended and fsynced as files finish.

The first line is a header with the job's settings; every later line is a summary row
(``status`` done or failed). A row is appended only after its output file has been written
(atomically), so "done in the manifest" implies "complete output on disk". After a crash or
Ctrl-C, ``--resume`` skips the files whose latest row is done and redoes the rest (failed ones
and the ones that were running); an output written just before a kill but not yet recorded is
simply written again. A line cut short by a kill is dropped when the manifest is reopened.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from restora.errors import InputError

FORMAT = "restora-batch-manifest/1"


class Manifest:
    """An append-only JSONL file of rows keyed by ``file``; the latest row of a file wins."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.header: dict[str, Any] | None = None
        self.rows: dict[str, dict[str, Any]] = {}
        self._handle: Any = None
        self._complete = 0
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        raw = self.path.read_bytes()
        complete = raw.rfind(b"\n") + 1
        for number, line in enumerate(raw[:complete].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise InputError(f"{self.path}:{number}: not a batch manifest line") from None
            if record.get("kind") == "header":
                self.header = record
            elif "file" in record:
                self.rows[record["file"]] = record
        self._complete = complete

    @property
    def done(self) -> set[str]:
        return {f for f, row in self.rows.items() if row.get("status") == "done"}

    def open(self, header: dict[str, Any]) -> None:
        """Start appending (holding an exclusive lock, so two runs never share a manifest);
        writes the header when the manifest is new."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
        try:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: no lock
            pass
        except OSError:
            handle.close()
            raise InputError(
                f"{self.path}: another restora batch is writing this manifest; wait for it or "
                "use another OUT_DIR"
            ) from None
        self.header, self.rows = None, {}
        self._read()  # what is on disk now that nobody else writes
        if self.path.stat().st_size > self._complete:
            # a kill in the middle of an append: drop the partial line so the next append
            # starts on a fresh line (only here: reading must never change the file)
            os.truncate(self.path, self._complete)
            os.fsync(handle.fileno())
        self._handle = handle
        if self.header is None:
            self.header = {"kind": "header", "format": FORMAT, **header}
            self._write(self.header)

    def _write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def append(self, row: dict[str, Any]) -> None:
        """Record a finished file (durably: flushed and fsynced before returning)."""
        if self._handle is None:
            raise RuntimeError("Manifest.open() first")
        self._write(row)
        self.rows[row["file"]] = row

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
