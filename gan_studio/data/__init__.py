"""Datasets for the models: built-in 2D toys and shapes, MNIST-family, CIFAR-10, image folders and .zip, .npz.

`load_dataset(spec)` is the one entry point: `spec` is a built-in name, a path, or
`stacked-mnist:DIR` (stacked MNIST built from an MNIST IDX folder). It returns a
`Dataset` (contract in gan_studio/data/dataset.py): images as uint8 (N, C, H, W), in RAM or
memory-mapped from a prepared file in the user cache folder, converted to float in the requested
value range ([-1, 1] for GANs, [0, 1] for VAEs) batch by batch; points as float32 (N, 2). Bad
input raises `DataError`.

This package imports torch only when one of its torch-using names is first used (PEP 562), so the
worker processes that decode images (gan_studio.data.decode) start without it.
"""

from __future__ import annotations

import importlib

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

_LAZY = {
    "Dataset": "gan_studio.data.dataset",
    "RawImages": "gan_studio.data.dataset",
    "fit_images": "gan_studio.data.dataset",
    "image_dataset": "gan_studio.data.dataset",
    "load_dataset": "gan_studio.data.loading",
    "load_raw": "gan_studio.data.loading",
    "points_dataset": "gan_studio.data.dataset",
    "ProgressCallback": "gan_studio.data.loading",
    "PreparationCancelled": "gan_studio.data.cache",
}


def is_point_dataset(spec: str) -> bool:
    """True for the built-in 2D sets (the models then use MLPs on points)."""
    return spec in TOY_NAMES


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gan_studio.data' has no attribute '{name}'")


__all__ = [
    "BUILTIN_NAMES",
    "DATASET_DESCRIPTIONS",
    "DOWNLOADABLE",
    "TOY_NAMES",
    "Dataset",
    "PreparationCancelled",
    "RawImages",
    "fit_images",
    "image_dataset",
    "is_point_dataset",
    "load_dataset",
    "load_raw",
    "points_dataset",
]
