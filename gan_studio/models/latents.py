"""Latent noise and labels for sampling: the same seed gives the same z and y in torch and ONNX Runtime,
so a run and its exported file draw the same grid (`gan-studio sample`, evaluation, the explorer)."""

from __future__ import annotations

import math

import torch

from gan_studio.errors import ConfigError
from gan_studio.models import names_where
from gan_studio.models.base import one_hot

GRID_COLUMNS = 8  # columns of a sample grid of an unconditional model
MAX_SAMPLES = 100_000  # one request for more samples than this is refused (memory)
MAX_SEED = 2**63 - 1


def sample_inputs(n: int, latent_dim: int, seed: int, num_classes: int = 0, label: int | str | None = None,
                  class_names: list[str] | None = None):  # fmt: skip
    """Latents z (n, latent_dim) from `seed` and one-hot labels: all `label` (an index or a class name), or
    one row per class."""
    if not isinstance(n, int) or not 1 <= n <= MAX_SAMPLES:
        raise ConfigError(f"--n must be between 1 and {MAX_SAMPLES:,}, got {n}")
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed must be an integer between 0 and 2^63 - 1, got {seed}")
    if label is not None:
        if not num_classes:
            raise ConfigError(f"--label is only for conditional models ({names_where('conditional')})")
        label = class_index(label, class_names or [])
        if not 0 <= label < num_classes:
            names = f" ({', '.join(class_names[:20])})" if class_names else ""
            raise ConfigError(f"--label must be between 0 and {num_classes - 1}{names}, got {label}")
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    if not num_classes:
        return z, None
    if label is not None:
        labels = torch.full((n,), label, dtype=torch.long)
    else:
        labels = torch.arange(n) // grid_columns(n, num_classes)
        labels = labels.clamp(max=num_classes - 1)
    return z, one_hot(labels, num_classes)


def class_index(label: int | str, class_names: list[str]) -> int:
    """A class given by its index ("3") or its name ("cat"); a name that is not a class is a ConfigError."""
    whole = label.lstrip("-") if isinstance(label, str) else ""
    if isinstance(label, int) or (whole.isdigit() and len(whole) <= 12 and label not in class_names):
        return int(label)  # a negative one is then refused as out of range, as a too large one is
    if label in class_names:
        return class_names.index(label)
    close = [name for name in class_names if name.lower() == label.lower()]
    hint = f"; did you mean '{close[0]}'?" if close else f" (classes: {', '.join(class_names[:20])})"
    raise ConfigError(f"--label '{label[:60]}' is not a class index or name{hint}")


def grid_columns(n: int, num_classes: int = 0, label: int | None = None) -> int:
    """Columns of a sample grid: 8 (or sqrt n), or n / classes so each row is one class."""
    if num_classes and label is None:
        return max(1, math.ceil(n / num_classes))
    return max(1, min(GRID_COLUMNS, math.ceil(math.sqrt(n)))) if n < 64 else GRID_COLUMNS
