"""Mode metrics of the PacGAN/VEEGAN protocol on hand-made samples with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gan_studio.data.toy2d import grid25, grid25_modes, ring8, ring8_modes
from gan_studio.evaluate.modes import dataset_mode_metrics, mode_metrics, reverse_kl_to_uniform


def _at_modes(centres: np.ndarray, which: np.ndarray, jitter: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return centres[which] + jitter * rng.standard_normal((len(which), 2))


def test_samples_on_every_mode_capture_all_modes_with_zero_reverse_kl():
    centres, std = grid25_modes()
    samples = _at_modes(centres, np.arange(2500) % 25, jitter=std)
    found = mode_metrics(samples, centres, std)
    assert found.modes == 25 and found.num_modes == 25
    assert found.high_quality > 0.98  # 3 std in 2D holds 98.9 % of a Gaussian
    assert found.reverse_kl == pytest.approx(0.0, abs=1e-3)
    assert sum(found.counts) == round(found.high_quality * 2500)


def test_collapse_to_one_mode_gives_one_mode_and_reverse_kl_log_k():
    centres, std = ring8_modes()
    samples = _at_modes(centres, np.full(2500, 3), jitter=std / 2)
    found = mode_metrics(samples, centres, std)
    assert found.modes == 1
    assert found.high_quality == 1.0
    assert found.reverse_kl == pytest.approx(math.log(8))
    assert found.counts[3] == 2500


def test_off_mode_noise_is_low_quality_and_captures_no_mode():
    centres, std = grid25_modes()
    between = centres[:-1] + np.array([1.0, 1.0])  # the middle of grid cells: 20 std from every mode
    found = mode_metrics(np.repeat(between, 100, axis=0), centres, std)
    assert found.modes == 0
    assert found.high_quality == 0.0
    assert found.reverse_kl is None


def test_threshold_is_three_standard_deviations_of_the_nearest_mode():
    centres, std = ring8_modes()
    inside = centres[0] + np.array([2.9 * std, 0.0])
    outside = centres[1] + np.array([0.0, 3.1 * std]) * np.sign(centres[1] + 1e-9)
    found = mode_metrics(np.stack([inside, outside]), centres, std)
    assert found.counts[0] == 1 and found.counts[1] == 0
    assert found.high_quality == 0.5 and found.modes == 1


def test_half_the_modes_and_mixed_quality():
    centres, std = ring8_modes()
    good = _at_modes(centres, np.arange(1000) % 4, jitter=std / 3)  # modes 0..3 only
    junk = np.random.default_rng(1).uniform(-0.5, 0.5, size=(1000, 2))  # inside the ring, far from modes
    found = mode_metrics(np.concatenate([good, junk]), centres, std)
    assert found.modes == 4
    assert found.high_quality == pytest.approx(0.5, abs=0.01)
    assert found.reverse_kl == pytest.approx(math.log(2), abs=0.01)  # uniform over half the modes


def test_non_finite_samples_count_as_low_quality():
    centres, std = ring8_modes()
    samples = np.concatenate([_at_modes(centres, np.arange(8), 0.0), np.full((8, 2), np.nan)])
    found = mode_metrics(samples, centres, std)
    assert found.modes == 8 and found.high_quality == 0.5


def test_reverse_kl_formula():
    assert reverse_kl_to_uniform(np.array([1, 1, 1, 1])) == pytest.approx(0.0)
    assert reverse_kl_to_uniform(np.array([3, 1, 0, 0])) == pytest.approx(
        0.75 * math.log(0.75 * 4) + 0.25 * math.log(0.25 * 4)
    )


@pytest.mark.parametrize("name,make", [("ring8", ring8), ("grid25", grid25)])
def test_real_toy_data_scores_like_the_papers_true_distribution(name, make):
    points, _ = make(n=2500, seed=3)
    found = dataset_mode_metrics(name, points)
    assert found.modes == found.num_modes
    assert found.high_quality > 0.97
    assert found.reverse_kl < 0.02
