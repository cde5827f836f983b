"""Turning explorer outputs into files: pictures (PNG), animations (GIF), and latents (JSON).

A saved latent records z, y and where it came from (model, run or file, step), so it can be
reloaded later into the same model, or pasted into another with the same latent size.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gan_studio.errors import ConfigError, GanStudioError
from gan_studio.explore.label_fonts import draw_text_right, text_width
from gan_studio.explore.latent import z_from_text
from gan_studio.files import atomic_write, read_regular
from gan_studio.store.pictures import save_png

LATENT_FORMAT = "gan-studio-latent"
MAX_LATENT_BYTES = 4 * 2**20
SLIDE_SIDE = 256  # saved explorer pictures are enlarged to at least this shorter side (px)


def enlargement(height: int, width: int, at_least: int = SLIDE_SIDE) -> int:
    """The whole factor that brings a picture's shorter side to at least `at_least` pixels (1 when it already is)."""
    return max(1, -(-at_least // max(1, min(height, width))))


def save_enlarged_png(picture: np.ndarray, path: str | Path) -> tuple[Path, int]:
    """Write an explorer picture as PNG enlarged by a whole factor k, nearest neighbour (each pixel an exact k x k
    block, nothing smoothed), so its shorter side is at least SLIDE_SIDE: a 32 px sample saved for a slide is
    256 px, not a speck. Returns the path written and k."""
    scale = enlargement(*picture.shape[:2])
    if scale > 1:
        picture = np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)
    return save_png(picture, path), scale


def label_rows(picture: np.ndarray, labels: list[str], cell_height: int, padding: int = 2,
               font_size: int = 11) -> tuple[np.ndarray, int]:  # fmt: skip
    """Write a label left of each row of a grid picture (e.g. class names of a class x seed grid).

    Returns the labelled RGB picture and the width of the margin added on the left."""
    margin = max(int(text_width(text, font_size)) for text in labels) + 8 if labels else 0
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
        draw_text_right(draw, margin - 4, centre, text, font_size, fill=(220, 224, 232))
    return np.asarray(canvas), margin


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
    duration = max(20, int(round(1000.0 / max(fps, 0.1))))
    atomic_write(path, lambda fh: pictures[0].save(fh, format="GIF", save_all=True, append_images=pictures[1:],
                                                    duration=duration, loop=0), durable=False)  # fmt: skip
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
    atomic_write(path, json.dumps(data, indent=1).encode("utf-8"), durable=False)
    return path


def load_latent(path: str | Path, latent_dim: int, num_classes: int = 0) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Read a saved latent: (z, y or None, the whole record). Checks the sizes fit this model."""
    path = Path(path)
    try:
        text = read_regular(path, MAX_LATENT_BYTES, follow=True).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("no such latent file", path) from None
    except (OSError, UnicodeDecodeError, GanStudioError) as exc:
        raise ConfigError(f"cannot read the latent file ({exc})", path) from None
    if len(text) > MAX_LATENT_BYTES:
        raise ConfigError("too large for a saved latent", path)
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not a saved latent: invalid JSON ({exc.msg}, line {exc.lineno})", path) from None
    except (ValueError, RecursionError):  # a number of thousands of digits; absurdly deep nesting
        raise ConfigError("not a saved latent (a number too long, or nesting too deep)", path) from None
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
