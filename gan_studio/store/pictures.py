"""Pictures of samples: the one builder from samples to a picture, PNG writing and reading.

`samples_picture` turns generated samples into what every part of GAN Studio shows and saves: an
image grid (one row per class for conditional models), or for 2D points a scatter plot (white, with
the real points in grey) or the explorer's dark plane over a backdrop cloud.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, UnidentifiedImageError

from gan_studio.errors import GanStudioError, RunError
from gan_studio.files import atomic_write, open_regular

if TYPE_CHECKING:
    import torch

GRID_COLUMNS = 8  # columns of sample grids
GRID_MAX_CLASS_ROWS = 32  # a grid shows this many classes at most, evenly spaced over all of them
MAX_PICTURE_PIXELS = 64 * 2**20  # a saved grid larger than this is not read back


def grid_classes(num_classes: int) -> list[int]:
    """The classes a grid shows, a row each: all of them, or GRID_MAX_CLASS_ROWS spread evenly from the
    first to the last (a grid of 1,000 classes took 2.7 GB to draw and was 34,000 px tall)."""
    if num_classes <= GRID_MAX_CLASS_ROWS:
        return list(range(num_classes))
    return np.linspace(0, num_classes - 1, GRID_MAX_CLASS_ROWS).round().astype(int).tolist()


def to_uint8(images: torch.Tensor | np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """(N, C, H, W) floats in `value_range` -> uint8 (N, H, W, C), clipped."""
    x = float_array(images)
    lo, hi = value_range
    x = np.nan_to_num((x - np.float32(lo)) / np.float32(hi - lo), nan=0.0)  # a NaN pixel black, as before
    x = np.clip(x, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)
    return x.astype(np.uint8).transpose(0, 2, 3, 1)


def float_array(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """A tensor (on any device) or array as a float32 numpy array (without importing torch: listing runs and
    `gan-studio --version` do not need it)."""
    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    return np.asarray(values, dtype=np.float32)


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


def scatter_plot(generated: np.ndarray, real: np.ndarray | None = None, size: int = 384,
                 extent: float | None = None, classes: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """A uint8 RGB (size, size, 3) scatter of 2D points: real in grey, generated in orange, or in the colour
    of its class (`classes`: one index per generated point, for conditional models).

    The view is centred on the origin (its axes drawn) when the points surround it, else on the
    middle of the points (data far from the origin, e.g. in pixel coordinates), `extent` around it."""
    pts = [p for p in (real, generated) if p is not None and len(p)]
    finite = np.concatenate([p[np.isfinite(p).all(1)] for p in pts]) if pts else np.zeros((0, 2))
    middle = np.zeros(2)
    if finite.size and ((finite.min(0) > 0) | (finite.max(0) < 0)).any():  # the origin is outside the points
        middle = (finite.min(0) + finite.max(0)) / 2
    if extent is None:
        extent = float(np.abs(finite - middle).max()) * 1.15 if finite.size else 1.0
        extent = max(extent, 1e-3)
    img = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    centre = size / 2
    scale = (size / 2 - 4) / extent
    axis_x, axis_y = centre - middle[0] * scale, centre + middle[1] * scale  # where x = 0 and y = 0 fall
    if 0 <= axis_y <= size:
        draw.line([(0, axis_y), (size, axis_y)], fill=(225, 225, 225))
    if 0 <= axis_x <= size:
        draw.line([(axis_x, 0), (axis_x, size)], fill=(225, 225, 225))

    def plot(points, colours, radius):
        finite = np.isfinite(points).all(1)
        for (x, y), colour in zip(points[finite], np.asarray(colours)[finite], strict=True):
            px, py = centre + (x - middle[0]) * scale, centre - (y - middle[1]) * scale
            draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=tuple(int(c) for c in colour))

    if real is not None:
        plot(real, np.tile((150, 150, 150), (len(real), 1)), 1.6)
    if classes is not None:
        colours = np.array([class_colour(k) for k in np.asarray(classes).reshape(-1)[: len(generated)]])
    else:
        colours = np.tile((230, 110, 20), (len(generated), 1))
    plot(generated, colours, 1.6)
    return np.asarray(img)


# one colour per class of a conditional model of 2D points (the explorer's plane, its class grid)
CLASS_COLOURS = [(242, 142, 43), (78, 201, 176), (235, 99, 160), (137, 180, 250), (250, 214, 90), (160, 120, 240),
                 (120, 220, 100), (255, 120, 90), (90, 200, 240), (200, 200, 200)]  # fmt: skip


def class_colour(index: int) -> tuple[int, int, int]:
    """The colour of class `index` (the palette repeats after ten classes)."""
    return CLASS_COLOURS[int(index) % len(CLASS_COLOURS)]


def plane_pixels(points: np.ndarray, extent, size: int) -> np.ndarray:
    """(N, 2) pixel positions (x right, y down) of 2D points on a `size` picture of the plane `extent`;
    NaN rows for points that are not finite."""
    x0, x1, y0, y1 = extent
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.stack([(p[:, 0] - x0) / (x1 - x0) * (size - 1), (y1 - p[:, 1]) / (y1 - y0) * (size - 1)], axis=1)


def points_picture(cloud: np.ndarray, highlight: np.ndarray, extent, size: int = 320,
                   connect: bool = False, classes: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """2D points on a dark plane: the model's distribution (`cloud`, grey) with `highlight` points in orange,
    or in their class's colour (`classes`: one index per point); `connect` joins the highlighted points in
    order (an interpolation path). uint8 (size, size, 3)."""
    img = Image.new("RGB", (size, size), (27, 29, 34))
    draw = ImageDraw.Draw(img)

    def to_px(points):
        px = plane_pixels(points, extent, size)
        return [(x, y) for x, y in px[np.isfinite(px).all(axis=1)]]

    for px, py in to_px(cloud):
        draw.ellipse([px - 1.2, py - 1.2, px + 1.2, py + 1.2], fill=(110, 116, 128))
    pixels = plane_pixels(highlight, extent, size)
    marks = [(x, y) for x, y in pixels[np.isfinite(pixels).all(axis=1)]]
    if connect and len(marks) > 1:
        draw.line(marks, fill=(242, 170, 90), width=2)
    radius = 5 if len(marks) <= 4 else 3.5
    for i, (px, py) in enumerate(pixels):
        if np.isfinite([px, py]).all():
            colour = class_colour(classes[i]) if classes is not None else (242, 142, 43)
            draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=colour, outline=(255, 230, 200))
    return np.asarray(img)


def samples_picture(samples: torch.Tensor | np.ndarray, value_range, columns: int = GRID_COLUMNS, *,
                    real_points: np.ndarray | None = None, backdrop: tuple[np.ndarray, tuple] | None = None,
                    padding: int = 2, classes: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The picture of a batch of samples: images tiled `columns` wide, or 2D points as a scatter plot
    (with `real_points` in grey) or, given a `backdrop` (generated cloud, plane extent), on the
    explorer's dark plane (coloured by `classes` when given)."""
    samples = float_array(samples)
    if samples.ndim == 2:
        if backdrop is not None:
            return points_picture(backdrop[0], samples, backdrop[1], classes=classes)
        return scatter_plot(samples.astype(np.float32), real_points, classes=classes)
    return image_grid(to_uint8(samples, value_range), columns, padding)


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write uint8 (H, W) or (H, W, C) as PNG atomically; `path` gets a .png suffix if it has another."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    if path.is_dir():
        raise GanStudioError("is a folder: give a file name for the PNG", path)
    array = np.ascontiguousarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: Image.fromarray(array).save(fh, format="PNG"), durable=False)
    return path


def read_picture(path: Path) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) pixels of a saved PNG; RunError when it cannot be read."""
    try:
        with open_regular(path) as fh, Image.open(fh) as img:
            if img.width * img.height > MAX_PICTURE_PIXELS:
                raise RunError(f"picture is too large ({img.width}x{img.height})", path)
            img = img.convert("L" if img.mode in ("L", "1", "I", "I;16") else "RGB")
            return np.asarray(img).copy()
    except GanStudioError:
        raise
    except UnidentifiedImageError:  # its message names Python's file object, not the file
        raise RunError("cannot read picture (not an image Pillow knows: damaged, or another kind of file)",
                       path) from None  # fmt: skip
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RunError(f"cannot read picture ({exc})", path) from None


def grid_cells(count: int, columns: int, cell_shape: tuple[int, ...], padding: int = 2, left: int = 0):
    """The layout of `count` pictures of (H, W, ...) tiled `columns` wide by `image_grid`: (rows, columns,
    cell height, cell width, padding, left margin of row labels) -- what a viewer needs to map clicks to cells."""
    columns = max(1, min(columns, count))
    rows = (count + columns - 1) // columns
    return rows, columns, int(cell_shape[0]), int(cell_shape[1]), padding, left
