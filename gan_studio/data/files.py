"""Opening the user's data files safely: regular files only, never blocking, never written.

A FIFO, socket or device named `x.png` (or given as a dataset or config file) would make a plain
`open()` block forever or read without end. Everything here stats first, opens with O_NONBLOCK
(and checks the opened descriptor again, so a file swapped in between is caught too) and reads at
most a stated number of bytes. Files are only ever opened for reading. Torch-free.
"""

from __future__ import annotations

import errno
import os
import stat
import zlib
from pathlib import Path
from typing import BinaryIO

from gan_studio.errors import DataError, shorten

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


class RefusedFile(Exception):
    """A file refused before reading: not a regular file, or larger than allowed (the message says which)."""


def kind_of(mode: int) -> str:
    """What a stat mode describes, for a message ('a FIFO (named pipe)')."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


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


def open_regular_fd(path: str | Path) -> int:
    """A read-only descriptor of the regular file `path`; RefusedFile or OSError otherwise. Never blocks."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    before = os.stat(path)
    if not stat.S_ISREG(before.st_mode):
        raise RefusedFile(f"not a regular file: it is {kind_of(before.st_mode)}")
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise RefusedFile(f"not a regular file: it is {kind_of(mode)}")
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)  # reads of a regular file never block; plain blocking reads from here on
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular(path: str | Path, what: str = "file") -> BinaryIO:
    """The regular file `path` opened for binary reading; anything else is a DataError naming it."""
    try:
        return os.fdopen(open_regular_fd(path), "rb")
    except RefusedFile as exc:
        raise DataError(str(exc), shorten(path, 300)) from None
    except FileNotFoundError:
        raise DataError(f"no such {what}", shorten(path, 300)) from None
    except OSError as exc:
        raise DataError(f"cannot read this {what}: {os_reason(exc)}", shorten(path, 300)) from None


def read_regular(path: str | Path, limit: int) -> bytes:
    """The whole content of the regular file `path`, refused (RefusedFile) when larger than `limit` bytes."""
    fd = open_regular_fd(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise RefusedFile(f"file is too large ({size:,} bytes; at most {limit:,})")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise RefusedFile(f"file is too large (more than {limit:,} bytes)")
        return data
    finally:
        os.close(fd)


def content_stamp(path: str | Path) -> tuple[str, int, int]:
    """(path, size, CRC-32 of the content) of a regular file: what identifies it for a cache key."""
    crc, size = 0, 0
    with open_regular(path) as fh:
        while chunk := fh.read(8 * 2**20):
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
    return str(path), size, crc
