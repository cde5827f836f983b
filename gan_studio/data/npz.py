"""Datasets saved with `numpy.savez`: images or points in `x`, optional labels `y` and `class_names`.

`x` of shape (N, H, W) or (N, H, W, C) (C = 1 or 3; (N, C, H, W) is also recognised) holds images,
uint8 in 0..255 or float in [0, 1]; `x` of shape (N, 2) holds 2D points. The archive is read
without pickle support, so it cannot run code. Every member's .npy header (shape and dtype) is read
and checked before any data: a member declaring more than it holds, or more than memory allows, is
refused before allocation. Images are streamed in chunks into a prepared file, so `x` never has to
fit in memory; points, labels and names are read whole, within the memory budget. Values that are
finite in float64 but not in float32 (1e300) are refused. Anything malformed is a DataError naming
the file.
"""

from __future__ import annotations

import math
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_studio.data.budgets import MAX_IMAGE_PIXELS, check_class_names, check_memory
from gan_studio.data.dataset import Dataset, RawImages, points_dataset
from gan_studio.data.idx import check_labels
from gan_studio.errors import DataError, shorten
from gan_studio.user_files import open_user_file

_FLOAT32_MAX = float(np.finfo(np.float32).max)
MAX_NPY_HEADER = 10_000  # bytes of a member's .npy header read (numpy's own limit; a real header is ~100 bytes)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError)


@dataclass
class Member:
    """One .npy member: its header, read and checked, and where it is in the archive."""

    key: str
    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # Python ints: no overflow


class NpzArchive:
    """An .npz opened for reading: the headers of its members, and their data on request."""

    def __init__(self, path: Path):
        self.path = path
        self.file = open_user_file(path, ".npz file")
        try:
            self.zip = zipfile.ZipFile(self.file)
            self.members = {m.key: m for m in (self._header(info) for info in self.zip.infolist())}
        except DataError:
            self.close()
            raise
        except (*_ZIP_ERRORS, OSError, ValueError) as exc:
            self.close()
            raise DataError(f"corrupt .npz archive ({shorten(exc, 200)})", path) from None

    def close(self) -> None:
        if hasattr(self, "zip"):
            self.zip.close()
        self.file.close()

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _header(self, info: zipfile.ZipInfo) -> Member:
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if not info.filename.endswith(".npy"):
            raise DataError(f"archive member '{shorten(key, 80)}' is not a numpy array", self.path)
        with self.zip.open(info) as fh:
            shape, dtype, fortran, offset = _read_npy_header(fh, info.filename, self.path)
        member = Member(key, info, shape, dtype, fortran)
        if member.nbytes > info.file_size - offset:
            raise DataError(
                f"corrupt .npz archive: '{shorten(info.filename, 80)}' declares shape {shape} ({member.nbytes} bytes) "
                f"but holds {info.file_size - offset} bytes",
                self.path,
            )
        return member

    def _stream(self, member: Member):
        fh = self.zip.open(member.info)
        _read_npy_header(fh, member.info.filename, self.path)
        return fh

    def read(self, key: str) -> np.ndarray:
        """A whole member as an array (native byte order), after checking it fits the memory budget."""
        member = self.members[key]
        check_memory(member.nbytes, f"array '{shorten(key, 80)}' ({member.shape}, {member.dtype})", self.path)
        try:
            with self._stream(member) as fh:
                data = _read_exactly(fh, member.nbytes, member, self.path)
        except DataError:
            raise
        except (*_ZIP_ERRORS, OSError, ValueError) as exc:
            raise DataError(f"corrupt .npz archive ({shorten(exc, 200)})", self.path) from None
        except MemoryError:
            raise DataError(f"not enough memory to read '{shorten(key, 80)}'", self.path) from None
        array = np.frombuffer(data, dtype=member.dtype).reshape(member.shape, order="F" if member.fortran else "C")
        return array.astype(member.dtype.newbyteorder("="), copy=False)

    def row_chunks(self, key: str, rows: int) -> Iterator[np.ndarray]:
        """A C-ordered member in chunks of `rows` rows along its first axis (bounded memory)."""
        member = self.members[key]
        row_bytes = member.nbytes // max(1, member.shape[0])
        try:
            with self._stream(member) as fh:
                for start in range(0, member.shape[0], rows):
                    n = min(rows, member.shape[0] - start)
                    data = _read_exactly(fh, n * row_bytes, member, self.path)
                    chunk = np.frombuffer(data, dtype=member.dtype).reshape((n, *member.shape[1:]))
                    yield chunk.astype(member.dtype.newbyteorder("="), copy=False)
        except DataError:
            raise
        except (*_ZIP_ERRORS, OSError, ValueError) as exc:
            raise DataError(f"corrupt .npz archive ({shorten(exc, 200)})", self.path) from None


def _read_npy_header(fh, name: str, path: Path) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    try:
        version = np.lib.format.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise DataError(f"unsupported .npy format version {version} in '{shorten(name, 80)}'", path)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fh, max_header_size=MAX_NPY_HEADER)
    except DataError:
        raise
    except (ValueError, TypeError, SyntaxError, EOFError, *_ZIP_ERRORS, OSError) as exc:
        if "max_header_size" in str(exc):  # numpy's advice (max_header_size, allow_pickle) cannot be followed here
            size = re.search(r"\((\d+)\)", str(exc))
            raise DataError(f"the .npy header of '{shorten(name, 80)}' is too large"
                            f"{f' ({int(size.group(1)):,} bytes)' if size else ''}: at most {MAX_NPY_HEADER:,} bytes "
                            "are read (a real one holds a few hundred)", path) from None  # fmt: skip
        raise DataError(f"unsupported or corrupt .npz content in '{shorten(name, 80)}' ({shorten(exc, 200)})",
                        path) from None  # fmt: skip
    if dtype.hasobject:
        raise DataError(f"'{shorten(name, 80)}' holds Python objects (pickle), which are never loaded", path)
    return tuple(int(s) for s in shape), dtype, bool(fortran), fh.tell()


def _read_exactly(fh, nbytes: int, member: Member, path: Path) -> bytes:
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise DataError(f"corrupt .npz archive: '{shorten(member.info.filename, 80)}' is truncated", path)
    return data


# --- validation --------------------------------------------------------------------------------------


def image_layout(shape: tuple[int, ...], path: Path) -> tuple[int, int, int, bool]:
    """(H, W, C, channels_first) of images of shape (N, H, W), (N, H, W, C) or (N, C, H, W)."""
    if len(shape) == 3:
        layout = shape[1], shape[2], 1, False
    elif shape[3] not in (1, 3) and shape[1] in (1, 3):
        layout = shape[2], shape[3], shape[1], True
    elif shape[3] not in (1, 3):
        raise DataError(f"images in 'x' must have 1 or 3 channels, got shape {shape}", path)
    else:
        layout = shape[1], shape[2], shape[3], False
    if layout[0] * layout[1] > MAX_IMAGE_PIXELS:  # as for image files: one image is read and fitted at a time
        raise DataError(f"images in 'x' are {layout[1]:,} x {layout[0]:,} pixels, beyond the limit of "
                        f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels per image", path)  # fmt: skip
    return layout


def _uint8_chunk(x: np.ndarray, channels_first: bool, path: Path) -> np.ndarray:
    """uint8 (n, H, W, C) from a chunk of integer 0..255 or float [0, 1] images."""
    if x.ndim == 3:
        x = x[:, :, :, None]
    elif channels_first:
        x = x.transpose(0, 2, 3, 1)
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise DataError("float images in 'x' contain NaN or infinite values", path)
        if x.min() < 0.0 or x.max() > 1.0:
            raise DataError(f"float images in 'x' must lie in [0, 1], found [{x.min():.9g}, {x.max():.9g}]", path)
        return np.rint(x.astype(np.float32) * 255.0).astype(np.uint8)
    if x.dtype != np.uint8 and (x.min() < 0 or x.max() > 255):
        raise DataError(f"integer images in 'x' must lie in 0..255, found {x.min()}..{x.max()}", path)
    return np.ascontiguousarray(x.astype(np.uint8, copy=False))


def _class_names(archive: NpzArchive, y: np.ndarray, path: Path) -> list[str]:
    num_labels = int(y.max()) + 1 if y.size else 0  # bounded: check_labels refused labels past MAX_CLASSES
    if "class_names" not in archive.members:
        return [str(i) for i in range(num_labels)]
    member = archive.members["class_names"]
    if member.dtype.kind not in "US" or len(member.shape) != 1:
        raise DataError(f"'class_names' must be a 1-D array of strings, got {member.dtype} {member.shape}", path)
    check_class_names([""] * member.shape[0], path)  # the count, before reading the names
    names = archive.read("class_names")
    if len(names) < num_labels:
        raise DataError(f"'class_names' has {len(names)} names but the labels go up to {num_labels - 1}", path)
    text = [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in names.tolist()]
    return check_class_names(text, path)


@dataclass
class NpzContent:
    """What an .npz holds, checked: x's header, the labels and class names."""

    x: Member
    y: np.ndarray | None
    class_names: list[str]


def npz_content(archive: NpzArchive, path: Path) -> NpzContent:
    if "x" not in archive.members:
        found = ", ".join(shorten(k, 40) for k in sorted(archive.members)[:20]) or "none"
        raise DataError(f"missing array 'x' (arrays found: {found})", path)
    x = archive.members["x"]
    if x.dtype.kind not in "uif":
        raise DataError(f"'x' must hold integers or floats, got dtype {x.dtype}", path)
    if len(x.shape) not in (2, 3, 4) or x.shape[0] == 0 or math.prod(x.shape) == 0:
        raise DataError(f"'x' must be non-empty (N, 2) points or (N, H, W[, C]) images, got shape {x.shape}", path)
    if len(x.shape) == 2 and x.shape[1] != 2:
        raise DataError(f"'x' of shape {x.shape} is neither 2D points (N, 2) nor images (N, H, W[, C])", path)
    y, class_names = None, []
    if "y" in archive.members:
        y_shape = archive.members["y"].shape
        if y_shape not in ((x.shape[0],), (x.shape[0], 1)):  # from the header, before reading (a small file can
            # hold billions of labels); (N, 1) is how Keras and scikit-learn often save them
            raise DataError(f"expected {x.shape[0]} labels (one per sample), got shape {y_shape}", path)
        y = check_labels(archive.read("y").reshape(-1), x.shape[0], path)
        class_names = _class_names(archive, y, path)
    return NpzContent(x, y, class_names)


def _points(archive: NpzArchive, content: NpzContent, path: Path) -> Dataset:
    x = archive.read("x")
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise DataError("points in 'x' contain NaN or infinite values", path)
        largest = float(np.abs(x).max())
        if largest > _FLOAT32_MAX:
            raise DataError(f"points in 'x' reach {largest:g}, beyond the float32 range (about 3.4e38)", path)
    return points_dataset(path.stem, x, content.y, content.class_names, str(path))


def load_npz(path: str | Path) -> RawImages | Dataset:
    """Load an .npz dataset whole, in memory: images as RawImages, (N, 2) points as a points Dataset."""
    path = Path(path)
    with NpzArchive(path) as archive:
        content = npz_content(archive, path)
        if len(content.x.shape) == 2:
            return _points(archive, content, path)
        _, _, _, channels_first = image_layout(content.x.shape, path)
        x = _uint8_chunk(archive.read("x"), channels_first, path)
        return RawImages(x, content.y, content.class_names, str(path))


def npz_source(path: str | Path, name: str):
    """An .npz as a points Dataset (read now), or an ArraySource streaming its images (for a prepared file)."""
    from gan_studio.data.prepare import ArrayImages, ArraySource

    path = Path(path)
    with NpzArchive(path) as archive:
        content = npz_content(archive, path)
        if len(content.x.shape) == 2:
            return _points(archive, content, path)
        _, _, channels, channels_first = image_layout(content.x.shape, path)
        stamps = sorted((m.key, m.info.CRC, m.info.file_size) for m in archive.members.values())
    stat = path.stat()
    x_member = content.x

    def chunks(rows: int) -> Iterator[np.ndarray]:
        with NpzArchive(path) as archive:
            if x_member.fortran:  # rare: read whole (within the memory budget), then slice
                whole = archive.read("x")
                for start in range(0, whole.shape[0], rows):
                    yield _uint8_chunk(whole[start : start + rows], channels_first, path)
                return
            for chunk in archive.row_chunks("x", rows):
                yield _uint8_chunk(chunk, channels_first, path)

    row_bytes = x_member.nbytes // max(1, x_member.shape[0])
    images = ArrayImages(x_member.shape[0], channels, content.y, content.class_names, chunks, row_bytes)
    key_files = [(str(path.resolve()), stat.st_size, stat.st_mtime_ns), *stamps]
    return ArraySource("npz", path.resolve(), name, key_files, lambda: images)
