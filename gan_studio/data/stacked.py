"""Stacked MNIST, the 1,000-mode benchmark (Metz et al. 2017; VEEGAN; PacGAN): three digits as R, G, B.

Each image holds an independent random MNIST digit in each of its 3 channels, so there are
10 x 10 x 10 = 1,000 modes. `--data stacked-mnist` builds it from the same files as `mnist`
(downloaded once); `--data stacked-mnist:DIR` from an MNIST IDX folder. Only the training part
of the digits is used: the published train split, or, for a folder that holds a single set
(e.g. only MNIST's t10k files), the fixed 80 % part of `data.splits.holdout_split` (the
evaluation keeps the other 20 % for testing). The stacks are drawn from the run's seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_studio.data.dataset import RawImages
from gan_studio.errors import DataError

STACKED_NAME = "stacked-mnist"
STACKED_SIZE = 50_000  # stacked training images (the PacGAN authors drew 128,000; 50,000 keep it under 1 GB)
STACKED_SEED_OFFSET = 4242  # the stacks are drawn from seed + this, so they differ from other uses of the seed


def is_stacked(spec: str) -> bool:
    """True for `stacked-mnist` and `stacked-mnist:DIR`."""
    return spec == STACKED_NAME or spec.startswith(STACKED_NAME + ":")


def digits_source(spec: str) -> str:
    """The digits a stacked spec is built from: `mnist` (the built-in download) or the folder after the colon."""
    if spec == STACKED_NAME:
        return "mnist"
    folder = spec[len(STACKED_NAME) + 1 :]
    if not folder:
        raise DataError(f"'{spec}': name an MNIST IDX folder after the colon, e.g. stacked-mnist:path/to/mnist")
    return folder


def digit_split(load, spec: str, split: str) -> RawImages:
    """The training or test part of the digits: `load(source, split)` gives a split of the IDX data as RawImages.

    A folder with a single set (train and test identical) is split 80/20 with the fixed holdout split.
    """
    from gan_studio.data.splits import holdout_split

    source = digits_source(spec)
    train, test = load(source, "train"), load(source, "test")
    if train.x.shape[-1] != 1:
        raise DataError(f"stacked MNIST needs single-channel digits, got images of shape {train.x.shape[1:]}", source)
    if train.y is None or len(set(np.unique(train.y).tolist())) != 10:
        raise DataError("stacked MNIST needs digits labelled 0-9", source)
    if train.x.shape == test.x.shape and np.array_equal(train.x, test.x):
        train_idx, test_idx = holdout_split(len(train.x))
        keep = train_idx if split == "train" else test_idx
        return RawImages(train.x[keep], train.y[keep], train.class_names, train.source)
    return train if split == "train" else test


def stack_digits(digits: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images (n, H, W, 3) whose channels are random digits of `digits` (N, H, W, 1), and the digit indices (n, 3)."""
    index = np.random.default_rng(seed).integers(0, len(digits), size=(n, 3))
    return digits[index, :, :, 0].transpose(0, 2, 3, 1), index  # (n, H, W, 3)


def load_stacked(load, spec: str, split: str = "train", seed: int = 0, n: int | None = None) -> RawImages:
    """n (default STACKED_SIZE) stacked images of the training (or test) part of the digits, without labels."""
    digits = digit_split(load, spec, split)
    images, _ = stack_digits(digits.x, n or STACKED_SIZE, seed + STACKED_SEED_OFFSET)
    return RawImages(images, None, [], f"{STACKED_NAME} from {Path(digits.source).name or digits.source}")
