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

from gan_studio.data.catalogue import (
    BUILTIN_NAMES,
    DATASET_DESCRIPTIONS,
    DOWNLOADABLE,
    GENERATED,
    IDX_NAMES,
    TOY_NAMES,
    GeneratedSet,
    register_generated,
)

_LAZY = {
    "Dataset": "gan_studio.data.dataset",
    "RawImages": "gan_studio.data.dataset",
    "fit_images": "gan_studio.data.dataset",
    "image_dataset": "gan_studio.data.dataset",
    "load_dataset": "gan_studio.data.loading",
    "load_training_data": "gan_studio.data.loading",
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
    "GENERATED",
    "IDX_NAMES",
    "TOY_NAMES",
    "GeneratedSet",
    "register_generated",
    "Dataset",
    "PreparationCancelled",
    "RawImages",
    "fit_images",
    "image_dataset",
    "is_point_dataset",
    "load_dataset",
    "load_training_data",
    "load_raw",
    "points_dataset",
]
