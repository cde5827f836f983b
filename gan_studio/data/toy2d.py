"""2D toy distributions: ring8 and grid25 exactly as in the PacGAN/VEEGAN benchmarks, spiral, moons.

Each is a labelled point set (label = mode or arm) drawn from a seed, so runs are reproducible.
"""

from __future__ import annotations

import math

import numpy as np

TOY_SIZE = 100_000  # points per toy dataset (PacGAN trains on 100,000 samples per epoch)


def ring8_modes() -> tuple[np.ndarray, float]:
    """Centres of the 8 Gaussians on the unit circle (angles 2*pi*i/8) and their std."""
    angles = 2 * math.pi * np.arange(8) / 8
    return np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01


def grid25_modes() -> tuple[np.ndarray, float]:
    """Centres of the 25 Gaussians at (-4 + 2i, -4 + 2j), i, j in 0..4, and their std."""
    coords = -4.0 + 2.0 * np.arange(5)
    centres = np.array([(a, b) for a in coords for b in coords], dtype=np.float64)
    return centres, 0.05


def _mixture(centres: np.ndarray, std: float, n: int, rng: np.random.Generator):
    labels = rng.integers(0, len(centres), size=n)
    points = centres[labels] + std * rng.standard_normal((n, 2))
    return points, labels


def ring8(n: int = TOY_SIZE, seed: int = 0):
    centres, std = ring8_modes()
    return _mixture(centres, std, n, np.random.default_rng(seed))


def grid25(n: int = TOY_SIZE, seed: int = 0):
    centres, std = grid25_modes()
    return _mixture(centres, std, n, np.random.default_rng(seed))


def spiral(n: int = TOY_SIZE, seed: int = 0):
    """Two interleaved arms of an Archimedean spiral with a little noise (label = arm)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    t = np.sqrt(rng.uniform(0.0, 1.0, size=n)) * 3 * math.pi
    radius = t / (3 * math.pi) * 2.0
    angle = t + math.pi * labels
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return points + 0.03 * rng.standard_normal((n, 2)), labels


def moons(n: int = TOY_SIZE, seed: int = 0):
    """Two interleaving half circles (label = moon), centred on the origin."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    t = rng.uniform(0.0, math.pi, size=n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    points = np.where(labels[:, None] == 0, upper, lower) - np.array([0.5, 0.25])
    return points + 0.05 * rng.standard_normal((n, 2)), labels
