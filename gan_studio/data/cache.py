"""Prepared datasets: decoded, resized uint8 images in one memory-mapped file each, in the user cache folder.

One file per (source content, image size, split), named `<name>-<size>px-<key>.gsdata` in
`user_cache_dir()/prepared/`. Layout:

    pixels   uint8 (N, C, S, S), from offset 0 (memory-mapped for training)
    labels   int64 little-endian (N,), when the set is labelled
    meta     UTF-8 JSON: key, source, shape, class names, skipped bad files, CRC-32 of every block of rows
    trailer  magic (8 bytes) | meta length (uint64) | meta CRC-32 (uint32)

A file is written under a temporary name, flushed to disk and renamed into place, so a reader sees
a complete file or none; builders of the same file take an OS lock, so two processes preparing the
same data at once end with one valid file. Before use, a file's size, trailer, meta and the CRC of
every block of rows are checked: a truncated or damaged file is removed and prepared again, never
trained on.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import mmap
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gan_studio.data.budgets import MAX_CLASS_NAME_CHARS, MAX_CLASSES, available_memory, decode_workers, human_bytes
from gan_studio.errors import DataError
from gan_studio.paths import (
    can_write_into,
    private_temporary_cache_dir,
    temporary_cache_dir,
    user_cache_dir,
)
from gan_studio.user_files import RefusedFile, open_regular_fd

FORMAT_VERSION = 1
SUFFIX = ".gsdata"
MAGIC = b"GSDATA\x00\x01"
TRAILER = struct.Struct("<8sQI")
MAX_META_BYTES = 64 * 2**20
BLOCK_ROWS = 256  # rows per CRC block (and per decoding chunk)
MAX_SKIPPED_LISTED = 100  # bad files named in the meta (and so in run.json); the count is always kept
LOCK_POLL_S = 0.2


class PreparationCancelled(DataError):
    """The user cancelled preparing a dataset (nothing is left behind)."""


class CorruptCache(Exception):
    """A prepared file that must not be used (the message says why)."""


def cache_root() -> Path:
    """The folder holding prepared datasets."""
    return user_cache_dir() / "prepared"


def content_key(parts: dict) -> str:
    """A hex key for a source description (file list and stamps, size, split, decoder version)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def cache_path(name: str, image_size: int, key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40].strip(".") or "data"
    return cache_root() / f"{safe}-{image_size}px-{key[:20]}{SUFFIX}"


def fallback_root() -> Path:
    """Where datasets are prepared when the cache folder cannot be written (see paths.temporary_cache_dir)."""
    return temporary_cache_dir() / "prepared"


def cache_roots(in_use: bool = False) -> list[Path]:
    """The folders holding prepared files: the cache folder, and the fallback folder when there is one (with
    `in_use`, only while the cache folder cannot be written: a writable cache is where data is prepared and read,
    and what another day's read-only home left in the temporary folder is not used)."""
    fallback = private_fallback_root()
    if fallback is None or fallback == cache_root() or (in_use and can_write_into(cache_root())):
        return [cache_root()]
    return [cache_root(), fallback]


def private_fallback_root(create: bool = False) -> Path | None:
    """The fallback folder (made if `create`), or None when there is none or it is not this user's alone."""
    return private_temporary_cache_dir("prepared", create)


@dataclass
class CacheMeta:
    """What a prepared file holds (its JSON meta, validated)."""

    key: str
    name: str
    source: str
    count: int
    channels: int
    side: int
    labelled: bool
    class_names: list[str]
    block_crcs: list[int]
    labels_crc: int = 0
    skipped: list[dict] = field(default_factory=list)  # [{"name", "reason"}], at most MAX_SKIPPED_LISTED
    skipped_count: int = 0
    total_count: int = 0  # images in the source, bad ones included
    created: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def row_bytes(self) -> int:
        return self.channels * self.side * self.side

    @property
    def pixel_bytes(self) -> int:
        return self.count * self.row_bytes

    @property
    def label_bytes(self) -> int:
        return 8 * self.count if self.labelled else 0

    def to_json(self) -> bytes:
        data = {"format": FORMAT_VERSION, **{k: v for k, v in self.__dict__.items()}}
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, blob: bytes) -> CacheMeta:
        try:
            data = json.loads(blob.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise CorruptCache(f"unreadable meta ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise CorruptCache("unknown format")
        try:
            meta = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as exc:
            raise CorruptCache(f"incomplete meta ({exc})") from None
        meta._check()
        return meta

    def _check(self) -> None:
        def is_int(v, low=0):
            return type(v) is int and v >= low

        ok = (
            all(isinstance(v, str) for v in (self.key, self.name, self.source))
            and is_int(self.count, 1)
            and self.channels in (1, 3)
            and is_int(self.side, 1)
            and self.side <= 65536
            and isinstance(self.labelled, bool)
            and isinstance(self.class_names, list)
            and len(self.class_names) <= MAX_CLASSES
            and all(isinstance(n, str) and len(n) <= MAX_CLASS_NAME_CHARS for n in self.class_names)
            and isinstance(self.block_crcs, list)
            and len(self.block_crcs) == -(-self.count // BLOCK_ROWS)
            and all(is_int(c) for c in self.block_crcs)
            and is_int(self.labels_crc)
            and isinstance(self.skipped, list)
            and is_int(self.skipped_count)
            and isinstance(self.extra, dict)
        )
        if not ok:
            raise CorruptCache("inconsistent meta")


@dataclass
class PreparedFile:
    """A prepared file: its meta, its pixels memory-mapped read-only, and the check of their blocks."""

    path: Path
    meta: CacheMeta
    check: BlockCheck | None = None

    def __post_init__(self):
        if self.check is None:
            self.check = BlockCheck(self.path, self.meta)

    def pixels(self) -> np.memmap:
        m = self.meta
        return map_rows(self.path, (m.count, m.channels, m.side, m.side))

    def labels(self) -> np.ndarray | None:
        if not self.meta.labelled:
            return None
        with open(self.path, "rb") as fh:
            fh.seek(self.meta.pixel_bytes)
            return np.frombuffer(fh.read(self.meta.label_bytes), dtype="<i8").astype(np.int64)


def map_rows(path: Path, shape: tuple[int, ...], memory: int | None = None) -> np.memmap:
    """The uint8 rows at the start of `path`, memory-mapped read-only. A file larger than half the memory
    available (`memory`, measured when None) is marked as read at random: training draws rows at random, and
    the kernel's read-around (up to read_ahead_kb around each row) would fill the page cache with rows not
    trained on and evict those that are. A smaller file keeps the read-around: it soon holds the whole file
    in the page cache in large reads, the fastest way to serve random rows (benchmarks/mapped_reads.py: 9x
    the disk reads of MADV_RANDOM, but 2.5x faster batches while the file is read in)."""
    rows = np.memmap(path, dtype=np.uint8, mode="r", shape=shape)
    size = int(np.prod(shape))
    advise = getattr(getattr(rows, "_mmap", None), "madvise", None)  # numpy's mmap; madvise on Linux and macOS
    if advise is not None and hasattr(mmap, "MADV_RANDOM") and size > (memory or available_memory()) // 2:
        try:
            advise(mmap.MADV_RANDOM)
        except (OSError, ValueError):
            pass  # only advice: the map works without it
    return rows


def read_meta(path: Path) -> CacheMeta:
    """The meta of a prepared file, after checking its trailer and total size (CorruptCache otherwise)."""
    try:
        fd = open_regular_fd(path)
    except RefusedFile as exc:
        raise CorruptCache(str(exc)) from None
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fd).st_size
        if size < TRAILER.size:
            raise CorruptCache("truncated (no trailer)")
        fh.seek(size - TRAILER.size)
        magic, meta_len, meta_crc = TRAILER.unpack(fh.read(TRAILER.size))
        if magic != MAGIC:
            raise CorruptCache("truncated or not a prepared dataset (bad trailer)")
        if meta_len > min(MAX_META_BYTES, size - TRAILER.size):
            raise CorruptCache("bad meta length")
        fh.seek(size - TRAILER.size - meta_len)
        blob = fh.read(meta_len)
        if zlib.crc32(blob) != meta_crc:
            raise CorruptCache("meta checksum mismatch")
        meta = CacheMeta.from_json(blob)
        expected = meta.pixel_bytes + meta.label_bytes + meta_len + TRAILER.size
        if size != expected:
            raise CorruptCache(f"size {size:,} bytes, expected {expected:,}")
        return meta


class BlockCheck:
    """The CRC check of a prepared file's blocks of rows, each block checked once, before its first use.

    Opening a prepared file checks its size, trailer, meta and labels at once, but reading all of its
    pixels at every start would cost as much as the data is large (tens of GB for a set larger than
    memory). Instead each block of BLOCK_ROWS rows is checked (read through its own descriptor, so
    the check adds nothing to resident memory) the first time any of its rows is asked for; a block
    that does not match removes the file and raises a DataError, so damaged pixels are never used.
    The descriptor is opened with the file: a `data clear`, or a newer build of the same data, may
    remove the name while a run trains on it, and the run goes on reading what it opened.
    """

    def __init__(self, path: Path, meta: CacheMeta):
        self.path, self.meta = path, meta
        self.done = np.zeros(len(meta.block_crcs), dtype=bool)
        self._lock = threading.Lock()
        self._fd: int | None = None
        with contextlib.suppress(OSError):
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def rows(self, index: np.ndarray) -> None:
        """Check the blocks holding rows `index` that were not checked yet."""
        blocks = np.unique(np.asarray(index, dtype=np.int64) // BLOCK_ROWS)
        todo = blocks[~self.done[blocks]]
        if len(todo):
            self._check(todo.tolist())

    def all(self) -> None:
        """Check every block not checked yet (several threads: zlib releases the GIL)."""
        self._check(np.flatnonzero(~self.done).tolist())

    def _check(self, blocks: list[int]) -> None:
        with self._lock:
            blocks = [b for b in blocks if not self.done[b]]
            if not blocks:
                return
            try:
                if self._fd is None:
                    raise OSError(errno.ENOENT, "the file could not be opened")
                bad = _damaged_blocks(self._fd, self.meta, blocks)
            except OSError as exc:
                bad, reason = blocks[:1], f"unreadable ({exc.strerror or exc})"
            else:
                reason = "do not match their checksum"
            if bad:
                self._remove_if_still_named()
                first = bad[0] * BLOCK_ROWS
                raise DataError(
                    f"the prepared dataset file is damaged (rows {first}..{first + BLOCK_ROWS - 1} {reason}); it "
                    "was removed, so the next start prepares the data again",
                    self.path,
                )
            self.done[blocks] = True

    def _remove_if_still_named(self) -> None:
        """Remove the damaged file, unless its name now holds another one (a newer build)."""
        with contextlib.suppress(OSError):
            opened = os.fstat(self._fd) if self._fd is not None else None
            named = os.stat(self.path)
            if opened is None or (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino):
                os.unlink(self.path)


_SEEK_LOCK = threading.Lock()


def _read_at(fd: int, view: memoryview, offset: int) -> int:
    """Read into `view` from `offset` of `fd` (positioned: threads may share the descriptor)."""
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], offset)
    with _SEEK_LOCK:  # Windows has no positioned read
        os.lseek(fd, offset, os.SEEK_SET)
        data = os.read(fd, len(view))
    view[: len(data)] = data
    return len(data)


def _damaged_blocks(fd: int, meta: CacheMeta, blocks: list[int]) -> list[int]:
    """Which of `blocks` of the file open as `fd` do not match their CRC (positioned reads, which threads
    may share; a few threads for many blocks)."""
    block = BLOCK_ROWS * meta.row_bytes
    local = threading.local()

    def damaged(i: int) -> bool:
        if not hasattr(local, "buffer"):
            local.buffer = bytearray(block)
        length = min(block, meta.pixel_bytes - i * block)
        view = memoryview(local.buffer)[:length]
        done = 0
        while done < length:
            n = _read_at(fd, view[done:], i * block + done)
            if not n:
                return True  # truncated
            done += n
        return zlib.crc32(view) != meta.block_crcs[i]

    if len(blocks) < 8:
        return [i for i in blocks if damaged(i)]
    with ThreadPoolExecutor(max_workers=min(4, decode_workers())) as pool:
        return [i for i, is_bad in zip(blocks, pool.map(damaged, blocks), strict=True) if is_bad]


def _check_labels(path: Path, meta: CacheMeta) -> None:
    if not meta.labelled:
        return
    with open(path, "rb") as fh:
        fh.seek(meta.pixel_bytes)
        labels = fh.read(meta.label_bytes)
    if zlib.crc32(labels) != meta.labels_crc:
        raise CorruptCache("labels checksum mismatch")
    values = np.frombuffer(labels, dtype="<i8")
    if len(values) and (values.min() < 0 or values.max() >= max(1, len(meta.class_names))):
        raise CorruptCache("labels out of range")


def verify(path: Path, meta: CacheMeta) -> None:
    """Check every block of rows and the labels now (CorruptCache when anything does not match)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        bad = _damaged_blocks(fd, meta, list(range(len(meta.block_crcs))))
    finally:
        os.close(fd)
    if bad:
        raise CorruptCache(f"{len(bad)} damaged block(s) of images (first at row {bad[0] * BLOCK_ROWS})")
    _check_labels(path, meta)


def open_prepared(path: Path, key: str) -> PreparedFile | None:
    """The prepared file at `path` for `key`, its size, meta and labels checked (its rows are checked as they
    are first read: PreparedFile.check); None when absent. A bad file is removed (None)."""
    if not os.path.lexists(path):
        return None
    try:
        meta = read_meta(path)
        if meta.key != key:
            raise CorruptCache("belongs to other data")
        _check_labels(path, meta)
    except (CorruptCache, OSError):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return None
    return PreparedFile(path, meta)


# --- writing ------------------------------------------------------------------------------------------


class CacheWriter:
    """A prepared file being built under a temporary name; `commit` makes it appear complete, atomically."""

    def __init__(self, final: Path, count: int, channels: int, side: int):
        self.final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        self.temp = final.with_name(f"{final.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        self.count, self.channels, self.side = count, channels, side
        with open(self.temp, "wb") as fh:
            fh.truncate(count * channels * side * side)  # sparse until written

    @property
    def row_bytes(self) -> int:
        return self.channels * self.side * self.side

    def rows(self, mode: str = "r+") -> np.memmap:
        return np.memmap(self.temp, dtype=np.uint8, mode=mode, shape=(self.count, self.channels, self.side, self.side))

    def commit(self, meta: CacheMeta, labels: np.ndarray | None) -> PreparedFile:
        """Append labels, meta and trailer; flush; rename into place."""
        label_bytes = b""
        if labels is not None:
            label_bytes = np.ascontiguousarray(labels, dtype="<i8").tobytes()
            meta.labels_crc = zlib.crc32(label_bytes)
        blob = meta.to_json()
        with open(self.temp, "r+b") as fh:
            fh.seek(self.count * self.row_bytes)
            fh.write(label_bytes)
            fh.write(blob)
            fh.write(TRAILER.pack(MAGIC, len(blob), zlib.crc32(blob)))
            fh.truncate()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(self.temp, self.final)
        _fsync_dir(self.final.parent)
        remove_superseded(self.final, meta.extra.get("lineage"))
        prepared = PreparedFile(self.final, meta)
        prepared.check.done[:] = True  # just written from the rows the checksums were computed on
        return prepared

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.temp)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def block_crcs(rows: np.ndarray) -> list[int]:
    """CRC-32 of each block of BLOCK_ROWS rows."""
    return [zlib.crc32(np.ascontiguousarray(rows[i : i + BLOCK_ROWS])) for i in range(0, len(rows), BLOCK_ROWS)]


DISK_SPARE_BYTES = 64 * 2**20  # left free beside a prepared file: the disk's other users need some too


def check_disk_space(folder: Path, nbytes: int) -> None:
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if nbytes + DISK_SPARE_BYTES > free:
        raise DataError(
            f"not enough disk space to prepare the dataset: it needs {human_bytes(nbytes)} and "
            f"{human_bytes(DISK_SPARE_BYTES)} to spare, {human_bytes(free)} are free (set GAN_STUDIO_CACHE to a "
            "folder on a larger disk)",
            folder,
        )


@contextlib.contextmanager
def build_lock(final: Path, cancel=None, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive OS lock for building `final` (waits for another builder, calling `waiting` once
    when it has to; cancel stops waiting). The lock file is removed when the build ends, whatever its outcome
    (see `_lock_named`), so the cache folder keeps no empty `.lock` per preparation."""
    final.parent.mkdir(parents=True, exist_ok=True)
    lock_path = final.with_name(final.name + ".lock")
    told = False
    while (fd := _lock_named(lock_path, create=True)) is None:
        if waiting is not None and not told:
            waiting()
            told = True
        if cancel is not None and cancel.is_set():
            raise PreparationCancelled("data preparation cancelled")
        time.sleep(LOCK_POLL_S)
    try:
        _remove_stale_temp_files(final)
        yield
    finally:
        _release_and_remove(fd, lock_path)


def _lock_named(lock_path: Path, create: bool = False) -> int | None:
    """A descriptor holding the lock named `lock_path`, or None when another process holds it (or, without
    `create`, when there is no such file).

    The protocol that lets a holder remove the lock file: a holder removes the name *before* it lets go
    (`_release_and_remove`), so a process that was waiting on the removed file then gets a lock on a file
    that no longer has the name; it sees that (the name is gone, or names another file) and takes the lock
    of the name afresh. Whoever holds the lock of the file the name points to is the one builder."""
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
        except FileNotFoundError:
            if create:
                raise
            return None
        try:
            if not _try_lock(fd):
                os.close(fd)
                return None
            if _is_named(fd, lock_path):
                return fd
            _unlock(fd)
            os.close(fd)
        except BaseException:
            os.close(fd)
            raise
        if not create:
            return None  # the name went with its holder: nobody to wait for, nothing to remove


def _is_named(fd: int, lock_path: Path) -> bool:
    try:
        opened, named = os.fstat(fd), os.stat(lock_path)
    except OSError:
        return False
    return (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)


def _release_and_remove(fd: int, lock_path: Path) -> None:
    """Remove the lock file while still holding it (see `_lock_named`), then let go."""
    try:
        with contextlib.suppress(OSError):  # (Windows cannot remove an open file: the empty file stays)
            os.unlink(lock_path)
    finally:
        _unlock(fd)
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks (some network mounts): rely on the atomic rename alone
        return True


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)


def _remove_stale_temp_files(final: Path) -> None:
    """Temporary files of builders of `final` that died (we hold the lock, so none is alive)."""
    for temp in final.parent.glob(f"{final.name}.*.tmp"):
        with contextlib.suppress(OSError):
            temp.unlink()


# --- listing and clearing ---------------------------------------------------------------------------


@dataclass
class CacheEntry:
    path: Path
    bytes: int
    meta: CacheMeta | None
    problem: str = ""


def disk_bytes(path: Path) -> int:
    """What `path` takes on disk (as `du` counts it): a stopped build's file is sparse, mostly never written."""
    st = path.lstat()
    blocks = getattr(st, "st_blocks", None)
    return st.st_size if blocks is None else blocks * 512


def list_prepared() -> list[CacheEntry]:
    """Every prepared file in the cache folder (and the fallback folder), with its meta (or why it is unusable)."""
    entries = []
    for path in [path for root in cache_roots() if root.is_dir() for path in sorted(root.glob(f"*{SUFFIX}"))]:
        try:
            size = disk_bytes(path)
            meta, problem = read_meta(path), ""
        except (CorruptCache, OSError) as exc:
            meta, problem = None, str(exc) or type(exc).__name__
            size = disk_bytes(path) if path.exists() else 0
        entries.append(CacheEntry(path, size, meta, problem))
    return entries


def clear_prepared(
    sources: list[Path] | None = None, stale_only: bool = False
) -> tuple[int, int, list[tuple[Path, str]]]:
    """Remove prepared files (all, or those made from one of `sources`: the path given to prepare them, or the
    dataset's resolved path; with `stale_only`, only those `stale_prepared` finds), and, when clearing all, the
    temporary files and lock files left by builders that died.

    Returns (files removed, bytes freed, [(file, why) for each that could not be removed: a read-only cache]).
    A file being built right now keeps its temporary and lock files.
    """
    removed = freed = 0
    failed: list[tuple[Path, str]] = []
    wanted = None if sources is None else {str(path) for path in sources}
    entries = list_prepared()
    stale = stale_prepared(entries) if stale_only else None
    for entry in entries:
        if wanted is not None and (entry.meta is None or not wanted & made_from_paths(entry.meta)):
            continue
        if stale is not None and entry.path not in stale:
            continue
        try:
            entry.path.unlink()
            removed, freed = removed + 1, freed + entry.bytes
        except FileNotFoundError:
            pass  # another process removed it meanwhile
        except OSError as exc:
            failed.append((entry.path, exc.strerror or str(exc)))
        remove_idle_lock(entry.path)
    if wanted is None and not stale_only:
        for temps in _idle_builds():
            for temp in temps:
                with contextlib.suppress(OSError):
                    size = disk_bytes(temp)
                    temp.unlink()
                    removed, freed = removed + 1, freed + size
    return removed, freed, failed


def made_from_paths(meta: CacheMeta) -> set[str]:
    """The paths a prepared file was made from: the dataset's resolved path, and the path it was prepared with
    (`data prepare ./cifar` records the CIFAR batches folder inside as its source)."""
    given = meta.extra.get("given")
    return {meta.source, given} if isinstance(given, str) and given else {meta.source}


def earlier_preparation(lineage: str) -> CacheMeta | None:
    """The newest prepared file of the same data (`lineage`: source, image size, split) whatever its content,
    or None: there is one while a changed folder is prepared again (it goes once the new file is in place)."""
    metas = [e.meta for e in list_prepared() if e.meta is not None and e.meta.extra.get("lineage") == lineage]
    return max(metas, key=lambda meta: meta.created, default=None)


def remove_superseded(current: Path, lineage: str | None) -> int:
    """Remove the earlier prepared files of the same data (same `lineage`: source, image size, split), which
    a change of the data made stale: each edit of a 200k-photo folder left a full copy behind. A run still
    training on one keeps reading what it opened. Returns how many were removed."""
    if not lineage:
        return 0
    removed = 0
    for entry in list_prepared():
        if entry.path != current and entry.meta is not None and entry.meta.extra.get("lineage") == lineage:
            with contextlib.suppress(OSError):
                entry.path.unlink()
                removed += 1
            remove_idle_lock(entry.path)
    return removed


def remove_idle_lock(final: Path) -> None:
    """Remove the lock file of `final` unless a builder holds it (a lock file left by an earlier version)."""
    lock_path = final.with_name(final.name + ".lock")
    with contextlib.suppress(OSError):
        fd = _lock_named(lock_path)
        if fd is not None:
            _release_and_remove(fd, lock_path)


def unfinished_builds() -> list[tuple[Path, int]]:
    """Temporary files (and what they take on disk) that builders which died left behind (a stopped
    `data prepare`)."""
    found = []
    for temps in _idle_builds():
        for temp in temps:
            with contextlib.suppress(OSError):
                found.append((temp, disk_bytes(temp)))
    return found


def _idle_builds() -> Iterator[list[Path]]:
    """For each prepared file nobody is building now, its leftover temporary files, yielded while its
    build lock is held (so none can start meanwhile); its lock file (one that a builder which died left,
    or taken here) is removed after."""
    for root in cache_roots():
        if root.is_dir():
            yield from _idle_builds_in(root)


def _idle_builds_in(root: Path) -> Iterator[list[Path]]:
    finals = {lock.name[: -len(".lock")] for lock in root.glob(f"*{SUFFIX}.lock")}
    finals |= {temp.name.rsplit(".", 3)[0] for temp in root.glob(f"*{SUFFIX}.*.tmp")}
    for name in sorted(finals):
        lock = root / f"{name}.lock"
        try:
            fd = _lock_named(lock, create=True)  # (a builder holds it from before its temporary file exists)
        except OSError:
            continue
        if fd is None:
            continue  # being built now
        try:
            yield list(root.glob(f"{name}.*.tmp"))
        finally:
            _release_and_remove(fd, lock)


def stale_prepared(entries: list[CacheEntry]) -> set[Path]:
    """The prepared files among `entries` whose data has changed since: a newer file of the same source (at
    any image size) was prepared from other content. Known from the metas alone (no listing of a large
    folder); a source prepared once is not judged."""
    newest: dict[str, CacheMeta] = {}
    for entry in entries:
        source = entry.meta.extra.get("source_id") if entry.meta is not None else None
        if source and (source not in newest or entry.meta.created > newest[source].created):
            newest[source] = entry.meta
    return {
        entry.path
        for entry in entries
        if entry.meta is not None
        and entry.meta.extra.get("source_id") in newest
        and entry.meta.extra.get("content") != newest[entry.meta.extra["source_id"]].extra.get("content")
    }
