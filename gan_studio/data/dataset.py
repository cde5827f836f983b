"""The dataset every loader produces: uint8 images (in RAM or memory-mapped) or float points.

Contract of `Dataset` (what the trainer, the evaluation and the explorer rely on):

- `kind` "images" or "points"; `len(ds)`; `sample_shape` (C, H, W) or (D,) as the model sees it;
  `y` int64 (N,) labels or None; `class_names`; `num_classes`; `value_range` of `take`'s output.
- `pixels`: images only, uint8 (N, C, H, W) as stored: a numpy array in RAM, or a read-only
  `np.memmap` of a prepared cache file (datasets larger than memory train from it). C may differ
  from `sample_shape[0]`: a 1 <-> 3 channel conversion is done per batch by `to_model_range`.
  Asking for `pixels` checks every block of a prepared file first; `take`, `subset` and the
  BatchStream (`storage` + `verify_rows`) check only the blocks they read, before reading them.
- `take(indices)` -> float32 tensor (n, *sample_shape) in `value_range`: only those samples are
  converted. `head(n)` is `take(range(n))`. `subset(indices)` -> a smaller Dataset held in RAM.
- `x`: the whole set as float, for small sets only (evaluation, tests); refused when it would not
  fit in memory. Nothing on the training path uses it.
- `describe()` -> the bounded, JSON-able descriptor recorded in run.json (bad files skipped, too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from gan_studio.data.budgets import check_memory, rows_per_chunk
from gan_studio.errors import ConfigError, DataError, shorten

MAX_DESCRIBED_SKIPPED = 100  # bad files named in describe() (the count is always given)
SAMPLED_ROWS = 256  # rows of a sample fingerprint (moved data is told from other data by them)
_GREY_WEIGHTS = (0.299, 0.587, 0.114)
_CHUNK = 1024  # images converted at a time when fitting a whole array


@dataclass
class RawImages:
    """What an array loader returns before resizing: uint8 pixels (N, H, W, C) and labels."""

    x: np.ndarray  # uint8 (N, H, W, C), C in {1, 3}
    y: np.ndarray | None  # int64 (N,) or None
    class_names: list[str] = field(default_factory=list)
    source: str = ""


def to_model_range(pixels: torch.Tensor, value_range: tuple[float, float], channels: int | None = None) -> torch.Tensor:
    """uint8 images (n, C, H, W) -> float32 in `value_range` with `channels` channels, on their device."""
    x = pixels.float().div_(255.0)
    c = x.shape[1]
    if channels and c != channels:
        if c == 1 and channels == 3:
            x = x.expand(-1, 3, -1, -1).contiguous()
        elif c == 3 and channels == 1:
            weights = torch.tensor(_GREY_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            x = (x * weights).sum(dim=1, keepdim=True)
        else:
            raise DataError(f"cannot convert {c}-channel images to {channels} channels")
    lo, hi = value_range
    if (lo, hi) != (0.0, 1.0):
        x = x.mul_(hi - lo).add_(lo)
    return x


def _as_index(indices) -> np.ndarray:
    if isinstance(indices, range):
        return np.arange(indices.start, indices.stop, indices.step, dtype=np.int64)
    if isinstance(indices, torch.Tensor):
        return indices.detach().cpu().numpy().astype(np.int64, copy=False).reshape(-1)
    return np.asarray(indices, dtype=np.int64).reshape(-1)


def gather_rows(array: np.ndarray, index: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """array[index] along the first axis (a slice when the index is a contiguous run), into `out` if given."""
    n = len(index)
    if n and index[-1] - index[0] == n - 1 and (n == 1 or bool((np.diff(index) == 1).all())):
        rows = array[index[0] : index[0] + n]
        if out is None:
            return np.array(rows)
        out[:n] = rows
        return out[:n]
    if out is not None:
        return np.take(array, index, axis=0, out=out[:n])
    return np.asarray(np.take(array, index, axis=0))  # a plain array (np.take keeps the np.memmap class)


@dataclass(eq=False)
class Dataset:
    """A dataset ready for a model (see the module docstring for the contract)."""

    name: str
    kind: str  # "images" | "points"
    storage: np.ndarray  # images: uint8 (N, C, H, W), possibly np.memmap; points: float32 (N, D)
    y: torch.Tensor | None  # int64 (N,) or None
    class_names: list[str]
    value_range: tuple[float, float] = (0.0, 1.0)  # of take(); points: the data's (min, max)
    source: str = ""
    channels: int | None = None  # images: channels the model sees; None = as stored
    skipped: list[dict] = field(default_factory=list)  # bad files left out: [{"name", "reason"}], bounded
    skipped_count: int = 0
    prepared_file: str = ""  # the cache file the pixels are mapped from ("" when in RAM)
    check: object = None  # cache.BlockCheck of a prepared file: blocks are checked before first use
    other_formats: dict = field(default_factory=dict)  # ".heic" -> files of an image folder in formats not read
    classes_from_folders: bool = False  # an image folder's (or zip's) sub-folders are its classes
    one_set: str = ""  # why an image folder's sub-folders were read with its top images as one set (no classes)
    other_format_names: list = field(default_factory=list)  # the first few files in formats not read (names)

    def __post_init__(self):
        if self.kind == "images" and (self.storage.dtype != np.uint8 or self.storage.ndim != 4):
            raise DataError(f"images must be uint8 (N, C, H, W), got {self.storage.dtype} {self.storage.shape}")
        if self.kind == "points" and (self.storage.dtype != np.float32 or self.storage.ndim != 2):
            raise DataError(f"points must be float32 (N, D), got {self.storage.dtype} {self.storage.shape}")

    def __len__(self) -> int:
        return int(self.storage.shape[0])

    @property
    def pixels(self) -> np.ndarray:
        """uint8 (N, C, H, W) images as stored (images only), every block checked."""
        if self.kind != "images":
            raise AttributeError("a point dataset has no pixels")
        if self.check is not None:
            self.check.all()
        return self.storage

    def verify_rows(self, index: np.ndarray) -> None:
        """Check the blocks of a prepared file that hold rows `index` (a DataError when damaged)."""
        if self.check is not None:
            self.check.rows(index)

    def _rows(self, index: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        self.verify_rows(index)
        return gather_rows(self.storage, index, out)

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.y is not None else 0

    @property
    def sample_shape(self) -> tuple[int, ...]:
        shape = tuple(int(s) for s in self.storage.shape[1:])
        if self.kind == "images" and self.channels:
            return (self.channels, *shape[1:])
        return shape

    def take(self, indices: Sequence[int] | np.ndarray | torch.Tensor | range) -> torch.Tensor:
        """The samples `indices` as float32 (n, *sample_shape) in `value_range`."""
        index = _as_index(indices)
        if len(index) and (index.min() < -len(self) or index.max() >= len(self)):
            raise IndexError(f"index out of range for a dataset of {len(self)} samples")
        index = np.where(index < 0, index + len(self), index)
        rows = torch.from_numpy(self._rows(index))
        if self.kind == "points":
            return rows
        return to_model_range(rows, self.value_range, self.channels)

    def head(self, n: int) -> torch.Tensor:
        """The first n samples (all when there are fewer), as `take` gives them."""
        return self.take(range(min(int(n), len(self))))

    def subset(self, indices) -> Dataset:
        """The samples `indices` as a Dataset held in RAM (labels and names kept)."""
        index = _as_index(indices)
        storage = self._rows(index)
        y = self.y[torch.from_numpy(index)] if self.y is not None else None
        return Dataset(self.name, self.kind, storage, y, list(self.class_names), self.value_range, self.source,
                       self.channels, list(self.skipped), self.skipped_count)  # fmt: skip

    @property
    def x(self) -> torch.Tensor:
        """The whole set as float (small sets only: evaluation and tests; training never uses it)."""
        check_memory(len(self) * 4 * int(np.prod(self.sample_shape)), f"the whole of '{self.name}' as float")
        return self.take(range(len(self)))

    def fingerprint(self) -> str:
        """SHA-1 of the stored samples, labels, shape and value range (for caches keyed by content)."""
        digest = hashlib.sha1(f"{self.kind} {self.sample_shape} {self.value_range}".encode())
        stored = self.pixels if self.kind == "images" else self.storage
        step = max(1, (64 * 2**20) // max(1, stored[:1].nbytes))
        for start in range(0, len(self), step):
            digest.update(np.ascontiguousarray(stored[start : start + step]).tobytes())
        if self.y is not None:
            digest.update(self.y.numpy().tobytes())
        return digest.hexdigest()

    def sample_fingerprint(self) -> str:
        """SHA-1 of the count, shape, every label and SAMPLED_ROWS rows spread over the set: tells moved data
        (the same samples elsewhere) from other data, reading a few MB of a 200k-image set, not all of it."""
        digest = hashlib.sha1(f"{self.kind} {self.sample_shape} {len(self)}".encode())
        stored = self.pixels if self.kind == "images" else self.storage
        rows = np.unique(np.linspace(0, len(self) - 1, min(len(self), SAMPLED_ROWS)).astype(np.int64))
        digest.update(np.ascontiguousarray(stored[rows]).tobytes())
        if self.y is not None:
            digest.update(self.y.numpy().tobytes())
        return digest.hexdigest()

    def require_labels(self, model_name: str, spec: str) -> None:
        """ConfigError unless the samples have labels (a conditional model trains on them), saying why not, and
        unless every class has samples: a conditional model would be made for classes it never sees (an IDX
        file with one stray label 200 among 0-9 made a 201-class model, its sample grid 201 rows of noise),
        as an image folder's empty class folder is refused."""
        if self.y is None:
            why = f": {self.one_set}" if self.one_set else ""
            raise ConfigError(f"{model_name} needs a labelled dataset; '{spec}' has no labels{why}")
        empty = self.classes_without_samples()
        if empty:
            raise ConfigError(f"{model_name} needs samples of every class it is made for: in '{spec}', "
                              f"{empty}. A stray label in the labels file? Fix the labels, or train a model without "
                              "classes (e.g. dcgan)")  # fmt: skip

    def classes_without_samples(self) -> str:
        """'labels 10-199 (190 of 201 classes) have no samples', or "" when every class has some."""
        if self.y is None or not self.num_classes or not len(self.y):
            return ""
        counts = torch.bincount(self.y, minlength=self.num_classes)
        empty = torch.nonzero(counts == 0).flatten().tolist()
        if not empty:
            return ""
        runs = []  # consecutive labels as ranges: "10-199"
        for label in empty:
            if runs and runs[-1][1] == label - 1:
                runs[-1][1] = label
            else:
                runs.append([label, label])
        text = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in runs[:5]) + (", …" if len(runs) > 5 else "")
        labels, have = ("label", "has") if len(empty) == 1 else ("labels", "have")
        return f"{labels} {text} ({len(empty)} of {self.num_classes} classes) {have} no samples"

    def describe(self) -> dict:
        """Plain, bounded descriptor recorded in run.json."""
        info = {
            "name": shorten(self.name, 200),
            "source": shorten(self.source, 4096),
            "kind": self.kind,
            "size": len(self),
            "shape": list(self.sample_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "value_range": list(self.value_range),
            "sample_fingerprint": self.sample_fingerprint() if len(self) else "",
        }
        if self.classes_from_folders and self.y is not None:
            info["classes_from"] = "sub-folders"
        if self.one_set:
            info["one_set"] = shorten(self.one_set, 400)
        empty = self.classes_without_samples()
        if empty:
            info["empty_classes"] = empty
        if self.other_formats:
            info["formats_not_read"] = {str(k)[:16]: int(v) for k, v in list(self.other_formats.items())[:20]}
            if self.other_format_names:
                info["formats_not_read_names"] = [shorten(str(name), 300) for name in self.other_format_names[:20]]
        if self.skipped_count:
            info["skipped_files"] = self.skipped_count
            info["skipped"] = [
                {"name": shorten(s.get("name", ""), 300), "reason": shorten(s.get("reason", ""), 300)}
                for s in self.skipped[:MAX_DESCRIBED_SKIPPED]
            ]
        return info


def image_dataset(name: str, pixels: np.ndarray, y, class_names, value_range=(0.0, 1.0), source: str = "",
                  channels: int | None = None) -> Dataset:  # fmt: skip
    """A Dataset of uint8 (N, C, H, W) images held in RAM."""
    labels = None if y is None else torch.from_numpy(np.array(y, dtype=np.int64))  # a copy: y may be read-only
    names = list(class_names) if labels is not None else []
    return Dataset(name, "images", np.ascontiguousarray(pixels, dtype=np.uint8), labels, names,
                   (float(value_range[0]), float(value_range[1])), source, channels)  # fmt: skip


MAX_POINT_MAGNITUDE = 1e16  # (1e16)^2 * batch sizes stays far inside float32's 3.4e38


def points_dataset(name: str, points: np.ndarray, labels: np.ndarray | None, class_names, source: str) -> Dataset:
    """Wrap an (N, D) array of points (and optional labels) as a Dataset of float32 points."""
    if points.ndim != 2 or points.shape[0] == 0:
        raise DataError(f"expected a non-empty (N, D) point array, got shape {points.shape}", source or None)
    check_memory(points.shape[0] * points.shape[1] * 4, "the points", source or None)
    values = np.ascontiguousarray(points, dtype=np.float32)
    if not np.isfinite(values).all():
        raise DataError("points are not finite in float32 (NaN, infinite, or beyond about 3.4e38)", source or None)
    largest = float(np.abs(values).max())
    if largest > MAX_POINT_MAGNITUDE:
        raise DataError(f"points reach {largest:.3g}: beyond {MAX_POINT_MAGNITUDE:.0e} their squares overflow float32 "
                        "(in covariances, penalties and losses), so training would diverge at once; scale them "
                        "down (e.g. to unit size)", source or None)  # fmt: skip
    y = torch.from_numpy(labels.astype(np.int64)) if labels is not None else None
    return Dataset(name, "points", values, y, list(class_names) if y is not None else [],
                   (float(values.min()), float(values.max())), source)  # fmt: skip


def fit_images(x: torch.Tensor, image_size: int, channels: int) -> torch.Tensor:
    """Make float images (N, C, H, W) in [0, 1] square `image_size` with `channels` channels.

    Images up to 8 px smaller (28 -> 32) are zero-padded, as is usual for MNIST; others are
    centre-cropped to a square and resized with antialiasing.
    """
    n, c, h, w = x.shape
    if c != channels:
        if c == 1 and channels == 3:
            x = x.expand(n, 3, h, w)
        elif c == 3 and channels == 1:
            weights = torch.tensor(_GREY_WEIGHTS, dtype=x.dtype).view(1, 3, 1, 1)
            x = (x * weights).sum(dim=1, keepdim=True)
        else:
            raise DataError(f"cannot convert {c}-channel images to {channels} channels")
    if h == w == image_size:
        return x.contiguous()
    if h == w and 0 < image_size - h <= 8:
        left = (image_size - h) // 2
        right = image_size - h - left
        return F.pad(x, (left, right, left, right)).contiguous()
    if h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        x = x[:, :, top : top + side, left : left + side]
    return F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False).clamp_(
        0.0, 1.0
    )


def fit_uint8(raw: np.ndarray, image_size: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rows [start, stop) of uint8 (N, H, W, C) images as uint8 (n, C, S, S) fitted like `fit_images`."""
    part = np.array(raw[start:stop], dtype=np.uint8)  # a writable copy of the chunk (the source may be read-only)
    n, h, w, c = part.shape
    x = torch.from_numpy(part).permute(0, 3, 1, 2)
    if h == w == image_size:
        return x.contiguous().numpy()
    fitted = fit_images(x.float().div_(255.0), image_size, c)
    return fitted.mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).numpy()


def fitted_pixels(raw: RawImages, image_size: int) -> np.ndarray:
    """All of `raw` as uint8 (N, C, S, S), fitted in chunks (never the whole set as float)."""
    if raw.x.ndim != 4 or raw.x.shape[0] == 0:
        raise DataError(f"expected a non-empty (N, H, W, C) image array, got shape {raw.x.shape}", raw.source or None)
    n, _, _, c = raw.x.shape
    out = np.empty((n, c, image_size, image_size), dtype=np.uint8)
    rows = rows_per_chunk(raw.x[0].nbytes, _CHUNK)
    for start in range(0, n, rows):
        out[start : start + rows] = fit_uint8(raw.x, image_size, start, start + rows)
    return out


def images_from_raw(
    raw: RawImages,
    name: str,
    image_size: int,
    channels: int | None,
    value_range: tuple[float, float],
) -> Dataset:
    """A Dataset in RAM from uint8 (N, H, W, C) pixels: fitted to `image_size`, converted per batch."""
    pixels = fitted_pixels(raw, image_size)
    return image_dataset(name, pixels, raw.y, raw.class_names, value_range, raw.source, channels)
