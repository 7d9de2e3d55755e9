"""A per-file worker function that kills its own process on files whose name contains "crash":
the batch engine's crash-isolation test runs it in spawned workers, which import it from here."""

from __future__ import annotations

import os
from typing import Any

from restora.batch.local import _process_in_worker


def crash_on_marked(
    file: str, output: str, in_root: str, out_root: str, overwrite: bool
) -> dict[str, Any]:
    if "crash" in file:
        os._exit(3)  # as an out-of-memory kill would: no exception, no cleanup
    return _process_in_worker(file, output, in_root, out_root, overwrite)
