"""The in-memory dataset every loader produces, and conversion of raw images to a model's format."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from gan_studio.errors import DataError


@dataclass
class RawImages:
    """What an image loader returns before resizing: uint8 pixels (N, H, W, C) and labels."""

    x: np.ndarray  # uint8 (N, H, W, C), C in {1, 3}
    y: np.ndarray | None  # int64 (N,) or None
    class_names: list[str] = field(default_factory=list)
    source: str = ""


@dataclass
class Dataset:
    """A whole dataset in memory, in the value range a model asked for."""

    name: str
    x: torch.Tensor  # float32: images (N, C, H, W) or points (N, D)
    y: torch.Tensor | None  # int64 (N,) or None
    class_names: list[str]
    kind: str  # "images" | "points"
    value_range: tuple[float, float] = (0.0, 1.0)  # images only; points are raw coordinates
    source: str = ""

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.y is not None else 0

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def describe(self) -> dict:
        """Plain-dict descriptor recorded in run.json."""
        return {
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "size": len(self),
            "shape": list(self.sample_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "value_range": list(self.value_range),
        }


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
            weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype).view(1, 3, 1, 1)
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


def images_from_raw(
    raw: RawImages,
    name: str,
    image_size: int,
    channels: int | None,
    value_range: tuple[float, float],
) -> Dataset:
    """Turn uint8 (N, H, W, C) pixels into a Dataset of float (N, C, H, W) in `value_range`."""
    if raw.x.ndim != 4 or raw.x.shape[0] == 0:
        raise DataError(f"expected a non-empty (N, H, W, C) image array, got shape {raw.x.shape}", raw.source)
    x = torch.from_numpy(np.array(raw.x, dtype=np.uint8, copy=True)).permute(0, 3, 1, 2).float().div_(255.0)
    x = fit_images(x, image_size, channels or x.shape[1])
    lo, hi = value_range
    if (lo, hi) != (0.0, 1.0):
        x = x.mul_(hi - lo).add_(lo)
    y = torch.from_numpy(raw.y.astype(np.int64)) if raw.y is not None else None
    return Dataset(
        name=name,
        x=x,
        y=y,
        class_names=list(raw.class_names) if y is not None else [],
        kind="images",
        value_range=(lo, hi),
        source=raw.source,
    )
