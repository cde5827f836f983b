"""The run lock: whoever trains a run (the CLI, the app, torchrun rank 0) holds an OS lock on RUN/.lock.

A second trainer of the same run is refused with a message saying who holds it. The lock is an
advisory `flock` on a regular file (never a symlink), released by the OS when the holder dies, so
a killed run never stays locked. The file also records who holds it, for messages and the app.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
from pathlib import Path

from gan_studio.errors import RunError
from gan_studio.files import DISK_FULL_ERRNOS, HARD_LINKED, DiskFullError, describe_kind
from gan_studio.store.jsonl import parse_json

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _open_lock_file(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
    except PermissionError:
        raise RunError("the run folder is read-only: it cannot be trained here", path.parent) from None
    except OSError as exc:
        raise RunError(f"cannot lock the run: {exc.strerror or exc}", path) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
        os.close(fd)
        problem = f"is {describe_kind(info.st_mode)}: refused" if not stat.S_ISREG(info.st_mode) else HARD_LINKED
        raise RunError(problem, path)
    return fd


def abandoned_here(run_path: str | Path) -> bool:
    """Whether the run's trainer is gone though run.json still says it trains: a process on this machine
    died without letting go of it (killed: its lock file still names it, but nobody holds the lock), or
    it let go without being able to record its end (an emptied lock file: released, e.g. after its
    folder turned read-only). A writer on another machine that holds the lock cannot be seen."""
    path = Path(run_path) / ".lock"
    try:
        mode = os.lstat(path)
        if not stat.S_ISREG(mode.st_mode) or holder_of(run_path) is not None:
            return False
        if mode.st_size == 0:
            return True
        with open(path, "rb") as fh:
            info = parse_json(fh.read(4096).decode("utf-8", "replace"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("host") == socket.gethostname()


def holder_of(run_path: str | Path) -> str | None:
    """Who trains the run now ('gan-studio train, pid 123 on host'), or None when nobody holds its lock."""
    path = Path(run_path) / ".lock"
    if fcntl is None:
        return None
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        fd = None
    if fd is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _describe(os.pread(fd, 4096, 0))
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    return "another process (its .lock file was removed)" if _folder_is_locked(Path(run_path)) else None


def _lock_folder(folder: Path, mode: int | None = None) -> int | None:
    """A flock (exclusive unless `mode`) on the run folder itself, beside the one on .lock: a .lock deleted while
    a run trains (a sync tool, a clean-up of dot files) would otherwise let a second trainer in. BlockingIOError
    when another process holds it; None where folders cannot be locked (NFS, ...), where .lock alone guards."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if mode is None else mode) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    except OSError:
        os.close(fd)
        return None
    return fd


def _folder_is_locked(folder: Path) -> bool:
    try:
        fd = _lock_folder(folder, fcntl.LOCK_SH)
    except BlockingIOError:
        return True
    if fd is not None:
        os.close(fd)
    return False


def _describe(data: bytes) -> str:
    try:
        info = parse_json(data.decode("utf-8", "replace"))
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    who = str(info.get("who", "another process"))[:80]
    pid, host = info.get("pid"), str(info.get("host", "?"))[:80]
    return f"{who} (pid {pid} on {host})" if pid else who


class RunLock:
    """An exclusive lock on a run folder, held until `release()` (or the process ends)."""

    def __init__(self, run_path: str | Path, who: str = "gan-studio train"):
        self.path = Path(run_path) / ".lock"
        self.who = who
        self._fd: int | None = None
        self._folder_fd: int | None = None  # the run folder's own lock, where its file system has one

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, advice: str = "stop it first, or fork the run") -> RunLock:
        """Take the lock or raise RunError naming who holds it (and `advice`: what to do about it)."""
        if self._fd is not None:
            return self
        fd = _open_lock_file(self.path)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._folder_fd = _lock_folder(self.path.parent)
            except OSError:
                holder = _describe(os.pread(fd, 4096, 0))
                os.close(fd)
                raise RunError(f"the run is being trained by {holder}: {advice}", self.path.parent) from None
        record = {"who": self.who, "pid": os.getpid(), "host": socket.gethostname(), "python": sys.executable}
        data = json.dumps(record).encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except OSError as exc:  # a full disk: nothing of the run was changed yet
            os.close(fd)
            self._release_folder()
            if exc.errno in DISK_FULL_ERRNOS:
                raise DiskFullError(
                    "the disk is full: the run was not started, and nothing in it changed", self.path
                ) from None
            problem = f"cannot write the lock file ({exc.strerror or exc})"
            raise RunError(f"{problem}: the run was not started, and nothing in it changed", self.path) from None
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)  # closing drops the flock
        self._release_folder()

    def _release_folder(self) -> None:
        folder_fd, self._folder_fd = self._folder_fd, None
        if folder_fd is not None:
            os.close(folder_fd)

    def __del__(self) -> None:
        self.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
