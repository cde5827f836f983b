"""Datasets for the models: built-in 2D toys and shapes, MNIST-family, CIFAR-10, folders, .npz.

`load_dataset(spec)` is the one entry point: `spec` is a built-in name, a path, or
`stacked-mnist:DIR` (stacked MNIST built from an MNIST IDX folder). Images come
back as float (N, C, H, W) in the requested value range ([-1, 1] for GANs, [0, 1] for VAEs),
resized to the model's size; points as float (N, 2). Bad input raises `DataError`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from gan_studio.data.dataset import Dataset, RawImages, fit_images, images_from_raw
from gan_studio.data.stacked import is_stacked
from gan_studio.errors import DataError

TOY_NAMES = ["ring8", "grid25", "spiral", "moons"]
IDX_NAMES = ["mnist", "fashion-mnist", "kmnist"]
DOWNLOADABLE = IDX_NAMES + ["cifar10"]
BUILTIN_NAMES = TOY_NAMES + ["shapes", "shapes-colour"] + DOWNLOADABLE + ["stacked-mnist"]

DATASET_DESCRIPTIONS = {
    "ring8": "8 Gaussians on the unit circle (PacGAN/VEEGAN 2D benchmark)",
    "grid25": "25 Gaussians on a 5x5 grid (PacGAN/VEEGAN 2D benchmark)",
    "spiral": "two-armed 2D spiral",
    "moons": "two interleaving 2D half moons",
    "shapes": "procedural grayscale shapes, 6 classes (no download)",
    "shapes-colour": "procedural coloured shapes, 6 classes (no download)",
    "mnist": "MNIST handwritten digits (download, 11 MB)",
    "fashion-mnist": "Fashion-MNIST clothing (download, 30 MB)",
    "kmnist": "Kuzushiji-MNIST cursive Japanese (download, 20 MB)",
    "cifar10": "CIFAR-10 colour photos, 10 classes (download, 163 MB)",
    "stacked-mnist": "three MNIST digits as R, G, B: 1,000 modes (Metz et al. 2017); stacked-mnist:DIR for a folder",
}

ProgressCallback = Callable[[int, int], None]  # (bytes_done, bytes_total or 0 when unknown)


def is_point_dataset(spec: str) -> bool:
    """True for the built-in 2D sets (the models then use MLPs on points)."""
    return spec in TOY_NAMES


def points_dataset(name: str, points: np.ndarray, labels: np.ndarray | None, class_names, source: str) -> Dataset:
    """Wrap an (N, D) float array of points (and optional labels) as a Dataset."""
    if points.ndim != 2 or points.shape[0] == 0:
        raise DataError(f"expected a non-empty (N, D) point array, got shape {points.shape}", source or None)
    y = torch.from_numpy(labels.astype(np.int64)) if labels is not None else None
    return Dataset(
        name=name,
        x=torch.from_numpy(points.astype(np.float32)),
        y=y,
        class_names=list(class_names) if y is not None else [],
        kind="points",
        value_range=(float(points.min()), float(points.max())),
        source=source,
    )


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
    """Load `spec` as raw uint8 images (or, for point data, directly as a points Dataset)."""
    if spec in TOY_NAMES:
        from gan_studio.data.toy2d import TOYS

        make, names = TOYS[spec]
        points, labels = make(seed=seed)
        return points_dataset(spec, points, labels, names, spec)
    if spec in ("shapes", "shapes-colour"):
        from gan_studio.data.shapes import make_shapes

        x, y, names = make_shapes(size=image_size, seed=seed, colour=spec == "shapes-colour")
        return RawImages(x, y, names, spec)
    if is_stacked(spec):
        from gan_studio.data.stacked import load_stacked

        def digits(source: str, part: str) -> RawImages:
            raw = load_raw(source, image_size=image_size, split=part, seed=seed, download=download,
                           progress=progress, cancel=cancel)  # fmt: skip
            if not isinstance(raw, RawImages):
                raise DataError("stacked MNIST is built from MNIST digits, not from 2D points", source)
            return raw

        return load_stacked(digits, spec, split, seed)
    if spec in DOWNLOADABLE:
        from gan_studio.data.download import ensure_dataset

        folder = ensure_dataset(spec, download=download, progress=progress, cancel=cancel)
        return _load_path(folder, image_size=image_size, split=split, known_name=spec)
    path = Path(spec).expanduser()
    if not path.exists():
        raise DataError(
            f"no such dataset: '{spec}' is neither a built-in ({', '.join(BUILTIN_NAMES)}) nor an existing path"
        )
    return _load_path(path, image_size=image_size, split=split, known_name=None)


def _load_path(path: Path, *, image_size: int, split: str, known_name: str | None):
    from gan_studio.data import cifar, folder, idx, npz

    if path.is_file():
        if path.suffix.lower() == ".npz":
            return npz.load_npz(path)
        raise DataError("unsupported dataset file (expected a folder or a .npz)", path)
    if cifar.is_cifar_folder(path):
        return cifar.load_cifar10(path, split=split)
    if idx.is_idx_folder(path):
        return idx.load_idx_folder(path, split=split, name=known_name)
    return folder.load_image_folder(path, image_size=image_size)


def load_dataset(
    spec: str,
    *,
    image_size: int = 32,
    channels: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
    split: str = "train",
    seed: int = 0,
    download: bool = True,
    progress: ProgressCallback | None = None,
    cancel=None,
) -> Dataset:
    """Load a dataset by built-in name or path, ready for a model (see module docstring)."""
    raw = load_raw(
        spec, image_size=image_size, split=split, seed=seed, download=download, progress=progress, cancel=cancel
    )
    if isinstance(raw, Dataset):
        return raw
    name = "stacked-mnist" if is_stacked(spec) else spec if spec in BUILTIN_NAMES else Path(spec).name
    return images_from_raw(raw, name, image_size, channels, value_range)


__all__ = [
    "BUILTIN_NAMES",
    "DATASET_DESCRIPTIONS",
    "DOWNLOADABLE",
    "Dataset",
    "RawImages",
    "fit_images",
    "is_point_dataset",
    "load_dataset",
    "load_raw",
]
