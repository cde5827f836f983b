"""The live 2D view of models trained on 2D points (the GAN Lab idea, Kahng et al. 2018).

One frame holds the real points, points generated from a fixed set of z (so they move smoothly
from checkpoint to checkpoint), and behind them either the discriminator's D(x) over the plane
(GANs) or the image of a regular grid of latent values through the decoder (VAEs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan_studio.errors import ConfigError
from gan_studio.models.base import one_hot

GENERATED_POINTS = 1000
HEATMAP_RESOLUTION = 96
MESH_LINES = 13  # latent grid lines per axis
MESH_RANGE = 2.5  # latent grid spans [-2.5, 2.5] on the first two dimensions


@dataclass
class Live2DFrame:
    """Everything the 2D view draws at one training step."""

    step: int
    generated: np.ndarray  # (N, 2)
    extent: tuple[float, float, float, float]  # x min, x max, y min, y max
    real: np.ndarray | None = None  # (M, 2)
    heatmap: np.ndarray | None = None  # (rows = y, cols = x) D(x) in [0, 1]; row 0 at y min
    mesh: np.ndarray | None = None  # (lines, points, 2) decoded latent grid, rows then columns
    caption: str = ""


def plane_extent(points: np.ndarray, margin: float = 0.15) -> tuple[float, float, float, float]:
    """A square region around the bulk of `points` (0.5-99.5 percentiles plus a margin)."""
    finite = points[np.isfinite(points).all(axis=1)] if len(points) else points
    if len(finite) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo = np.percentile(finite, 0.5, axis=0)
    hi = np.percentile(finite, 99.5, axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2 * (1 + 2 * margin), 1e-3)
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def fixed_inputs(n: int, latent_dim: int, num_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """The same z (and labels cycling over the classes) for every frame."""
    z = np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)
    if not num_classes:
        return z, None
    y = np.eye(num_classes, dtype=np.float32)[np.arange(n) % num_classes]
    return z, y


@torch.no_grad()
def discriminator_map(gan, extent, resolution: int = HEATMAP_RESOLUTION) -> np.ndarray:
    """D(x) = sigmoid(logit) over a resolution x resolution grid of the plane (mean over classes)."""
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)  # rows follow y
    grid = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32))
    device = next(gan.parameters()).device
    pack = int(getattr(gan.config, "pack", 1))
    x = grid.repeat_interleave(pack, dim=0).to(device)  # D judges packs: give it copies of each point
    was_training = gan.training
    gan.eval()
    try:
        if gan.num_classes:
            probs = torch.zeros(len(grid))
            for k in range(gan.num_classes):
                y = one_hot(torch.full((len(x),), k, dtype=torch.long), gan.num_classes).to(device)
                probs += torch.sigmoid(gan.discriminate(x, y)).cpu()
            probs /= gan.num_classes
        else:
            probs = torch.sigmoid(gan.discriminate(x)).cpu()
    finally:
        gan.train(was_training)
    return probs.numpy().reshape(resolution, resolution).astype(np.float32)


def latent_mesh(generate, latent_dim: int, y: np.ndarray | None = None, lines: int = MESH_LINES) -> np.ndarray:
    """Decoded grid over the first two latent dimensions (others 0): (2 * lines, lines, 2) polylines."""
    ticks = np.linspace(-MESH_RANGE, MESH_RANGE, lines, dtype=np.float32)
    if latent_dim == 1:
        z = ticks[:, None]
    else:
        a, b = np.meshgrid(ticks, ticks)  # a varies along columns
        z = np.zeros((lines * lines, latent_dim), dtype=np.float32)
        z[:, 0], z[:, 1] = a.ravel(), b.ravel()
    yb = None if y is None else np.repeat(np.asarray(y, np.float32)[None, :], len(z), axis=0)
    points = np.asarray(generate(z, yb), dtype=np.float32).reshape(len(z), -1)[:, :2]
    if latent_dim == 1:
        return points[None]
    rows = points.reshape(lines, lines, 2)
    return np.concatenate([rows, rows.transpose(1, 0, 2)])  # lines of constant z2, then of constant z1


def live_frame(source, real: np.ndarray | None = None, y: np.ndarray | None = None,
               n_generated: int = GENERATED_POINTS, seed: int = 0,
               extent: tuple[float, float, float, float] | None = None) -> Live2DFrame:  # fmt: skip
    """A frame for `source` (an ExplorerSource of a 2D-point model); `y` conditions the VAE mesh."""
    if source.kind != "points" or tuple(source.sample_shape) != (2,):
        raise ConfigError("the live 2D view is for models trained on 2D points (ring8, grid25, spiral, moons)")
    z, labels = fixed_inputs(n_generated, source.latent_dim, source.num_classes, seed)
    generated = np.asarray(source.backend.generate(z, labels), dtype=np.float32).reshape(n_generated, 2)
    if extent is None:
        extent = plane_extent(real if real is not None and len(real) else generated)
    frame = Live2DFrame(step=source.step, generated=generated, extent=extent, real=real)
    if source.family == "gan" and source.loaded is not None:
        frame.heatmap = discriminator_map(source.loaded.model, extent)
        frame.caption = "background: D(x), the discriminator's belief that x is real"
    elif source.family == "gan":
        frame.caption = "open the run directory (not only its .onnx) to see the discriminator"
    else:
        if source.num_classes and y is None:
            y = np.eye(source.num_classes, dtype=np.float32)[0]
        frame.mesh = latent_mesh(source.backend.generate, source.latent_dim, y if source.num_classes else None)
        frame.caption = "lines: a regular grid of (z1, z2) in [-2.5, 2.5] through the decoder"
    return frame
