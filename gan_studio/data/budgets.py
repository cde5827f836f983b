"""Limits on what a dataset may make GAN Studio allocate, checked before the allocation happens.

A small file can declare (or decompress to) gigabytes: every loader checks the size it is about to
allocate against these budgets first and refuses with a DataError naming the file. Torch-free, so
the decoding worker processes can use it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gan_studio.errors import DataError, shorten

MAX_CLASSES = 10_000  # class labels 0..9,999
MAX_CLASS_NAME_CHARS = 256  # a folder name cannot be longer on common file systems
MAX_IMAGE_PIXELS = 50_000_000  # one image file (width x height): a 50-megapixel photo; training sizes are far smaller
MAX_IMAGE_FILE_BYTES = 256 * 2**20  # one image file, compressed
MAX_FILES = 20_000_000  # image files in one folder or archive
MEMORY_FRACTION = 0.75  # share of the available memory one dataset may take
CHUNK_BYTES = 64 * 2**20  # source pixels fitted at a time (their float copy is 4x that): memory bound, not rows
DECODE_WORKER_BYTES = 512 * 2**20  # the most one decoding worker needs (one image at the pixel limit, and copies)
_UNKNOWN_MEMORY = 8 * 2**30  # assumed when the platform does not say


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh.read(1 << 16).decode("ascii", "replace").splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> int | None:
    """Memory left under a cgroup v2 limit (containers), or None when there is none."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((base / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        return None


def available_memory() -> int:
    """Bytes of memory this process can still use (MemAvailable, a container's limit), or a guess."""
    found = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    if found:
        return min(found)
    if sys.platform != "win32":
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            pass
    return _UNKNOWN_MEMORY


def human_bytes(n: int | float) -> str:
    """1536 -> '1.5 KB' (powers of 1024)."""
    n = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns


def check_memory(nbytes: int, what: str, path: str | Path | None = None) -> None:
    """Refuse to allocate `nbytes` for `what` when it exceeds the share of memory a dataset may use."""
    budget = int(available_memory() * MEMORY_FRACTION)
    if nbytes > budget:
        raise DataError(
            f"{what} needs {human_bytes(nbytes)} of memory, more than this machine can spare "
            f"({human_bytes(budget)} of {human_bytes(available_memory())} available)",
            path,
        )


def rows_per_chunk(row_bytes: int, most: int) -> int:
    """How many images of `row_bytes` each to fit at a time: CHUNK_BYTES of them, at least 1, at most `most`."""
    return max(1, min(most, CHUNK_BYTES // max(1, row_bytes)))


def check_class_count(largest_label: int, source: str | Path | None = None) -> None:
    """Refuse labels that would make more than MAX_CLASSES classes (before any list of names is built)."""
    if largest_label >= MAX_CLASSES:
        raise DataError(
            f"label {largest_label} is out of range: at most {MAX_CLASSES:,} classes (labels 0..{MAX_CLASSES - 1}) "
            "are supported",
            source,
        )


def check_class_names(names: list[str], source: str | Path | None = None) -> list[str]:
    """Class names as given, refused when there are too many or one is too long."""
    if len(names) > MAX_CLASSES:
        raise DataError(f"{len(names):,} classes: at most {MAX_CLASSES:,} are supported", source)
    for i, name in enumerate(names):
        if len(name) > MAX_CLASS_NAME_CHARS:
            raise DataError(f"class name {i} is {len(name):,} characters long (at most {MAX_CLASS_NAME_CHARS})", source)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name and name in seen:  # a label chosen by name (--label, the explorer) would always pick the first
            raise DataError(f"classes {seen[name]} and {i} have the same name '{shorten(name, 60)}': give each class "
                            "its own name", source)  # fmt: skip
        seen[name] = i
    return names


MAX_DECODE_WORKERS = 256  # processes; a 256-core machine is the most any user has


def decode_workers(requested: int | None = None) -> int:
    """Processes to decode images with: every core this process may use (or the number `requested`), fewer when
    memory is short (each holds a chunk of decoded images: `--workers 5000` would start 5,000 of them)."""
    by_memory = max(1, available_memory() // DECODE_WORKER_BYTES)
    if requested is not None and requested >= 1:
        return max(1, min(int(requested), by_memory, MAX_DECODE_WORKERS))
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, by_memory, MAX_DECODE_WORKERS))
