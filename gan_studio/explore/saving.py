"""Turning explorer outputs into files: pictures (PNG), animations (GIF), and latents (JSON).

A saved latent records z, y and where it came from (model, run or file, step), so it can be
reloaded later into the same model, or pasted into another with the same latent size.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gan_studio.engine.grids import image_grid, save_png, scatter_plot, to_uint8
from gan_studio.errors import ConfigError
from gan_studio.explore.latent import z_from_text

LATENT_FORMAT = "gan-studio-latent"


def to_pictures(samples: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Generated images (N, C, H, W) in `value_range` -> uint8 (N, H, W, C)."""
    return to_uint8(torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)), value_range)


def samples_to_picture(samples: np.ndarray, value_range, columns: int, padding: int = 2,
                       backdrop: tuple[np.ndarray, tuple] | None = None) -> np.ndarray:  # fmt: skip
    """A uint8 (H, W, C) picture: images tiled `columns` wide, or 2D points drawn over `backdrop`
    (a cloud of generated points and the plane extent), or a plain scatter plot without one."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        if backdrop is not None:
            return points_picture(backdrop[0], samples, backdrop[1])
        return scatter_plot(samples.astype(np.float32))
    return image_grid(to_pictures(samples, value_range), columns, padding)


def label_rows(picture: np.ndarray, labels: list[str], cell_height: int, padding: int = 2,
               font_size: int = 11) -> tuple[np.ndarray, int]:  # fmt: skip
    """Write a label left of each row of a grid picture (e.g. class names of a class x seed grid).

    Returns the labelled RGB picture and the width of the margin added on the left."""
    font = ImageFont.load_default(size=font_size)
    margin = max(int(font.getlength(text)) for text in labels) + 8 if labels else 0
    rgb = (
        picture
        if picture.ndim == 3 and picture.shape[2] == 3
        else np.repeat(picture.reshape(*picture.shape[:2], 1), 3, 2)
    )
    canvas = Image.new("RGB", (rgb.shape[1] + margin, rgb.shape[0]), (0, 0, 0))
    canvas.paste(Image.fromarray(np.ascontiguousarray(rgb)), (margin, 0))
    draw = ImageDraw.Draw(canvas)
    for row, text in enumerate(labels):
        centre = padding + row * (cell_height + padding) + cell_height / 2
        draw.text((margin - 4, centre), text, fill=(220, 224, 232), font=font, anchor="rm")
    return np.asarray(canvas), margin


def points_picture(cloud: np.ndarray, highlight: np.ndarray, extent, size: int = 320,
                   connect: bool = False) -> np.ndarray:  # fmt: skip
    """2D points on a dark plane: the model's distribution (`cloud`, grey) with `highlight` points in orange;
    `connect` joins the highlighted points in order (an interpolation path). uint8 (size, size, 3)."""
    x0, x1, y0, y1 = extent
    img = Image.new("RGB", (size, size), (27, 29, 34))
    draw = ImageDraw.Draw(img)

    def to_px(points):
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        p = p[np.isfinite(p).all(axis=1)]
        return [((x - x0) / (x1 - x0) * (size - 1), (y1 - y) / (y1 - y0) * (size - 1)) for x, y in p]

    for px, py in to_px(cloud):
        draw.ellipse([px - 1.2, py - 1.2, px + 1.2, py + 1.2], fill=(110, 116, 128))
    marks = to_px(highlight)
    if connect and len(marks) > 1:
        draw.line(marks, fill=(242, 170, 90), width=2)
    radius = 5 if len(marks) <= 4 else 3.5
    for px, py in marks:
        draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=(242, 142, 43), outline=(255, 230, 200))
    return np.asarray(img)


def save_picture(picture: np.ndarray, path: str | Path) -> Path:
    """Write a uint8 picture (H, W[, C]) as PNG."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    save_png(np.ascontiguousarray(picture), path)
    return path


def save_gif(frames: list[np.ndarray] | np.ndarray, path: str | Path, fps: float = 12.0, scale: int = 1,
             bounce: bool = True) -> Path:  # fmt: skip
    """Write uint8 frames (H, W[, C]) as a looping GIF; `bounce` plays forward then back."""
    frames = [np.ascontiguousarray(f) for f in frames]
    if not frames:
        raise ConfigError("nothing to animate: the interpolation has no frames")
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    pictures = []
    for f in frames:
        img = Image.fromarray(f[:, :, 0] if f.ndim == 3 and f.shape[2] == 1 else f)
        if scale > 1:
            img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
        pictures.append(img.convert("P", palette=Image.Palette.ADAPTIVE) if img.mode == "RGB" else img)
    path = Path(path)
    if path.suffix.lower() != ".gif":
        path = path.with_suffix(".gif")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    duration = max(20, int(round(1000.0 / max(fps, 0.1))))
    pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=duration, loop=0)
    os.replace(tmp, path)
    return path


def save_latent(path: str | Path, z: np.ndarray, y: np.ndarray | None = None, **about) -> Path:
    """Write z (and y) with `about` (model, source, step, class_names...) as JSON."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        path = path.with_suffix(".json")
    data = {
        "format": LATENT_FORMAT,
        "z": [float(v) for v in np.asarray(z, dtype=np.float64).ravel()],
        "y": None if y is None else [float(v) for v in np.asarray(y, dtype=np.float64).ravel()],
        "saved": time.time(),
        **{k: v for k, v in about.items() if v is not None},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_latent(path: str | Path, latent_dim: int, num_classes: int = 0) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Read a saved latent: (z, y or None, the whole record). Checks the sizes fit this model."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such latent file", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the latent file ({exc})", path) from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not a saved latent: invalid JSON ({exc.msg}, line {exc.lineno})", path) from None
    if not isinstance(record, dict):
        raise ConfigError("not a saved latent (expected a JSON object with a z list)", path)
    try:
        z, y = z_from_text(json.dumps({"z": record.get("z"), "y": record.get("y")}), latent_dim)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("the pasted latent", "the saved latent"), path) from None
    if y is not None and num_classes == 0:
        y = None  # saved from a conditional model: keep z, ignore the condition
    elif y is not None and y.size != num_classes:
        raise ConfigError(f"the saved condition has {y.size} classes, this model has {num_classes}", path)
    return z, y, record
