"""Stacked MNIST mode coverage: the 1,000-mode benchmark of Metz et al. 2017, VEEGAN table 2 and PacGAN table 2.

Each channel of a generated image is classified by the project's MNIST classifier (trained on
the training part of the digits the run's stacks were built from); the three digits name one of
1,000 modes. On 26,000 samples (the papers' protocol) we report the modes that got at least one
sample and KL(p_gen over modes || uniform), log(1000) minus the entropy, in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan_studio.data.stacked import digits_source
from gan_studio.evaluate.modes import reverse_kl_to_uniform
from gan_studio.evaluate.reference import ReferenceData, reference_data

NUM_MODES = 1000
PROTOCOL_SAMPLES = 26_000  # samples per estimate in the VEEGAN / PacGAN papers
STACK_CHANNELS = 3


@dataclass(frozen=True)
class StackedModes:
    """Mode coverage of stacked-MNIST samples."""

    modes: int  # modes with at least one sample
    kl: float  # KL(p_gen over the 1,000 modes || uniform), nats
    counts: list[int]  # samples per mode, mode = 100 * red digit + 10 * green digit + blue digit

    def as_dict(self) -> dict:
        return {"modes": self.modes, "num_modes": NUM_MODES, "kl": self.kl, "mode_counts": list(self.counts)}


def stacked_modes(digits: np.ndarray | torch.Tensor) -> StackedModes:
    """Modes and KL of samples whose three channels were read as `digits` (N, 3), each 0-9."""
    digits = np.asarray(digits, dtype=np.int64)
    modes = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    counts = np.bincount(modes, minlength=NUM_MODES)
    return StackedModes(int((counts > 0).sum()), reverse_kl_to_uniform(counts), [int(c) for c in counts])


def read_channels(classifier, images: torch.Tensor, value_range) -> torch.Tensor:
    """The digit (N, 3) the MNIST classifier reads in each channel of stacked images (N, 3, H, W)."""
    return torch.stack([classifier.predict(images[:, c : c + 1], value_range) for c in range(STACK_CHANNELS)], dim=1)


def digits_reference(spec: str, download: bool = False) -> ReferenceData:
    """The single-channel digits behind a stacked spec, split into train / test parts as the data module splits them."""
    return reference_data(digits_source(spec), image_size=32, channels=1, value_range=(0.0, 1.0), download=download)


def real_floor(classifier, digits: ReferenceData, n: int, seed: int) -> StackedModes:
    """Modes of n real stacks of the test digits, read by the classifier (the best a model can hope for)."""
    read = classifier.predict(digits.test.x, digits.test.value_range).numpy()
    index = np.random.default_rng(seed).integers(0, len(read), size=(n, STACK_CHANNELS))
    return stacked_modes(read[index])


def noise_ceiling(classifier, n: int, side: int, seed: int) -> StackedModes:
    """Modes of n stacks of uniform noise (a useless model)."""
    noise = torch.rand((n, STACK_CHANNELS, side, side), generator=torch.Generator().manual_seed(seed))
    return stacked_modes(read_channels(classifier, noise, (0.0, 1.0)).numpy())
