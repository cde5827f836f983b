"""Precision and recall of generated samples by k-NN manifolds (Kynkaanniemi et al. 2019).

Each set's manifold is the union of balls around its points, each ball reaching to the point's
k-th nearest neighbour in the same set. Precision: the fraction of generated samples inside the
real manifold (are samples realistic?). Recall: the fraction of real samples inside the generated
manifold (is the variety covered?). Distances are Euclidean in the given feature space.
"""

from __future__ import annotations

import numpy as np
import torch

DEFAULT_NEIGHBOURS = 3  # k of the paper's experiments
_CHUNK = 1024  # rows of the distance matrix computed at once


def pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (N, M) in float64."""
    return torch.cdist(a.double(), b.double())


def nearest_neighbours(queries: np.ndarray | torch.Tensor, references: np.ndarray | torch.Tensor, k: int,
                       exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Distances and indices (N, k) of each query's k nearest references (chunked, exact)."""
    q = torch.as_tensor(np.asarray(queries, dtype=np.float64)).flatten(1)
    r = torch.as_tensor(np.asarray(references, dtype=np.float64)).flatten(1)
    k_eff = min(k + int(exclude_self), len(r))
    dists, idx = [], []
    for start in range(0, len(q), _CHUNK):
        d = pairwise_distances(q[start : start + _CHUNK], r)
        values, index = torch.topk(d, k_eff, dim=1, largest=False)
        if exclude_self:
            values, index = values[:, 1:], index[:, 1:]
        dists.append(values)
        idx.append(index)
    return torch.cat(dists).numpy(), torch.cat(idx).numpy()


def manifold_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance of each point to its k-th nearest neighbour within the same set (N,)."""
    dists, _ = nearest_neighbours(features, features, k, exclude_self=True)
    return dists[:, -1]


def inside_manifold(queries: np.ndarray, support: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each query, whether it lies in some ball (support point, radius)."""
    q = torch.as_tensor(np.asarray(queries, dtype=np.float64))
    s = torch.as_tensor(np.asarray(support, dtype=np.float64))
    r = torch.as_tensor(radii)
    found = []
    for start in range(0, len(q), _CHUNK):
        found.append((pairwise_distances(q[start : start + _CHUNK], s) <= r[None, :]).any(dim=1))
    return torch.cat(found).numpy()


def precision_recall(real: np.ndarray, generated: np.ndarray, k: int = DEFAULT_NEIGHBOURS,
                     real_radii: np.ndarray | None = None) -> tuple[float, float]:  # fmt: skip
    """(precision, recall) of `generated` against `real`, both (N, D) features.

    `real_radii` (from `manifold_radii(real, k)`) saves recomputing them when several sets are
    compared with the same real set.
    """
    real = np.asarray(real, dtype=np.float64).reshape(len(real), -1)
    generated = np.asarray(generated, dtype=np.float64).reshape(len(generated), -1)
    if len(real) <= k or len(generated) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples in each set")
    if real_radii is None:
        real_radii = manifold_radii(real, k)
    precision = inside_manifold(generated, real, real_radii).mean()
    recall = inside_manifold(real, generated, manifold_radii(generated, k)).mean()
    return float(precision), float(recall)
