"""Loading a dataset by built-in name or path (what `gan_studio.data.load_dataset` does).

Built-in 2D points and the procedural shapes are made in memory. Everything read from files (image
folders, .zip archives, IDX, CIFAR-10 and .npz images, the downloaded built-ins) is prepared once
into a memory-mapped file in the user cache folder (prepare.py, cache.py) and trained on from
there, batch by batch.
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

import torch

from gan_studio.data.cache import PreparedFile
from gan_studio.data.dataset import Dataset, RawImages, images_from_raw, points_dataset
from gan_studio.data.stacked import STACKED_NAME, is_stacked, load_stacked
from gan_studio.errors import DataError, GanStudioError, shorten
from gan_studio.paths import data_name, temporary_cache_problem
from gan_studio.user_files import describe_kind, stat_path

ProgressCallback = Callable[[int, int], None]  # (done, total): bytes while downloading, images while preparing


def absolute_data_spec(spec: str) -> str:
    """`spec` as a run records it: a built-in name as it is, a path made absolute (not resolving links),
    so that the run can be resumed and evaluated from any folder, and one dataset has one cache key."""
    from gan_studio.data import BUILTIN_NAMES

    if spec in BUILTIN_NAMES or is_stacked(spec) or not spec.strip():
        return spec
    return os.path.abspath(Path(spec).expanduser())


def check_data_path(spec: str) -> Path:
    """The path `spec` names (made absolute), checked: it exists and is a folder or a regular file."""
    from gan_studio.data import BUILTIN_NAMES

    path = Path(absolute_data_spec(spec))
    try:
        exists = path.exists()
    except OSError:  # a name too long for the system, and the like: stat_path says what
        exists = True
    if not exists and not path.is_symlink():
        typed = Path(spec).name  # (a name the CLI has already made into a path in the current folder)
        close = difflib.get_close_matches(typed, BUILTIN_NAMES, n=1, cutoff=0.7) if len(typed) < 40 else []
        hint = f"; did you mean {close[0]}?" if close else ""
        raise DataError(
            f"no such dataset: '{shorten(spec, 200)}' is neither a built-in ({', '.join(BUILTIN_NAMES)}) "
            f"nor an existing path{hint}"
        )
    mode = stat_path(path, "dataset path").st_mode
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise DataError(f"not a dataset: it is {describe_kind(mode)} (expected a folder, a .zip or an .npz)", path)
    return path


def _source(path: Path, *, image_size: int, split: str, known_name: str | None, name: str, progress, cancel,
            workers) -> PreparedFile | Dataset:  # fmt: skip
    """The prepared file of an image dataset at `path` (built if needed), or a points Dataset."""
    from gan_studio.data import cifar, idx, imagefiles, npz, prepare

    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npz":
            source = npz.npz_source(path, name)
            if isinstance(source, Dataset):
                return source
            return prepare.prepare_arrays(source, image_size, progress=progress, cancel=cancel, given=str(path))
        if suffix == ".zip":
            listing = imagefiles.list_image_zip(path)
            return prepare.prepare_images(listing, image_size, name=name, progress=progress, cancel=cancel,
                                          workers=workers, given=str(path))  # fmt: skip
        raise DataError("unsupported dataset file (expected a folder, a .zip of images or an .npz)", path)
    if cifar.is_cifar_folder(path):
        source = cifar.cifar_source(path, split, name)
        return prepare.prepare_arrays(source, image_size, progress=progress, cancel=cancel, given=str(path))
    if idx.is_idx_folder(path):
        source = idx.idx_source(path, split, known_name, name)
        return prepare.prepare_arrays(source, image_size, progress=progress, cancel=cancel, given=str(path))
    cifar100 = path if (path / "meta").is_file() and (path / "train").is_file() else path / "cifar-100-python"
    if (cifar100 / "meta").is_file() and (cifar100 / "train").is_file():
        raise DataError("a CIFAR-100 python folder: GAN Studio reads CIFAR-10's python layout (data_batch_1..5), "
                        "image folders, .zip archives, IDX folders and .npz files", path)  # fmt: skip
    listing = imagefiles.list_image_folder(path)
    return prepare.prepare_images(
        listing, image_size, name=name, progress=progress, cancel=cancel, workers=workers, given=str(path)
    )


def prepared_dataset(prepared: PreparedFile, name: str, value_range, channels: int | None) -> Dataset:
    """A Dataset whose pixels are memory-mapped from a prepared file."""
    meta = prepared.meta
    labels = prepared.labels()
    y = torch.from_numpy(labels) if labels is not None else None
    other_formats, other_names = formats_not_read_in(meta)
    return Dataset(name, "images", prepared.pixels(), y, list(meta.class_names) if y is not None else [],
                   (float(value_range[0]), float(value_range[1])), meta.source, channels, list(meta.skipped),
                   meta.skipped_count, str(prepared.path), prepared.check,
                   other_formats, meta.extra.get("kind") in ("folder", "zip"), str(meta.extra.get("one_set") or ""),
                   other_names)  # fmt: skip


def formats_not_read_in(meta) -> tuple[dict, list[str]]:
    """The counts by suffix and the first names of the files in formats not read that a prepared file's meta
    records (empty when it records none, or something else)."""
    counts, names = meta.extra.get("other_formats"), meta.extra.get("other_format_names")
    counts = dict(counts) if isinstance(counts, dict) else {}
    return counts, [str(name) for name in names] if isinstance(names, list) else []


def _dataset_name(spec: str) -> str:
    from gan_studio.data import BUILTIN_NAMES

    return spec if spec in BUILTIN_NAMES else data_name(spec)


def load_dataset(
    spec: str,
    *,
    image_size: int = 32,
    channels: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
    split: str = "train",
    seed: int = 0,
    download: bool = True,
    skip_bad_files: bool = False,
    progress: ProgressCallback | None = None,
    cancel=None,
    workers: int | None = None,
) -> Dataset:
    """A dataset by built-in name or path, ready for a model.

    Images come as uint8 held in memory (built-ins) or memory-mapped from a prepared file (anything
    read from files), converted per batch to float in `value_range` with `channels` channels (None:
    as stored); points as float32 (N, 2). `progress(done, total)` reports downloads (bytes) and
    preparation (images); setting the `cancel` event (a threading.Event) stops either with a
    DataError. Image files that cannot be read are listed in one DataError, unless
    `skip_bad_files`: then the rest is used and `Dataset.skipped` names them. `workers` decoding
    processes (default: every core). Bad input raises DataError.
    """
    from gan_studio.data import BUILTIN_NAMES, GENERATED

    if image_size < 1 or image_size > 4096:
        raise DataError(f"image size must be 1 to 4096 pixels, got {image_size}")
    if not spec.strip():
        raise DataError("no dataset given (the data setting is empty): a built-in name or a path")
    if spec in GENERATED:
        raw = load_raw(spec, image_size=image_size, seed=seed)
        if isinstance(raw, Dataset):
            return raw
        return images_from_raw(raw, spec, image_size, channels, value_range)
    if is_stacked(spec):  # built in memory from the MNIST digits (50,000 x 3 x 28 x 28 bytes)
        raw = load_raw(spec, image_size=image_size, split=split, seed=seed, download=download, progress=progress,
                       cancel=cancel)  # fmt: skip
        return images_from_raw(raw, STACKED_NAME, image_size, channels, value_range)
    path, known_name = _resolve_path(spec, download, progress, cancel)
    name = spec if spec in BUILTIN_NAMES else _dataset_name(spec)
    try:
        found = _source(path, image_size=image_size, split=split, known_name=known_name, name=name,
                        progress=progress, cancel=cancel, workers=workers)  # fmt: skip
    except OSError as exc:  # the cache folder, or a file that vanished while being read
        raise preparation_failed(exc, path) from None
    if isinstance(found, Dataset):
        return found
    if found.meta.skipped_count and not skip_bad_files:
        from gan_studio.data.prepare import bad_files_error

        meta = found.meta
        raise bad_files_error(
            meta.source, meta.skipped, meta.skipped_count, meta.total_count, *formats_not_read_in(meta)
        )
    return prepared_dataset(found, name, value_range, channels)


def preparation_failed(exc: OSError, path: Path) -> GanStudioError:
    """The error of a preparation an OSError stopped: the cache folder full, read-only or no folder (named, with
    GAN_STUDIO_CACHE to move it: the message named the data folder, which was fine), or a data file that could
    not be read (named)."""
    from gan_studio.data.cache import cache_root
    from gan_studio.files import DISK_FULL_ERRNOS, DiskFullError

    root, filename = cache_root(), str(getattr(exc, "filename", None) or "")
    full = exc.errno in DISK_FULL_ERRNOS
    if full or exc.errno == errno.EROFS or filename.startswith(str(root)):  # the data is only read: a write failed
        reason = "the disk is full" if full else "it is read-only" if exc.errno == errno.EROFS else exc.strerror
        elsewhere = "" if full else temporary_cache_problem()  # why the temporary folder did not serve instead
        message = (f"cannot prepare {path} in the dataset cache {root}: {reason or exc}{elsewhere}; set "
                   f"GAN_STUDIO_CACHE to a writable folder with room for it")  # fmt: skip
        return DiskFullError(message) if full else DataError(message)
    where = f" ({shorten(filename, 200)})" if filename else ""
    return DataError(f"cannot prepare the dataset: {exc.strerror or exc}{where}", path)


def load_training_data(spec: str, *, hold_out: bool = False, **options) -> Dataset:
    """The data a run trains on: the dataset's training split (`load_dataset`'s `options`), or with `hold_out`,
    when the dataset comes as one set (a folder, an archive, an .npz, MNIST's test files alone), its fixed
    training part: the rest stays unseen for `gan-studio eval` to judge on (a procedural set or one with its own
    test split is whole: the evaluation has unseen data of its own)."""
    from gan_studio.data import GENERATED
    from gan_studio.data.splits import has_test_split, training_part

    dataset = load_dataset(spec, split="train", **options)
    if not hold_out or spec in GENERATED:
        return dataset
    test = load_dataset(spec, split="test", **{**options, "progress": None})
    return dataset if has_test_split(dataset, test) else training_part(dataset)


def draw_generated(spec: str, n: int | None, image_size: int, seed: int) -> RawImages | Dataset:
    """A draw of `n` samples (None: the usual size) of the generated built-in `spec`: points as a Dataset,
    images as RawImages."""
    from gan_studio.data import GENERATED

    generated = GENERATED[spec]
    samples, labels, names = generated.make(n, image_size, seed)
    if generated.kind == "points":
        return points_dataset(spec, samples, labels, names, spec)
    return RawImages(samples, labels, names, spec)


def _resolve_path(spec: str, download: bool, progress, cancel) -> tuple[Path, str | None]:
    """The file or folder `spec` names: a downloadable set (fetched when allowed; its name comes back too)
    or a local path, checked."""
    from gan_studio.data import DOWNLOADABLE

    if spec in DOWNLOADABLE:
        from gan_studio.data.download import ensure_dataset

        return ensure_dataset(spec, download=download, progress=progress, cancel=cancel), spec
    return check_data_path(spec), None


def load_raw(
    spec: str,
    *,
    image_size: int = 32,
    split: str = "train",
    seed: int = 0,
    download: bool = True,
    progress: ProgressCallback | None = None,
    cancel=None,
) -> RawImages | Dataset:
    """`spec` as raw uint8 images (N, H, W, C) in memory, without a prepared file; points as a Dataset."""
    from gan_studio.data import GENERATED

    if spec in GENERATED:
        return draw_generated(spec, None, image_size, seed)
    if is_stacked(spec):

        def digits(source: str, part: str) -> RawImages:
            raw = load_raw(source, image_size=image_size, split=part, seed=seed, download=download,
                           progress=progress, cancel=cancel)  # fmt: skip
            if not isinstance(raw, RawImages):
                raise DataError("stacked MNIST is built from MNIST digits, not from 2D points", source)
            return raw

        return load_stacked(digits, spec, split, seed)
    from gan_studio.data import cifar, folder, idx, npz

    path, known_name = _resolve_path(spec, download, progress, cancel)
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return npz.load_npz(path)
        if path.suffix.lower() == ".zip":
            return folder.load_image_folder(path, image_size=image_size)
        raise DataError("unsupported dataset file (expected a folder, a .zip of images or an .npz)", path)
    if cifar.is_cifar_folder(path):
        return cifar.load_cifar10(path, split=split)
    if idx.is_idx_folder(path):
        return idx.load_idx_folder(path, split=split, name=known_name)
    return folder.load_image_folder(path, image_size=image_size)
