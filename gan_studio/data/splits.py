"""The fixed train/test split of a dataset that comes as one set (e.g. a folder with only MNIST's t10k files)."""

from __future__ import annotations

import numpy as np

HOLDOUT_FRACTION = 0.2  # share of a single-split dataset held out as test set
SPLIT_SEED = 1234  # fixed: every run, the evaluation and the benchmarks see the same split


def holdout_split(n: int, fraction: float = HOLDOUT_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Fixed (train, test) sorted index arrays of a single-split dataset of n samples."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_test = max(1, int(round(n * fraction)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])
