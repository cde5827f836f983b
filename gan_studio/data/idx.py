"""IDX files (the MNIST family's format), raw or gzipped, and folders holding an IDX dataset.

`read_idx` validates the header and checks that the data length matches the declared
dimensions exactly before it allocates anything, so a corrupt or hostile header cannot make it
allocate gigabytes. `load_idx_folder` pairs the images and labels files of a split, as published
for MNIST, Fashion-MNIST and KMNIST (`train-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte`, ...).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from gan_studio.data.budgets import check_class_count, check_memory
from gan_studio.data.dataset import RawImages
from gan_studio.errors import DataError
from gan_studio.user_files import content_stamp, open_user_file

# IDX type code -> numpy dtype (multi-byte values are big-endian in the file).
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_DIMS = 8
# Deflate cannot expand data by more than about 1032:1, which bounds what a .gz can legitimately hold.
_MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20

SPLIT_PREFIXES = {"train": "train", "test": "t10k"}

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
    "kmnist": ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (`.gz` or raw) into an array of its declared type and shape (native byte order)."""
    path = Path(path)
    try:
        with open_user_file(path, "IDX file") as raw:
            file_size = os.fstat(raw.fileno()).st_size
            if path.name.lower().endswith(".gz"):
                with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                    dtype, dims = _read_header(f, path)
                    data = _read_gzip_payload(f, path, dtype, dims, file_size)
            else:
                dtype, dims = _read_header(raw, path)
                data = _read_raw_payload(raw, path, dtype, dims, file_size)
    except DataError:
        raise
    except MemoryError:
        raise DataError("not enough memory to read this IDX file", path) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"truncated or corrupt gzip data ({exc})", path) from exc
    except OSError as exc:
        raise DataError(f"cannot read IDX file ({exc.strerror or exc})", path) from exc
    try:
        array = data.reshape(dims)
    except ValueError:  # an empty dimension beside others whose product overflows numpy's index type
        shape = "x".join(str(d) for d in dims)
        raise DataError(f"IDX header declares an impossible shape {shape}", path) from None
    return array.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else array


def read_idx_header(path: str | Path) -> tuple[np.dtype, tuple[int, ...]]:
    """The declared type and shape of one IDX file (`.gz` or raw), read from its header alone."""
    path = Path(path)
    try:
        with open_user_file(path, "IDX file") as raw:
            if not path.name.lower().endswith(".gz"):
                return _read_header(raw, path)
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                return _read_header(f, path)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"truncated or corrupt gzip data ({exc})", path) from exc
    except OSError as exc:
        raise DataError(f"cannot read IDX file ({exc.strerror or exc})", path) from exc


def _read_header(f, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    magic = f.read(4)
    if len(magic) < 4:
        raise DataError("not an IDX file: shorter than its 4-byte magic number", path)
    if magic[0] != 0 or magic[1] != 0:
        raise DataError(f"not an IDX file: bad magic number 0x{magic.hex()}", path)
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        raise DataError(f"unsupported IDX data type code 0x{code:02x} (magic 0x{magic.hex()})", path)
    if not 1 <= ndim <= MAX_DIMS:
        raise DataError(f"IDX file declares {ndim} dimensions (expected 1 to {MAX_DIMS})", path)
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError("truncated IDX header", path)
    dims = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
    return IDX_DTYPES[code], dims


def _payload_size(dtype: np.dtype, dims: tuple[int, ...]) -> int:
    return math.prod(dims) * dtype.itemsize  # Python ints: no overflow


def _mismatch(path: Path, dims: tuple[int, ...], expected: int, found: str) -> DataError:
    shape = "x".join(str(d) for d in dims)
    return DataError(f"truncated or corrupt IDX file: header declares {shape} ({expected} bytes), {found}", path)


def _read_raw_payload(f, path: Path, dtype: np.dtype, dims: tuple[int, ...], file_size: int) -> np.ndarray:
    expected = _payload_size(dtype, dims)
    available = file_size - f.tell()
    if available != expected:
        raise _mismatch(path, dims, expected, f"but the file holds {available} bytes of data")
    check_memory(expected, "the IDX data", path)
    data = f.read(expected)
    if len(data) != expected:
        raise _mismatch(path, dims, expected, f"but only {len(data)} bytes could be read")
    return np.frombuffer(data, dtype=dtype)


def _read_gzip_payload(f, path: Path, dtype: np.dtype, dims: tuple[int, ...], file_size: int) -> np.ndarray:
    expected = _payload_size(dtype, dims)
    if expected > file_size * _MAX_DEFLATE_RATIO + _CHUNK:
        raise _mismatch(path, dims, expected, "far more than the compressed file can hold")
    check_memory(expected, "the IDX data", path)
    buffer = bytearray()
    while len(buffer) < expected:  # bounded reads: memory grows only with data actually present
        chunk = f.read(min(_CHUNK, expected - len(buffer)))
        if not chunk:
            raise _mismatch(path, dims, expected, f"but it decompresses to only {len(buffer)} bytes of data")
        buffer += chunk
    if f.read(1):
        raise _mismatch(path, dims, expected, "but there is more data after it")
    return np.frombuffer(buffer, dtype=dtype)


def find_idx_file(folder: Path, stem: str) -> Path | None:
    """The file `stem` (raw) or `stem.gz` in `folder`, preferring the raw one; None when neither exists.

    A name that exists but is no regular file (a FIFO, a socket, a folder, a dangling link) is still
    returned when there is no regular one, so that reading it fails with a message naming it rather
    than "no images found"."""
    candidates = (folder / stem, folder / f"{stem}.gz")
    regular = next((c for c in candidates if c.is_file()), None)
    return regular or next((c for c in candidates if os.path.lexists(c)), None)


def _idx_dir(path: Path) -> Path | None:
    """`path` itself or its `raw/` sub-folder (torchvision's layout), whichever holds IDX images."""
    for folder in (path, path / "raw"):
        if any(find_idx_file(folder, f"{prefix}-images-idx3-ubyte") for prefix in SPLIT_PREFIXES.values()):
            return folder
    return None


def is_idx_folder(path: str | Path) -> bool:
    """True when `path` is a folder holding MNIST-style IDX images (train or t10k, raw or .gz)."""
    path = Path(path)
    return path.is_dir() and _idx_dir(path) is not None


def guess_dataset_name(folder: Path) -> str | None:
    """Recognise Fashion-MNIST or KMNIST from the folder's (or its parent's) name; None otherwise."""
    for part in (folder.name, folder.parent.name):
        key = part.lower().replace("_", "").replace("-", "")
        if "fashion" in key:
            return "fashion-mnist"
        if "kmnist" in key or "kuzushiji" in key:
            return "kmnist"
    return None


def class_names_for(name: str | None, num_labels: int) -> list[str]:
    """Class names of a known MNIST-family set, else the label numbers as text ("0".."9" at least)."""
    names = CLASS_NAMES.get(name or "")
    if names is not None and num_labels <= len(names):
        return list(names)
    return [str(i) for i in range(max(10, num_labels))]


def check_labels(labels: np.ndarray, count: int, source: str | Path, num_classes: int | None = None) -> np.ndarray:
    """Validate integer class labels for `count` samples and return them as int64 (N,)."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise DataError(f"labels must be integers, got dtype {labels.dtype}", source)
    if labels.ndim != 1 or labels.shape[0] != count:
        raise DataError(f"expected {count} labels (one per sample), got shape {labels.shape}", source)
    if count and labels.min() < 0:
        raise DataError(f"labels must not be negative (found {labels.min()})", source)
    if count:
        check_class_count(int(labels.max()), source)
    if count and num_classes is not None and labels.max() >= num_classes:
        raise DataError(f"label {labels.max()} is out of range for {num_classes} classes", source)
    return labels.astype(np.int64)


def split_files(folder: Path, split: str) -> tuple[Path, Path, Path | None]:
    """(IDX folder, images file, labels file or None) of `split`, or of the other split when it is absent."""
    if split not in SPLIT_PREFIXES:
        raise DataError(f"unknown split '{split}' (expected one of: {', '.join(SPLIT_PREFIXES)})", folder)
    idx_dir = _idx_dir(folder) if folder.is_dir() else None
    if idx_dir is None:
        raise DataError("no IDX images file (train-images-idx3-ubyte[.gz] or t10k-...) in this folder", folder)
    prefixes = [SPLIT_PREFIXES[split]] + [p for p in SPLIT_PREFIXES.values() if p != SPLIT_PREFIXES[split]]
    prefix = next(p for p in prefixes if find_idx_file(idx_dir, f"{p}-images-idx3-ubyte"))  # _idx_dir found one
    images_path = find_idx_file(idx_dir, f"{prefix}-images-idx3-ubyte")
    return idx_dir, images_path, find_idx_file(idx_dir, f"{prefix}-labels-idx1-ubyte")


def idx_source(folder: Path, split: str, name: str | None, display_name: str):
    """An IDX folder's split as an ArraySource (identified by its files' content; read only when needed)."""
    from gan_studio.data.prepare import ArrayImages, ArraySource

    _, images_path, labels_path = split_files(folder, split)
    key_files = [content_stamp(p) for p in (images_path, labels_path) if p is not None]
    read = "test" if images_path.name.startswith(SPLIT_PREFIXES["test"]) else "train"  # (the other, when absent)
    return ArraySource("idx", folder.resolve(), display_name, [*key_files, name or ""],
                       lambda: ArrayImages.from_raw(load_idx_folder(folder, split, name)), read)  # fmt: skip


def load_idx_folder(folder: str | Path, split: str = "train", name: str | None = None) -> RawImages:
    """Load the images and labels of `split` ("train" or "test") from an MNIST-style folder.

    When the folder only holds the other split, that one is used (a folder with only the test set
    can still be trained on). `name` ("mnist", "fashion-mnist", "kmnist") picks the class names;
    without it they are guessed from the folder name, defaulting to the digits.
    """
    folder = Path(folder)
    idx_dir, images_path, labels_path = split_files(folder, split)
    images = read_idx(images_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"expected uint8 images of shape (N, H, W), got {images.dtype} {images.shape}", images_path)
    if images.shape[0] == 0:
        raise DataError("the images file holds no images", images_path)
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise DataError(f"the images are empty ({images.shape[1]}x{images.shape[2]} pixels)", images_path)
    name = name or guess_dataset_name(idx_dir)
    labels, class_names = None, []
    if labels_path is not None:
        raw_labels = read_idx(labels_path)
        if raw_labels.ndim != 1 or raw_labels.dtype != np.uint8:
            found = f"{raw_labels.dtype} {raw_labels.shape}"
            raise DataError(f"expected uint8 labels of shape (N,), got {found}", labels_path)
        if raw_labels.shape[0] != images.shape[0]:
            raise DataError(
                f"{labels_path.name} holds {raw_labels.shape[0]} labels but {images_path.name} holds "
                f"{images.shape[0]} images",
                labels_path,
            )
        labels = check_labels(raw_labels, images.shape[0], labels_path)
        class_names = class_names_for(name, int(labels.max()) + 1)
    return RawImages(images[:, :, :, None], labels, class_names, str(folder))
