"""Writing measured tables into BENCHMARKS.md, and naming the machine they were measured on."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from restora.paths import PACKAGE_DIR

BENCHMARKS_MD = PACKAGE_DIR.parents[1] / "BENCHMARKS.md"
"""BENCHMARKS.md of the source checkout (the benchmark commands run from a checkout)."""


def read_section(section: str, path: Path | None = None) -> str | None:
    """The text between a section's markers, or None when the file or markers are missing."""
    target = Path(path) if path is not None else BENCHMARKS_MD
    if not target.is_file():
        return None
    text = target.read_text(encoding="utf-8")
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    if begin not in text or end not in text:
        return None
    return text.partition(begin)[2].partition(end)[0]


def write_section(section: str, body: str, path: Path | None = None) -> Path:
    """Replace the text between ``<!-- BEGIN section -->`` and ``<!-- END section -->``.

    The file is rewritten atomically; a missing section is appended with its markers.
    """
    from restora.io import write_bytes_atomic

    target = Path(path) if path is not None else BENCHMARKS_MD
    text = target.read_text(encoding="utf-8") if target.exists() else "# restora benchmarks\n"
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    body = body if body.endswith("\n") else body + "\n"
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = f"{head}{begin}\n{body}{end}{tail}"
    else:
        text = f"{text.rstrip()}\n\n{begin}\n{body}{end}\n"
    write_bytes_atomic(target, text.encode("utf-8"), overwrite=True)
    return target


def machine_description() -> str:
    """One line naming the machine: CPU model, cores, memory, torch version and device."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import torch

        accel = f"CUDA {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"
        torch_part = f", torch {torch.__version__}, {accel}"
    except ImportError:  # pragma: no cover
        torch_part = ""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores{memory}{torch_part}"
