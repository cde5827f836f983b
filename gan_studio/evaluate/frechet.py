"""Distances between two sets of feature vectors: Frechet distance (as in FID) and KID.

Frechet distance (Heusel et al. 2017): ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of
Gaussians fitted to each set. KID (Binkowski et al. 2018): the unbiased squared MMD with the cubic
polynomial kernel k(a, b) = (a.b / d + 1)^3, averaged over random subsets; unbiased, so usable
with few samples. Both are computed in float64 numpy (no SciPy needed).
"""

from __future__ import annotations

import numpy as np

KID_SUBSET_SIZE = 1000  # samples per KID subset (as in the KID paper's reference code)
KID_SUBSETS = 10  # subsets averaged


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of (N, D) features."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need at least 2 feature vectors of shape (N, D), got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], features.shape[1])


def frechet_from_stats(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray) -> float:
    """Frechet distance between N(mu_a, cov_a) and N(mu_b, cov_b)."""
    # tr((A B)^(1/2)) = sum of sqrt eigenvalues of A^(1/2) B A^(1/2) (similar matrices, symmetric PSD)
    values, vectors = np.linalg.eigh(cov_a)
    sqrt_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    diff = mu_a - mu_b
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt
    return float(max(value, 0.0))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets a (N, D) and b (M, D)."""
    return frechet_from_stats(*gaussian_stats(a), *gaussian_stats(b))


def kernel_distance(a: np.ndarray, b: np.ndarray, subset_size: int = KID_SUBSET_SIZE, subsets: int = KID_SUBSETS,
                    seed: int = 0) -> tuple[float, float]:  # fmt: skip
    """KID: mean and std over subsets of the unbiased MMD^2 with a cubic polynomial kernel. Sets no larger
    than a subset have one subset, the whole of both (drawn `subsets` times it gave the same value, and a std
    of rounding noise): its std is NaN, unknown."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("need at least 2 samples in each set for KID")
    rng = np.random.default_rng(seed)
    dim = a.shape[1]
    values = []
    whole = m == len(a) == len(b)
    for _ in range(1 if whole else subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx = (x @ x.T / dim + 1.0) ** 3
        k_yy = (y @ y.T / dim + 1.0) ** 3
        k_xy = (x @ y.T / dim + 1.0) ** 3
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values.append(within - 2.0 * k_xy.mean())
    return float(np.mean(values)), float("nan") if whole else float(np.std(values))
