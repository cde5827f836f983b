"""Mode coverage of 2D Gaussian mixtures (ring8, grid25), exactly the PacGAN/VEEGAN protocol.

Each generated sample is assigned to its nearest mode centre. It is *high quality* when it lies
within 3 standard deviations of that centre; a mode is *captured* when at least one high-quality
sample is assigned to it. The *reverse KL* is KL(p_gen || uniform) of the high-quality samples'
distribution over the modes: 0 when every mode gets the same share, log(K) when all fall in one.
Protocol: Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN), 2,500 samples per estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gan_studio.data.toy2d import grid25_modes, ring8_modes

PROTOCOL_SAMPLES = 2500  # samples per estimate in the PacGAN/VEEGAN papers
QUALITY_STDS = 3.0  # a sample within this many standard deviations of its mode is high quality
MODE_SETS = {"ring8": ring8_modes, "grid25": grid25_modes}


@dataclass(frozen=True)
class ModeMetrics:
    """Mode coverage of one set of samples."""

    modes: int  # captured modes
    num_modes: int  # modes of the true distribution
    high_quality: float  # fraction of samples within 3 std of their nearest mode
    reverse_kl: float | None  # KL(p_gen over modes || uniform) in nats; None without high-quality samples
    counts: list[int]  # high-quality samples per mode

    def as_dict(self) -> dict:
        return {"modes": self.modes, "num_modes": self.num_modes, "high_quality": self.high_quality,
                "reverse_kl": self.reverse_kl, "mode_counts": list(self.counts)}  # fmt: skip


def has_mode_metrics(dataset_name: str) -> bool:
    """True for the toy sets whose modes are known (ring8, grid25)."""
    return dataset_name in MODE_SETS


def mode_metrics(samples: np.ndarray, centres: np.ndarray, std: float) -> ModeMetrics:
    """The PacGAN/VEEGAN mode metrics of (N, 2) samples for isotropic modes `centres` (K, 2) of `std`."""
    samples = np.asarray(samples, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    finite = np.isfinite(samples).all(axis=1)
    distances = np.linalg.norm(samples[finite, None, :] - centres[None, :, :], axis=2)  # (N', K)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(nearest)), nearest] < QUALITY_STDS * std
    counts = np.bincount(nearest[good], minlength=len(centres))
    total = int(counts.sum())
    return ModeMetrics(
        modes=int((counts > 0).sum()),
        num_modes=len(centres),
        high_quality=total / len(samples) if len(samples) else 0.0,
        reverse_kl=reverse_kl_to_uniform(counts) if total else None,
        counts=[int(c) for c in counts],
    )


def reverse_kl_to_uniform(counts: np.ndarray) -> float:
    """KL(p || uniform) for p = counts / sum: log K minus the entropy of p (nats)."""
    p = np.asarray(counts, dtype=np.float64)
    p = p / p.sum()
    nonzero = p[p > 0]
    return float(math.log(len(p)) + (nonzero * np.log(nonzero)).sum())


def dataset_mode_metrics(dataset_name: str, samples: np.ndarray) -> ModeMetrics:
    """Mode metrics of samples against the known modes of `dataset_name` (ring8 or grid25)."""
    centres, std = MODE_SETS[dataset_name]()
    return mode_metrics(samples, centres, std)
