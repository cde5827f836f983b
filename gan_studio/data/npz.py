"""Datasets saved with `numpy.savez`: images or points in `x`, optional labels `y` and `class_names`.

`x` of shape (N, H, W) or (N, H, W, C) (C = 1 or 3; (N, C, H, W) is also recognised) holds images,
uint8 in 0..255 or float in [0, 1]; `x` of shape (N, D) holds points. The file is opened without
pickle support, so it cannot run code; anything malformed is a DataError naming the file.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from gan_studio.data.dataset import Dataset, RawImages
from gan_studio.data.idx import check_labels
from gan_studio.errors import DataError


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in the archive, loaded without pickle."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise DataError("not an .npz archive (expected a file written by numpy.savez)", path)
            _check_declared_sizes(archive.zip, path)
            arrays = {key: archive[key] for key in archive.files}
    except DataError:
        raise
    except ValueError as exc:  # pickled (object) arrays, or not a numpy file at all
        raise DataError(f"unsupported or corrupt .npz content ({exc})", path) from exc
    # zipfile raises NotImplementedError for an unknown compression method, RuntimeError for an encrypted member
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise DataError(f"corrupt .npz archive ({exc})", path) from exc
    except OSError as exc:
        raise DataError(f"cannot read .npz file ({exc.strerror or exc})", path) from exc
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):  # a member without .npy: numpy hands back its raw bytes
            raise DataError(f"archive member '{key}' is not a numpy array", path)
    return arrays


def _check_declared_sizes(archive: zipfile.ZipFile, path: Path) -> None:
    """Refuse a member whose .npy header declares more data than it holds, before numpy allocates it."""
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with archive.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version not in ((1, 0), (2, 0)):
                raise DataError(f"unsupported .npy format version {version} in '{info.filename}'", path)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fh)
            declared = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
            if not dtype.hasobject and declared > info.file_size - fh.tell():
                raise DataError(
                    f"corrupt .npz archive: '{info.filename}' declares shape {shape} ({declared} bytes) "
                    f"but holds {info.file_size - fh.tell()} bytes",
                    path,
                )


def _to_uint8_images(x: np.ndarray, path: Path) -> np.ndarray:
    """uint8 (N, H, W, C) from integer 0..255 or float [0, 1] images of shape (N, H, W[, C])."""
    if x.ndim == 3:
        x = x[:, :, :, None]
    elif x.shape[3] not in (1, 3) and x.shape[1] in (1, 3):
        x = x.transpose(0, 2, 3, 1)  # channels-first (N, C, H, W)
    if x.shape[3] not in (1, 3):
        raise DataError(f"images in 'x' must have 1 or 3 channels, got shape {x.shape}", path)
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise DataError("float images in 'x' contain NaN or infinite values", path)
        if x.min() < 0.0 or x.max() > 1.0:
            raise DataError(f"float images in 'x' must lie in [0, 1], found [{x.min():g}, {x.max():g}]", path)
        return np.rint(x.astype(np.float32) * 255.0).astype(np.uint8)
    if x.dtype != np.uint8 and (x.min() < 0 or x.max() > 255):
        raise DataError(f"integer images in 'x' must lie in 0..255, found {x.min()}..{x.max()}", path)
    return x.astype(np.uint8, copy=False)


def _class_names(arrays: dict[str, np.ndarray], y: np.ndarray, path: Path) -> list[str]:
    num_labels = int(y.max()) + 1 if y.size else 0
    if "class_names" not in arrays:
        return [str(i) for i in range(num_labels)]
    names = arrays["class_names"]
    if names.dtype.kind not in "US" or names.ndim != 1:
        raise DataError(f"'class_names' must be a 1-D array of strings, got {names.dtype} {names.shape}", path)
    if len(names) < num_labels:
        raise DataError(f"'class_names' has {len(names)} names but the labels go up to {num_labels - 1}", path)
    return [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in names.tolist()]


def load_npz(path: str | Path) -> RawImages | Dataset:
    """Load an .npz dataset: images as RawImages, (N, D) points as a points Dataset."""
    path = Path(path)
    arrays = _read_arrays(path)
    if "x" not in arrays:
        found = ", ".join(sorted(arrays)) or "none"
        raise DataError(f"missing array 'x' (arrays found: {found})", path)
    x = arrays["x"]
    if x.dtype.kind not in "uif":
        raise DataError(f"'x' must hold integers or floats, got dtype {x.dtype}", path)
    if x.ndim not in (2, 3, 4) or x.shape[0] == 0 or x.size == 0:
        raise DataError(f"'x' must be non-empty (N, D) points or (N, H, W[, C]) images, got shape {x.shape}", path)
    y, class_names = None, []
    if "y" in arrays:
        y = check_labels(arrays["y"], x.shape[0], path)
        class_names = _class_names(arrays, y, path)
    if x.ndim == 2:
        if not np.isfinite(x).all():
            raise DataError("points in 'x' contain NaN or infinite values", path)
        from gan_studio.data import points_dataset

        return points_dataset(path.stem, x, y, class_names, str(path))
    return RawImages(_to_uint8_images(x, path), y, class_names, str(path))
