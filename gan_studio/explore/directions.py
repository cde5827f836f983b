"""Slider bases: which directions of z the explorer's sliders move along.

A basis is an ordered set of orthonormal directions in z-space (rows of `directions`). The
sliders show the coordinates of the current z along them; moving a slider changes z only along
its direction, and whatever of z lies outside the basis stays as it is.

- `axes_basis`: the latent dimensions themselves (z1, z2, ...).
- `pca_basis`: GANSpace-style (Härkönen et al. 2020): sample z, generate, run PCA on the outputs,
  and regress z onto the principal coordinates, so each slider is the z-direction that moves the
  output along one principal component, ordered by explained variance.
- `kl_basis` (VAEs): the latent dimensions ordered by their average KL(q(z_i|x) || N(0, 1)) over a
  data batch: active units first. The KL per dimension is kept for the bar chart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan_studio.errors import ConfigError
from gan_studio.models.base import kl_to_standard_normal

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. (2016): a unit is active when Cov_x(E[z_i|x]) > 0.01


@dataclass
class SliderBasis:
    """Orthonormal directions (k, latent_dim) with a label and a score (for the bars) per slider."""

    kind: str  # "axes" | "pca" | "kl"
    title: str
    directions: np.ndarray  # (k, latent_dim), orthonormal rows
    labels: list[str]
    scores: np.ndarray | None = None  # explained variance ratio (pca) or mean KL in nats (kl)
    score_name: str = ""
    active: np.ndarray | None = None  # (k,) bool, kl only

    def __post_init__(self):
        self.directions = np.asarray(self.directions, dtype=np.float32)

    def __len__(self) -> int:
        return int(self.directions.shape[0])

    @property
    def latent_dim(self) -> int:
        return int(self.directions.shape[1])

    def coordinates(self, z: np.ndarray) -> np.ndarray:
        """Slider values of z: its coordinates along each direction (k,)."""
        return (self.directions @ np.asarray(z, dtype=np.float32)).astype(np.float32)

    def with_coordinates(self, z: np.ndarray, coords: np.ndarray) -> np.ndarray:
        """z with its part inside the basis replaced by `coords` (the rest of z is kept)."""
        z = np.asarray(z, dtype=np.float32)
        inside = self.directions.T @ (self.directions @ z)
        return (z - inside + self.directions.T @ np.asarray(coords, dtype=np.float32)).astype(np.float32)

    def with_coordinate(self, z: np.ndarray, index: int, value: float) -> np.ndarray:
        """z with slider `index` set to `value`: z moved along that direction only."""
        z = np.asarray(z, dtype=np.float32)
        d = self.directions[index]
        return (z + (float(value) - float(d @ z)) * d).astype(np.float32)


def axes_basis(latent_dim: int) -> SliderBasis:
    return SliderBasis("axes", "each slider is one coordinate of z, drawn from N(0, 1)", np.eye(latent_dim, dtype=np.float32),
                       [f"z{i + 1}" for i in range(latent_dim)])  # fmt: skip


def pca_basis(generate, latent_dim: int, y: np.ndarray | None = None, n_samples: int = 512, seed: int = 0,
              batch: int = 128) -> SliderBasis:  # fmt: skip
    """GANSpace directions from the outputs of `generate(z, y)` for `n_samples` sampled z.

    `y` (K,) conditions every sample (conditional models explore one class at a time).
    """
    if n_samples < 8:
        raise ConfigError(f"PCA needs at least 8 samples, got {n_samples}")
    z = np.random.default_rng(seed).standard_normal((n_samples, latent_dim)).astype(np.float32)
    outputs = []
    for start in range(0, n_samples, batch):
        zb = z[start : start + batch]
        yb = None if y is None else np.repeat(np.asarray(y, np.float32)[None, :], len(zb), axis=0)
        outputs.append(np.asarray(generate(zb, yb), dtype=np.float64).reshape(len(zb), -1))
    features = np.concatenate(outputs)
    if not np.isfinite(features).all():
        raise ConfigError("the generator produced NaN or infinite values; PCA is not possible")
    features -= features.mean(axis=0)
    u, s, _ = np.linalg.svd(features, full_matrices=False)
    rank = int((s > s[0] * 1e-6).sum()) if s.size and s[0] > 0 else 0
    if rank == 0:
        raise ConfigError("the generator's outputs do not vary with z (it may have collapsed); no PCA directions")
    k = min(rank, latent_dim)
    coords = u[:, :k] * s[:k]  # principal coordinates of each sample (N, k)
    z_centred = z.astype(np.float64) - z.mean(axis=0)
    # z ~ coords @ W: row j of W is the z-direction that moves the output along component j
    w, *_ = np.linalg.lstsq(coords, z_centred, rcond=None)  # (k, latent)
    q, r = np.linalg.qr(w.T)  # orthonormalise in order of explained variance
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    directions = (q * signs).T  # (k, latent); sign chosen to agree with the regression direction
    variance = s**2 / float((s**2).sum())
    labels = [f"PC{j + 1} {100 * variance[j]:.1f}%" for j in range(k)]
    return SliderBasis("pca", "principal directions of the outputs (GANSpace)", directions, labels,
                       scores=variance[:k].astype(np.float32), score_name="explained variance")  # fmt: skip


def kl_per_dimension(encode, x: np.ndarray, y: np.ndarray | None = None, batch: int = 256):
    """Mean KL(q(z_i|x) || N(0,1)) per latent dimension (nats) and the activity Var_x(mu_i).

    `encode(x, y) -> (mu, logvar)` is a VAE encoder on numpy batches (torch or ONNX Runtime).
    """
    kl_sum, mus = None, []
    for start in range(0, len(x), batch):
        mu, logvar = encode(x[start : start + batch], None if y is None else y[start : start + batch])
        mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
        kl = kl_to_standard_normal(torch.from_numpy(mu), torch.from_numpy(logvar)).numpy()  # (B, latent)
        kl_sum = kl.sum(0) if kl_sum is None else kl_sum + kl.sum(0)
        mus.append(mu)
    activity = np.concatenate(mus).var(0)
    return (kl_sum / len(x)).astype(np.float32), activity.astype(np.float32)


def kl_basis(encode, x: np.ndarray, y: np.ndarray | None = None) -> SliderBasis:
    """The latent axes of a VAE ordered by mean KL over the batch (x, y): active units first."""
    if encode is None:
        raise ConfigError("ordering by KL needs a VAE encoder (a GAN has none; open the run or its encoder export)")
    if len(x) == 0:
        raise ConfigError("ordering by KL needs at least one data sample")
    kl, activity = kl_per_dimension(encode, np.asarray(x, np.float32), None if y is None else np.asarray(y, np.float32))
    order = np.argsort(-kl, kind="stable")
    latent_dim = kl.shape[0]
    directions = np.eye(latent_dim, dtype=np.float32)[order]
    active = activity[order] > ACTIVE_UNIT_THRESHOLD
    labels = [f"z{i + 1} {kl[i]:.2f}" for i in order]  # nats: the basis name and the bars say so
    return SliderBasis("kl", f"VAE dimensions by KL ({int(active.sum())} of {latent_dim} active)", directions,
                       labels, scores=kl[order], score_name="KL per dimension (nats)", active=active)  # fmt: skip
