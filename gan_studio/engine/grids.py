"""Pictures of samples: image grids (one row per class for conditional models) and 2D scatter plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

GRID_COLUMNS_DEFAULT = 8  # columns of sample grids


def to_uint8(images: torch.Tensor, value_range: tuple[float, float]) -> np.ndarray:
    """(N, C, H, W) floats in `value_range` -> uint8 (N, H, W, C), clipped."""
    lo, hi = value_range
    x = (images.detach().float().cpu() - lo) / (hi - lo)
    x = (x.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def image_grid(images: np.ndarray, columns: int, padding: int = 2) -> np.ndarray:
    """Tile uint8 (N, H, W, C) images into one uint8 (rows*H', cols*W', C) array with padding."""
    n, h, w, c = images.shape
    columns = max(1, min(columns, n))
    rows = (n + columns - 1) // columns
    grid = np.zeros((rows * (h + padding) + padding, columns * (w + padding) + padding, c), dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = images[i]
    return grid


def scatter_plot(
    generated: np.ndarray, real: np.ndarray | None = None, size: int = 384, extent: float | None = None
) -> np.ndarray:
    """A uint8 RGB (size, size, 3) scatter of 2D points: real in grey, generated in orange."""
    pts = [p for p in (real, generated) if p is not None and len(p)]
    if extent is None:
        finite = np.concatenate([p[np.isfinite(p).all(1)] for p in pts]) if pts else np.zeros((1, 2))
        extent = float(np.abs(finite).max()) * 1.15 if finite.size else 1.0
        extent = max(extent, 1e-3)
    img = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    centre = size / 2
    draw.line([(0, centre), (size, centre)], fill=(225, 225, 225))
    draw.line([(centre, 0), (centre, size)], fill=(225, 225, 225))

    def plot(points, colour, radius):
        scale = (size / 2 - 4) / extent
        for x, y in points[np.isfinite(points).all(1)]:
            px, py = centre + x * scale, centre - y * scale
            draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=colour)

    if real is not None:
        plot(real, (170, 170, 170), 1.2)
    plot(generated, (230, 110, 20), 1.6)
    return np.asarray(img)


def save_png(array: np.ndarray, path: str | Path) -> None:
    """Write uint8 (H, W) or (H, W, C) to PNG atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(array).save(tmp, format="PNG")
    tmp.replace(path)


def samples_picture(samples: torch.Tensor, value_range, columns: int, real_points=None) -> np.ndarray:
    """The picture for a batch of samples: an image grid, or a scatter plot for 2D points."""
    if samples.dim() == 2:
        return scatter_plot(samples.detach().float().cpu().numpy(), real_points)
    return image_grid(to_uint8(samples, value_range), columns)
