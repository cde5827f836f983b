"""Safe file primitives: the one atomic write, appends and bounded reads that never follow a symlink
or open anything but a regular file.

Every file GAN Studio writes goes through `atomic_write` (temp file beside the target, fsync, rename,
fsync of the folder) or `append_line`; every file it reads from a run folder, a dataset or a
config goes through `read_regular` / `open_regular`. A FIFO, socket or device is refused before it
is opened for reading (so nothing can hang on it), and the last path component is opened with
O_NOFOLLOW, so a symlink planted in a run folder is refused rather than followed.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from gan_studio.errors import GanStudioError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
TEMP_MARK = ".tmp-"  # temp files are named .NAME.tmp-PID-RANDOM


HARD_LINKED = "has other hard links (the same file elsewhere), which writing here would change too: refused"


class UnsafeFileError(GanStudioError):
    """A path is a symlink, a FIFO, a device or a folder where a regular file was expected."""


class DiskFullError(GanStudioError):
    """The disk filled up while writing; the file being replaced was left as it was."""

    exit_code = 1  # the command failed (as the README's "1 failed"); its input was fine


def describe_kind(mode: int) -> str:
    """What a stat mode describes, for a message ('a FIFO (named pipe)')."""
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def check_regular(path: str | Path, *, follow: bool = False) -> os.stat_result | None:
    """The stat of `path` when it is a regular file; None when it does not exist; UnsafeFileError otherwise.

    With follow=False (run folders) a symlink is refused; with follow=True (a user's own dataset or
    config path) the link is followed, but what it points to must still be a regular file.
    """
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError("is a symlink loop", path) from None
        if exc.errno == errno.ENAMETOOLONG:
            raise UnsafeFileError("the path is too long", str(path)[:200] + "…") from None
        raise UnsafeFileError(f"cannot read: {exc.strerror or exc}", path) from None
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(f"is {describe_kind(info.st_mode)}, not a regular file: refused", path)
    return info


class RefusedFile(Exception):
    """A file refused before reading: not a regular file, or larger than allowed (the message says which)."""


def open_regular_fd(path: str | Path, *, follow: bool = True) -> int:
    """A read-only descriptor of the regular file `path`; RefusedFile or OSError otherwise. Never blocks.

    The path is checked before opening and the opened descriptor again after (O_NONBLOCK, so a FIFO
    swapped in between is still refused without blocking). With follow=False a symlink is refused too.
    """
    before = os.stat(path) if follow else os.lstat(path)
    if not stat.S_ISREG(before.st_mode):
        raise RefusedFile(f"not a regular file: it is {describe_kind(before.st_mode)}")
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _BINARY | _CLOEXEC | (0 if follow else _NOFOLLOW))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise RefusedFile(f"not a regular file: it is {describe_kind(mode)}")
        if _NONBLOCK:
            os.set_blocking(fd, True)  # reads of a regular file never block; plain blocking reads from here on
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular(path: str | Path, *, follow: bool = False) -> BinaryIO:
    """Open a regular file for reading (binary); FileNotFoundError when missing; UnsafeFileError otherwise."""
    if check_regular(path, follow=follow) is None:
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    try:
        return os.fdopen(open_regular_fd(path, follow=follow), "rb")
    except RefusedFile:
        raise UnsafeFileError("is not a regular file: refused", path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError("is a symlink: refused", path) from None
        raise


def read_regular(path: str | Path, max_bytes: int | None = None, *, follow: bool = False) -> bytes:
    """The bytes of a regular file (at most max_bytes + 1, so a caller can tell "too big")."""
    with open_regular(path, follow=follow) as fh:
        return read_bounded(fh, max_bytes)


def read_bounded(fh: BinaryIO, max_bytes: int | None = None) -> bytes:
    """The rest of an open regular file, at most max_bytes + 1 bytes; memory follows the file's real size
    (a plain `read(n)` reserves n bytes up front, whatever the file holds)."""
    size = max(0, os.fstat(fh.fileno()).st_size - fh.tell())
    limit = size if max_bytes is None else min(size, max_bytes + 1)
    return fh.read(limit)


def temp_path_for(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(3)}")


def atomic_write(path: str | Path, data: bytes | Callable[[BinaryIO], None], *, durable: bool = True) -> None:
    """Replace `path` with new content all at once: a reader sees the old file or the new one, never a mix.

    `data` is the bytes, or a function writing them to a binary file (torch.save, Image.save). The
    temp file is created exclusively (never through a symlink); a symlink or non-regular file at
    `path` is refused rather than replaced. A full disk raises DiskFullError and leaves `path` as it was.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        check_regular(path)  # raises with the right description
    replacing = path.exists()
    tmp = temp_path_for(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o644)
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        _discard(tmp)
        cause = _os_error_in(exc)  # torch.save and other writers wrap the OSError of a failed write in their own
        if cause is not None and cause.errno in DISK_FULL_ERRNOS:
            reason = "the disk is full" if cause.errno != errno.EFBIG else "a file size limit was reached"
            kept = " (the previous one is intact)" if replacing else ""
            raise DiskFullError(f"{reason}: {path.name} was not written{kept}", path) from None
        raise
    if durable:
        fsync_dir(path.parent)


DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind `exc`: itself, or the one it was raised from or while handling (a few links deep)."""
    for _ in range(8):
        if exc is None or isinstance(exc, OSError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def append_line(path: str | Path, line: str) -> None:
    """Append one line (newline added) to a regular file, created when missing; never through a symlink, nor
    into a file with other hard links. A file whose last line was torn (a crash or a full disk mid-append) gets
    the line on a line of its own: glued to the torn one, it was lost with it."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _BINARY, 0o644)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError("is not a regular file: refused", path)
        if info.st_nlink > 1:
            raise UnsafeFileError(HARD_LINKED, path)
        data = (line.rstrip("\n") + "\n").encode("utf-8")
        if (
            info.st_size and os.lseek(fd, -1, os.SEEK_END) >= 0 and os.read(fd, 1) != b"\n"
        ):  # O_APPEND writes at the end
            data = b"\n" + data
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError("is a symlink: refused", path) from None
        if exc.errno in DISK_FULL_ERRNOS:
            raise DiskFullError("the disk is full: a record could not be written", path) from None
        raise
    finally:
        os.close(fd)


def remove_stale_temp_files(folder: str | Path) -> None:
    """Delete temp files left by a process killed while writing (never finished files)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") and TEMP_MARK in entry.name and entry.is_file(follow_symlinks=False):
            _discard(Path(entry.path))


def fsync_dir(folder: str | Path) -> None:
    """Make a rename in `folder` durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _discard(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
