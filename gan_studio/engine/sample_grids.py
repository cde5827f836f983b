"""The pictures a run saves while training: the fixed-noise sample grid and a batch of real data.

Every grid of a run is drawn from the same fixed noise (and fixed labels: one row per class for
conditional image models), so successive grids differ only because the model learned.
"""

from __future__ import annotations

import numpy as np
import torch

from gan_studio.data import Dataset
from gan_studio.models.base import one_hot
from gan_studio.store.pictures import GRID_COLUMNS, grid_classes, samples_picture, scatter_plot

GRID_SAMPLES = 64  # samples in the fixed-noise grid of unconditional image models
POINT_SAMPLES = 2500  # generated points drawn for 2D scatter plots
FIXED_NOISE_SEED_OFFSET = 7919  # the fixed noise is drawn from seed + this, apart from training's RNG


def fixed_inputs(
    latent_dim: int, num_classes: int, points: bool, seed: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The run's fixed noise z and one-hot labels y (CPU tensors): a row per class of `grid_classes`."""
    gen = torch.Generator().manual_seed(seed + FIXED_NOISE_SEED_OFFSET)
    k = num_classes
    if points:
        z = torch.randn(POINT_SAMPLES, latent_dim, generator=gen)
        return z, (one_hot(torch.arange(POINT_SAMPLES) % k, k) if k else None)
    if k:
        z_cols = torch.randn(GRID_COLUMNS, latent_dim, generator=gen)
        rows = torch.tensor(grid_classes(k))
        z = z_cols.repeat(len(rows), 1)  # the same noise in every row, so rows differ by class only
        return z, one_hot(rows.repeat_interleave(GRID_COLUMNS), k)
    return torch.randn(GRID_SAMPLES, latent_dim, generator=gen), None


def fixed_noise_picture(
    samples: torch.Tensor, value_range, dataset: Dataset, fixed_y: torch.Tensor | None
) -> np.ndarray:
    """A sample grid of the run's fixed noise; 2D points: a scatter over training points, each generated point in
    its class's colour for conditional models."""
    if dataset.kind != "points":
        return samples_picture(samples, value_range, GRID_COLUMNS)
    classes = None if fixed_y is None else fixed_y.argmax(1).cpu().numpy()
    return samples_picture(samples, value_range, GRID_COLUMNS, real_points=real_points(dataset), classes=classes)


def real_points(dataset: Dataset, n: int = POINT_SAMPLES) -> np.ndarray:
    """Up to n training points (2D data), for drawing behind generated ones."""
    return dataset.head(n).numpy()


def real_batch_picture(dataset: Dataset, num_classes: int, seed: int) -> np.ndarray:
    """A batch of training data laid out like the run's grids (one row per class when conditional)."""
    gen = torch.Generator().manual_seed(seed)
    if dataset.kind == "points":
        idx = torch.randperm(len(dataset), generator=gen)[:POINT_SAMPLES]
        return scatter_plot(np.empty((0, 2)), dataset.take(idx).numpy())  # real points only, in grey
    if dataset.y is not None and num_classes:
        rows = []
        for k in grid_classes(num_classes):
            members = torch.nonzero(dataset.y == k).flatten()
            rows.append(members[torch.randperm(len(members), generator=gen)[:GRID_COLUMNS]])
        return samples_picture(dataset.take(torch.cat(rows)), dataset.value_range, GRID_COLUMNS)
    idx = torch.randperm(len(dataset), generator=gen)[:GRID_SAMPLES]
    return samples_picture(dataset.take(idx), dataset.value_range, GRID_COLUMNS)
