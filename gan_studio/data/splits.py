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


def has_test_split(train, test) -> bool:
    """Whether a dataset's test split (`test`) is other data than its training split (`train`), as MNIST's and
    CIFAR-10's are; a folder, an archive or an .npz gives the same set for both."""
    same_file = bool(train.prepared_file) and train.prepared_file == test.prepared_file
    return len(train) != len(test) or not (same_file or train.fingerprint() == test.fingerprint())


def training_part(dataset):
    """The fixed training part of a dataset that comes as one set (held in memory): the samples the evaluation
    does not judge on (`holdout_split`)."""
    from gan_studio.data.budgets import check_memory

    train_index, _ = holdout_split(len(dataset))
    check_memory(
        len(train_index) * dataset.storage[:1].nbytes, f"the training part of '{dataset.name}'", dataset.source
    )
    return dataset.subset(train_index)
