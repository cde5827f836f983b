"""CIFAR-10 in its "python version" layout (`data_batch_1`..`5`, `test_batch`, `batches.meta`).

The batches are pickles, so they are read with a restricted unpickler that only rebuilds plain
containers and uint8 numpy arrays: any other global (a function to call, a class to build) is
refused with a DataError before anything runs. Works with the published Python 2 pickles and with
batches written by Python 3.
"""

from __future__ import annotations

import functools
import importlib
import pickle
from pathlib import Path

import numpy as np

from gan_studio.data.budgets import check_class_names, check_memory
from gan_studio.data.dataset import RawImages
from gan_studio.data.idx import check_labels
from gan_studio.errors import DataError
from gan_studio.user_files import content_stamp, open_user_file

BATCHES_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IMAGE_SHAPE = (3, 32, 32)  # rows are stored channel-major: 1024 red, 1024 green, 1024 blue


def _latin1_encode(text, encoding="latin1", errors="strict"):
    """Stand-in for `_codecs.encode`, which Python 3 protocol-2 pickles use to store bytes."""
    if encoding not in ("latin1", "latin-1") or errors != "strict":
        raise pickle.UnpicklingError(f"forbidden encoding {encoding!r} in pickle")
    return text.encode("latin1")


def _numpy_global(module: str, name: str):
    return getattr(importlib.import_module(module), name)


@functools.cache
def _allowed_globals() -> dict[tuple[str, str], object]:
    core = "numpy._core" if hasattr(np, "_core") else "numpy.core"
    reconstruct = _numpy_global(f"{core}.multiarray", "_reconstruct")
    scalar = _numpy_global(f"{core}.multiarray", "scalar")
    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # numpy 1 and numpy 2 spellings
        allowed[(module, "_reconstruct")] = reconstruct
        allowed[(module, "scalar")] = scalar
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only resolves the globals needed to rebuild numpy arrays."""

    def find_class(self, module: str, name: str):
        try:
            return _allowed_globals()[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}") from None


def _plain_key(key) -> object:
    return key.decode("latin1") if isinstance(key, bytes) else key


def read_batch_pickle(path: Path) -> dict:
    """Unpickle a CIFAR batch/meta file safely; keys come back as str."""
    try:
        with open_user_file(path, "CIFAR file") as f:
            obj = _RestrictedUnpickler(f, encoding="bytes").load()
    except DataError:
        raise
    except MemoryError:
        raise DataError("not enough memory to read this CIFAR file", path) from None
    except OSError as exc:
        raise DataError(f"cannot read CIFAR file ({exc.strerror or exc})", path) from exc
    except pickle.UnpicklingError as exc:
        raise DataError(f"refused or corrupt CIFAR pickle: {exc}", path) from exc
    except Exception as exc:  # noqa: BLE001 - anything a malformed pickle can raise is a data problem
        raise DataError(f"corrupt CIFAR pickle ({type(exc).__name__}: {exc})", path) from exc
    if not isinstance(obj, dict):
        raise DataError(f"expected a dict in the CIFAR pickle, got {type(obj).__name__}", path)
    return {_plain_key(k): v for k, v in obj.items()}


def batches_dir(path: str | Path) -> Path | None:
    """The folder holding the batch files: `path` itself or its `cifar-10-batches-py` sub-folder."""
    path = Path(path)
    for folder in (path, path / BATCHES_DIR):
        if folder.is_dir() and any((folder / name).is_file() for name in TRAIN_BATCHES + [TEST_BATCH]):
            return folder
    return None


def is_cifar_folder(path: str | Path) -> bool:
    """True when `path` is (or contains) a CIFAR-10 python-version batches folder."""
    return batches_dir(path) is not None


def read_class_names(folder: Path) -> list[str]:
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        return list(CIFAR10_CLASSES)
    names = read_batch_pickle(meta_path).get("label_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataError("expected a list of class names under 'label_names'", meta_path)
    text = [n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names]
    return check_class_names(text, meta_path)


def _read_batch(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    batch = read_batch_pickle(path)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"expected 'data' to be a uint8 array of shape (N, 3072), got {found}", path)
    if data.shape[1] != int(np.prod(IMAGE_SHAPE)):
        raise DataError(f"expected 'data' rows of 3072 values (3x32x32), got shape {data.shape}", path)
    if isinstance(labels, list) and all(type(v) is int and 0 <= v < num_classes for v in labels):
        labels = np.array(labels, dtype=np.int64)
    elif not isinstance(labels, np.ndarray):
        raise DataError(f"expected 'labels' to be a list of integers 0..{num_classes - 1}", path)
    labels = check_labels(labels, data.shape[0], path, num_classes)
    images = data.reshape(-1, *IMAGE_SHAPE).transpose(0, 2, 3, 1)
    return images, labels


def split_files(folder: Path, split: str) -> tuple[Path, list[Path]]:
    """(batches folder, batch files) of `split`, or of the other split when its files are absent."""
    root = batches_dir(folder)
    if root is None:
        raise DataError("no CIFAR-10 batch files (data_batch_1..5, test_batch) in this folder", folder)
    splits = {"train": TRAIN_BATCHES, "test": [TEST_BATCH]}
    if split not in splits:
        raise DataError(f"unknown split '{split}' (expected one of: {', '.join(splits)})", folder)
    files = [root / name for name in splits[split] if (root / name).is_file()]
    if not files:
        other = "test" if split == "train" else "train"
        files = [root / name for name in splits[other] if (root / name).is_file()]
    return root, files


def cifar_source(folder: Path, split: str, display_name: str):
    """A CIFAR-10 split as an ArraySource (identified by its files' content; read only when needed)."""
    from gan_studio.data.prepare import ArrayImages, ArraySource

    root, files = split_files(folder, split)
    meta = [root / META_FILE] if (root / META_FILE).is_file() else []
    key_files = [content_stamp(p) for p in files + meta]
    read = "test" if files[0].name == TEST_BATCH else "train"  # (the other split, when this one is absent)
    return ArraySource("cifar", root.resolve(), display_name, key_files,
                       lambda: ArrayImages.from_raw(load_cifar10(folder, split)), read)  # fmt: skip


def incomplete_error(root: Path, missing: list[str]) -> DataError:
    """The batches folder lacks some files of a split (a partial download or copy)."""
    return DataError(f"the CIFAR-10 batches are incomplete: {', '.join(missing)} missing (copy or download them "
                     "again; the built-in 'cifar10' downloads the whole set)", root)  # fmt: skip


def load_cifar10(folder: str | Path, split: str = "train") -> RawImages:
    """Load CIFAR-10 `split` ("train": data_batch_1..5, "test": test_batch) as uint8 (N, 32, 32, 3).

    `folder` is the `cifar-10-batches-py` folder or its parent. When the requested split's files
    are absent but the other split's are present, the other split is used.
    """
    root, files = split_files(Path(folder), split)
    check_memory(sum(p.stat().st_size for p in files), "the CIFAR batches", root)
    class_names = read_class_names(root)
    batches = [_read_batch(path, len(class_names)) for path in files]
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    if images.shape[0] == 0:
        raise DataError("the CIFAR batches hold no images", root)
    expected = TRAIN_BATCHES if files[0].name in TRAIN_BATCHES else [TEST_BATCH]
    missing = [name for name in expected if not (root / name).is_file()]
    if missing:  # a partial download or copy would train on a fraction of the set, unsaid
        raise incomplete_error(root, missing)
    return RawImages(np.ascontiguousarray(images), labels, class_names, str(root))
