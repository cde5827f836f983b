"""Preparing a dataset once: every image decoded and resized into a prepared (cache) file, in parallel.

`prepare_images(listing, ...)` decodes an image folder or .zip on all cores (a "spawn" process pool
of torch-free workers that write their rows straight into the file being built), with
`progress(done, total)` after each chunk and a `cancel` event checked between chunks.
`prepare_arrays(source, ...)` does the same, in this process, for IDX, CIFAR and .npz images.
Either returns a verified `PreparedFile`; a valid existing file for the same content is reused,
and a builder waits for another process already building it (see cache.py).

Bad image files do not stop preparation: they are left out, and the file records them (up to
MAX_SKIPPED_LISTED names and the count). Whether a dataset with bad files may be trained on is the
caller's decision (skip_bad_files).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_studio.data import cache
from gan_studio.data.budgets import decode_workers, rows_per_chunk
from gan_studio.data.cache import PreparationCancelled
from gan_studio.data.decode import DECODER_VERSION, REASON_CHARS, ChunkResult, ChunkTask, decode_chunk, write_at
from gan_studio.data.imagefiles import IMAGE_EXTENSIONS, ImageListing, close_archives
from gan_studio.data.left_out import formats_not_read
from gan_studio.errors import DataError, shorten
from gan_studio.paths import cannot_write

ProgressCallback = Callable[[int, int], None]
PARALLEL_MIN_IMAGES = 2_000  # fewer images decode faster in this process than worker processes start
BAD_FILES_SHOWN = 20  # bad files named in the error message


@dataclass
class ArrayImages:
    """Images read from arrays: their count, labels, and a reader of row chunks."""

    count: int
    channels: int  # 1 or 3
    labels: np.ndarray | None
    class_names: list[str]
    chunks: Callable[[int], Iterator[np.ndarray]]  # rows per chunk -> uint8 (n, H, W, C) chunks in order
    row_bytes: int  # bytes of one image as read from the source (its dtype), which sets the rows per chunk

    @classmethod
    def from_raw(cls, raw) -> ArrayImages:
        """From RawImages already in memory."""
        if raw.x.ndim != 4 or raw.x.shape[0] == 0:
            raise DataError(f"expected a non-empty (N, H, W, C) image array, got shape {raw.x.shape}", raw.source)

        def chunks(rows: int) -> Iterator[np.ndarray]:
            for start in range(0, raw.x.shape[0], rows):
                yield raw.x[start : start + rows]

        return cls(raw.x.shape[0], raw.x.shape[3], raw.y, list(raw.class_names), chunks, raw.x[0].nbytes)


@dataclass
class ArraySource:
    """Images that come as arrays (IDX, CIFAR, .npz): what identifies them, and how to read them."""

    kind: str  # "idx" | "cifar" | "npz"
    path: Path
    name: str
    key_files: list[tuple]  # e.g. (file, size, CRC-32 of its content): changes when the data does
    open: Callable[[], ArrayImages]  # reads (or starts streaming) the images: only when not prepared yet
    split: str = ""  # the split whose files are read ("train" or "test"); "" for a source that is one set


WAITING = -1  # progress(0, WAITING): another process is preparing the same data, and this one waits for it
CHANGED = -2  # progress(N, CHANGED): the data was prepared before, with N images, and changed since: again
ELSEWHERE = -3  # progress(0, ELSEWHERE): the cache folder cannot be written: prepared in cache.fallback_root()


def prepared_elsewhere() -> str:
    """What progress(0, ELSEWHERE) tells the person."""
    return (f"the dataset cache {cache.cache_root()} cannot be written, so the data is prepared in "
            f"{cache.fallback_root()} (kept only as long as the system keeps its temporary files; set "
            "GAN_STUDIO_CACHE to a writable folder to keep it)")  # fmt: skip


def _say_if_changed(progress, made_from: str) -> None:
    """Tell `progress` when the data was prepared before at this size and changed since (one photo added to 200k
    re-decodes them all, in minutes where a start took seconds: the person should know why)."""
    earlier = cache.earlier_preparation(made_from) if progress is not None else None
    if earlier is not None:
        progress(earlier.count, CHANGED)


def _waiting(progress):
    return None if progress is None else lambda: progress(0, WAITING)


def _check_cancel(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise PreparationCancelled("data preparation cancelled")


def no_images_error(path: Path | str, other_formats: dict[str, int] | None = None, other_names=()) -> DataError:
    extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
    others = f"; {formats_not_read(other_formats, other_names)}" if other_formats else ""
    return DataError(f"no images found (expected {extensions} files, or one sub-folder per class){others}", path)


def bad_files_error(listing_path: Path | str, skipped: list[dict], skipped_count: int, total: int,
                    other_formats: dict | None = None, other_names=()) -> DataError:  # fmt: skip
    """One message naming the first BAD_FILES_SHOWN bad files and how many there are (and the files in formats
    not read, which are left out too)."""
    shown = "; ".join(
        f"{shorten(s['name'], 160)} ({shorten(s['reason'], REASON_CHARS)})" for s in skipped[:BAD_FILES_SHOWN]
    )
    more = f"; and {skipped_count - BAD_FILES_SHOWN:,} more" if skipped_count > BAD_FILES_SHOWN else ""
    usable = total - skipped_count
    advice = (
        'Fix or remove them, or turn on "skip bad files" (train --skip-bad-files true; data prepare '
        f"--skip-bad-files) to train on the other {usable:,}"
        if usable
        else "No image is usable"
    )
    others = f". Also {formats_not_read(other_formats, other_names)}" if other_formats else ""
    return DataError(
        f"{skipped_count:,} of {total:,} image files cannot be used: {shown}{more}. {advice}{others}", listing_path
    )


def prepare_images(
    listing: ImageListing,
    image_size: int,
    *,
    name: str,
    progress: ProgressCallback | None = None,
    cancel=None,
    workers: int | None = None,
    given: str = "",
) -> cache.PreparedFile:
    """The prepared file of an image folder or archive at `image_size`, built now if needed (`given`: the path
    the user named it by, which `data clear` also takes)."""
    _check_not_bootstrapping()
    key = cache.content_key({"v": DECODER_VERSION, "size": image_size, **listing.key_parts()})
    build = lambda final: _build_images(listing, image_size, name, key, final, progress, cancel, workers, given)  # noqa: E731
    return _prepared(cache.cache_path(name, image_size, key), key, build, progress, cancel)


def _prepared(final: Path, key: str, build: Callable[[Path], cache.PreparedFile], progress, cancel):
    """The prepared file `final` (or its copy in the fallback folder), else `build(final)` under its build lock;
    when the cache folder cannot be written, built in the fallback folder instead (said to `progress`)."""
    for root in cache.cache_roots(in_use=True):
        found = cache.open_prepared(root / final.name, key)
        if found is not None:
            return found
    try:
        return _built(final, key, build, progress, cancel)
    except OSError as exc:
        fallback = cache.private_fallback_root(create=True) if cannot_write(exc, final.parent) else None
        if fallback is None:
            raise
        if progress is not None:
            progress(0, ELSEWHERE)
        return _built(fallback / final.name, key, build, progress, cancel)


def _built(final: Path, key: str, build, progress, cancel) -> cache.PreparedFile:
    with cache.build_lock(final, cancel, _waiting(progress)):
        found = cache.open_prepared(final, key)  # another process may have built it meanwhile
        return found if found is not None else build(final)


def lineage(**source) -> str:
    """What a prepared file was made from, whatever the data's content then: the same folder or file at
    the same size (and split). A newer file of the same lineage supersedes the older ones."""
    return cache.content_key({"v": DECODER_VERSION, **source})


def source_extra(given: str, split: str, content: object, **source) -> dict:
    """What a prepared file's meta records of where it comes from, for `data info` and `data clear`: the path
    given, the split read ("" for one set), and keys of its source at any size and of that source's content
    then (a file whose source has newer content elsewhere in the cache is stale)."""
    return {
        "given": given,
        "split": split,
        "source_id": lineage(**source),
        "content": lineage(**source, content=content),
    }


def _build_images(listing, image_size, name, key, final, progress, cancel, workers, given) -> cache.PreparedFile:
    n = len(listing.names)
    made_from = lineage(size=image_size, kind=listing.kind, path=str(listing.path), name=name)
    origin = source_extra(given, "", listing.key_parts(), kind=listing.kind, path=str(listing.path), name=name)
    skipped = [{"name": name, "reason": r} for name, r in listing.bad]
    total = n + len(skipped)
    if not n:
        if skipped:
            raise bad_files_error(listing.path, skipped, len(skipped), total, listing.other_formats,
                                  listing.other_format_names)  # fmt: skip
        raise no_images_error(listing.path, listing.other_formats, listing.other_format_names)
    cache.check_disk_space(final.parent, n * 3 * image_size * image_size)
    _say_if_changed(progress, made_from)
    writer = cache.CacheWriter(final, n, 3, image_size)
    try:
        container = str(listing.path) if listing.kind == "zip" else ""
        tasks = [
            ChunkTask(
                listing.kind,
                container,
                listing.refs[s : s + cache.BLOCK_ROWS],
                s,
                image_size,
                str(writer.temp),
            )  # fmt: skip
            for s in range(0, n, cache.BLOCK_ROWS)
        ]
        listed_bad = len(skipped)  # known bad before decoding (a stray top-level file): counted as done at once
        counted = progress and (lambda done, _decodable: progress(listed_bad + done, total))
        results = _run_tasks(tasks, n, counted, cancel, workers)
        results.sort(key=lambda r: r.start)
        bad_rows = {row: reason for r in results for row, reason in r.bad}
        colour = any(r.colour for r in results)
        for row, reason in sorted(bad_rows.items()):
            skipped.append({"name": listing.names[row], "reason": reason})
        skipped.sort(key=lambda s: s["name"])
        keep = np.array([i for i in range(n) if i not in bad_rows], dtype=np.int64)
        if len(keep) == 0:
            raise bad_files_error(listing.path, skipped, len(skipped), total, listing.other_formats,
                                  listing.other_format_names)  # fmt: skip
        labels = np.asarray(listing.labels, dtype=np.int64)[keep] if listing.labelled else None
        if labels is not None:
            _check_every_class_kept(labels, listing.class_names, listing.path)
        meta = cache.CacheMeta(
            key=key, name=name, source=str(listing.path), count=len(keep), channels=3 if colour else 1,
            side=image_size, labelled=listing.labelled, class_names=list(listing.class_names), block_crcs=[],
            skipped=skipped[: cache.MAX_SKIPPED_LISTED], skipped_count=len(skipped), total_count=total,
            created=time.time(), extra={"kind": listing.kind, "lineage": made_from, **origin,
                                        "other_formats": dict(listing.other_formats), "one_set": listing.one_set,
                                        "other_format_names": list(listing.other_format_names)},
        )  # fmt: skip
        if len(keep) == n and colour:
            meta.block_crcs = [r.crc for r in results]
            return writer.commit(meta, labels)
        return _compact(writer, keep, colour, meta, labels)
    finally:
        close_archives()
        writer.discard()


def _check_every_class_kept(labels: np.ndarray, class_names: list[str], path) -> None:
    """DataError when skipping bad files left a class without images: a conditional model would be asked
    for a class it never saw, and eval and the export would offer it (as for an empty class folder)."""
    counts = np.bincount(labels, minlength=len(class_names))
    empty = [class_names[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        names = ", ".join(f"'{shorten(name, 60)}'" for name in empty[:5]) + (" …" if len(empty) > 5 else "")
        raise DataError(f"no usable image is left in class folder{'s' if len(empty) > 1 else ''} {names}: every one "
                        "of its files cannot be used (fix or remove them, or remove the folder)", path)  # fmt: skip


def _compact(writer: cache.CacheWriter, keep: np.ndarray, colour: bool, meta, labels) -> cache.PreparedFile:
    """Rows `keep` moved to the front of the same file (bad images left out), with one channel when all are
    grey: in place, so that a prepare never needs twice the set's disk space. Row k goes to k x the new row
    size, never past where a row still to be read lies (k <= keep[k], new rows <= old rows)."""
    channels = 3 if colour else 1
    row_shape = (3, writer.side, writer.side)
    new_row_bytes = channels * writer.side * writer.side
    with open(writer.temp, "r+b", buffering=0) as fh:  # plain reads: the rows never count as this process's memory
        for start in range(0, len(keep), cache.BLOCK_ROWS):
            part = keep[start : start + cache.BLOCK_ROWS]
            rows = np.empty((len(part), channels, writer.side, writer.side), dtype=np.uint8)
            for i, row in enumerate(part.tolist()):
                fh.seek(row * writer.row_bytes)
                rows[i] = np.frombuffer(fh.read(writer.row_bytes), np.uint8).reshape(row_shape)[:channels]
            fh.seek(start * new_row_bytes)
            fh.write(rows.tobytes())
            meta.block_crcs.append(zlib.crc32(rows))
    writer.count, writer.channels = len(keep), channels
    return writer.commit(meta, labels)


def _run_tasks(tasks: list[ChunkTask], total: int, progress, cancel, workers) -> list[ChunkResult]:
    """Decode every chunk, in worker processes when it pays; progress after each chunk."""
    count = decode_workers(workers)
    if count <= 1 or total < PARALLEL_MIN_IMAGES or len(tasks) < 2:
        results, done = [], 0
        for task in tasks:
            _check_cancel(cancel)
            results.append(decode_chunk(task))
            done += len(task.refs)
            if progress:
                progress(done, total)
        return results
    return _run_in_pool(tasks, total, progress, cancel, min(count, len(tasks)))


def _check_not_bootstrapping() -> None:
    """Refuse to prepare data while this process is itself a worker importing its parent's script.

    A worker started with "spawn" imports the parent's main script; if that script loads a dataset at
    import time (no `if __name__ == "__main__":`), the worker would wait for the parent's lock forever.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise DataError(
            "a dataset was loaded while a worker process was importing the main script: put the script's code "
            'under `if __name__ == "__main__":` (Python\'s rule for programs that start processes)'
        )


def exit_with_parent(parent_pid: int) -> None:
    """A decoding worker's start: it is killed when its parent dies, even by SIGKILL or the OOM killer (which
    give no chance to shut the pool down), instead of waiting for work forever. Linux only (prctl)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        except (OSError, AttributeError):
            return
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)


def decoding_pool(workers: int) -> ProcessPoolExecutor:
    """Fresh interpreters (spawn: no copy of a parent's threads or a GUI) that die with their parent. Linux
    signals them when the thread that started them ends, so the pool is shut down in that thread (as
    `_run_in_pool` does), never handed to another."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=exit_with_parent, initargs=(os.getpid(),))  # fmt: skip


def _run_in_pool(tasks: list[ChunkTask], total: int, progress, cancel, workers: int) -> list[ChunkResult]:
    results: list[ChunkResult] = []
    done = 0
    pool = decoding_pool(workers)
    try:
        pending: dict[Future, ChunkTask] = {pool.submit(decode_chunk, task): task for task in tasks}
        while pending:
            _check_cancel(cancel)
            finished, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                task = pending.pop(future)
                try:
                    results.append(future.result())
                except BrokenProcessPool:
                    first, last = task.refs[0], task.refs[-1]
                    raise DataError(
                        "a decoding process died (out of memory, a crash in the image library, or a script that "
                        'loads data outside `if __name__ == "__main__":`) while reading images '
                        f"{shorten(first, 120)} .. {shorten(last, 120)}"
                    ) from None
                done += len(task.refs)
                if progress:
                    progress(done, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def prepare_arrays(
    source: ArraySource,
    image_size: int,
    *,
    progress: ProgressCallback | None = None,
    cancel=None,
    given: str = "",
) -> cache.PreparedFile:
    """The prepared file of IDX, CIFAR or .npz images at `image_size`, built now if needed (`given`: as
    prepare_images')."""
    # the files read identify the split (a folder holding one split serves both from one prepared file)
    parts = {"v": DECODER_VERSION, "size": image_size, "kind": source.kind, "path": str(source.path),
             "name": source.name, "files": source.key_files}  # fmt: skip
    key = cache.content_key(parts)
    build = lambda final: _build_arrays(source, image_size, key, final, progress, cancel, given)  # noqa: E731
    return _prepared(cache.cache_path(source.name, image_size, key), key, build, progress, cancel)


def _build_arrays(source: ArraySource, image_size: int, key: str, final: Path, progress, cancel, given: str):
    from gan_studio.data.dataset import fit_uint8

    _check_cancel(cancel)
    images = source.open()
    n, c = images.count, images.channels
    files = [stamp[0] if isinstance(stamp, (tuple, list)) else stamp for stamp in source.key_files]
    made_from = lineage(size=image_size, kind=source.kind, path=str(source.path), name=source.name, files=files)
    origin = source_extra(given, source.split, source.key_files, kind=source.kind, path=str(source.path),
                          name=source.name, files=files)  # fmt: skip
    cache.check_disk_space(final.parent, n * c * image_size * image_size)
    _say_if_changed(progress, made_from)
    writer = cache.CacheWriter(final, n, c, image_size)
    try:
        crcs, done = [], 0
        for chunk in images.chunks(rows_per_chunk(images.row_bytes, 4 * cache.BLOCK_ROWS)):
            _check_cancel(cancel)
            rows = fit_uint8(chunk, image_size)
            write_at(str(writer.temp), done * writer.row_bytes, rows)
            crcs.extend(cache.block_crcs(rows))
            done += len(rows)
            if progress:
                progress(done, n)
        if done != n:
            raise DataError(f"the data ended after {done} of {n} images", source.path)
        meta = cache.CacheMeta(
            key=key, name=source.name, source=str(source.path), count=n, channels=c, side=image_size,
            labelled=images.labels is not None, class_names=list(images.class_names), block_crcs=crcs,
            total_count=n, created=time.time(), extra={"kind": source.kind, "lineage": made_from, **origin},
        )  # fmt: skip
        return writer.commit(meta, images.labels)
    finally:
        writer.discard()
