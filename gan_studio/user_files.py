"""Reading the user's own files (datasets, configs) safely: regular files only, never blocking, bounded.

A FIFO, socket or device named `x.png` (or given as a dataset or config file) would make a plain
`open()` block forever or read without end. The user's paths may be symlinks (followed, unlike in a
run folder), but what they point to must be a regular file; everything is opened through
`gan_studio.files.open_regular_fd` and read at most a stated number of bytes. Torch-free.
"""

from __future__ import annotations

import errno
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from gan_studio.errors import DataError, shorten
from gan_studio.files import RefusedFile, describe_kind, open_regular_fd

__all__ = ["RefusedFile", "describe_kind", "open_regular_fd", "os_reason", "stat_path", "open_user_file",
           "read_user_file", "content_stamp"]  # fmt: skip


def os_reason(exc: OSError) -> str:
    """A short reason for an OSError ('symlink loop', 'file name too long', ...)."""
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop)"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return exc.strerror or type(exc).__name__


def stat_path(path: str | Path, what: str = "file") -> os.stat_result:
    """os.stat (following symlinks) with every OSError turned into a DataError naming the path."""
    shown = shorten(path, 300)
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise DataError(f"no such {what}: '{shown}'") from None
    except OSError as exc:
        raise DataError(f"cannot access the {what} '{shown}': {os_reason(exc)}") from None
    except ValueError as exc:  # an embedded NUL byte
        raise DataError(f"invalid {what} {shorten(repr(str(path)), 300)} ({exc})") from None


def open_user_file(path: str | Path, what: str = "file") -> BinaryIO:
    """The regular file `path` opened for binary reading; anything else is a DataError naming it."""
    try:
        return os.fdopen(open_regular_fd(path), "rb")
    except RefusedFile as exc:
        raise DataError(str(exc), shorten(path, 300)) from None
    except FileNotFoundError:
        raise DataError(f"no such {what}", shorten(path, 300)) from None
    except OSError as exc:
        raise DataError(f"cannot read this {what}: {os_reason(exc)}", shorten(path, 300)) from None


def read_user_file(path: str | Path, limit: int, check_start: Callable[[bytes], None] | None = None) -> bytes:
    """The whole content of the regular file `path`, refused (RefusedFile) when larger than `limit` bytes.

    `check_start`, when given, sees the first 64 bytes before the rest is read and raises when they
    cannot begin such a file: a big file of the wrong kind is refused without reading all of it.
    """
    fd = open_regular_fd(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise RefusedFile(f"file is too large ({size:,} bytes; at most {limit:,})")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            if check_start is not None:
                check_start(fh.read(64))
                fh.seek(0)
            data = fh.read(size + 1)  # read(n) reserves n bytes up front: the file's size, not the limit
        if len(data) > limit:
            raise RefusedFile(f"file is too large (more than {limit:,} bytes)")
        return data
    finally:
        os.close(fd)


def content_stamp(path: str | Path) -> tuple[str, int, int]:
    """(path, size, CRC-32 of the content) of a regular file: what identifies it for a cache key."""
    crc, size = 0, 0
    with open_user_file(path) as fh:
        while chunk := fh.read(8 * 2**20):
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
    return str(path), size, crc
