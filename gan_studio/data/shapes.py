"""`shapes`: a procedural labelled image set, generated from a seed (the built-in default data).

Six classes of filled shapes, near the centre, with random size, offset and a small tilt, drawn
anti-aliased with Pillow at 4x and downsampled. Grayscale by default; `colour=True` gives each
shape a random hue on a dark background. Needs no download.

The set is meant to be learnt quickly: the app's default DCGAN draws recognisable shapes after a
few CPU minutes. (Outlined shapes at random positions, an earlier version, were too hard for that:
the same model drew rings and blobs.)
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

SHAPE_CLASSES = ["circle", "square", "triangle", "star", "cross", "heart"]
DEFAULT_SIZE = 12_000  # images per shapes dataset
_SUPERSAMPLE = 4
MAX_TILT = 0.3  # radians: shapes are drawn upright, tilted by at most this much either way


def _polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """Vertices of a regular or star polygon (used by square, triangle, star, cross)."""
    if kind == "square":  # axis-aligned at angle 0 (not a diamond)
        radii, count, angle = [r * 0.9], 4, angle + math.pi / 4
    elif kind == "triangle":
        radii, count = [r], 3
    elif kind == "star":
        radii, count = [r, r * 0.45], 10
    else:  # cross: a plus sign made of 12 vertices
        a, b = r, r * 0.35
        pts = [(b, a), (b, b), (a, b), (a, -b), (b, -b), (b, -a),
               (-b, -a), (-b, -b), (-a, -b), (-a, b), (-b, b), (-b, a)]  # fmt: skip
        cos, sin = math.cos(angle), math.sin(angle)
        return [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in pts]
    pts = []
    for i in range(count):
        theta = angle + 2 * math.pi * i / count - math.pi / 2
        radius = radii[i % len(radii)]
        pts.append((cx + radius * math.cos(theta), cy + radius * math.sin(theta)))
    return pts


def _heart(cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    pts = []
    for t in np.linspace(0, 2 * math.pi, 48, endpoint=False):
        x = 16 * math.sin(t) ** 3
        y = -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t))
        x, y = x * r / 17, y * r / 17
        cos, sin = math.cos(angle), math.sin(angle)
        pts.append((cx + x * cos - y * sin, cy + x * sin + y * cos))
    return pts


def draw_shape(label: int, size: int, rng: np.random.Generator, colour: bool = False) -> np.ndarray:
    """One image (size, size, C) uint8 of class `label` with random size, offset and tilt."""
    big = size * _SUPERSAMPLE
    r = rng.uniform(0.30, 0.42) * big
    cx, cy = big / 2 + rng.uniform(-0.06, 0.06, size=2) * big
    angle = rng.uniform(-MAX_TILT, MAX_TILT)
    kind = SHAPE_CLASSES[label]
    fg = tuple(int(v) for v in rng.integers(140, 256, size=3)) if colour else 255
    img = Image.new("RGB" if colour else "L", (big, big), 0)
    draw = ImageDraw.Draw(img)
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
    else:
        pts = _heart(cx, cy, r, angle) if kind == "heart" else _polygon(kind, cx, cy, r, angle)
        draw.polygon(pts, fill=fg)
    img = img.resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.uint8)
    return arr if colour else arr[:, :, None]


def make_shapes(n: int = DEFAULT_SIZE, size: int = 32, seed: int = 0, colour: bool = False):
    """Generate `n` images (N, size, size, C) uint8, their labels, and the class names.

    Results are cached per process (read-only arrays), so repeated runs start at once.
    """
    images, labels, names = _make_shapes_cached(n, size, seed, colour)
    return images, labels, list(names)


@lru_cache(maxsize=4)
def _make_shapes_cached(n: int, size: int, seed: int, colour: bool):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(SHAPE_CLASSES)
    rng.shuffle(labels)
    images = np.stack([draw_shape(int(k), size, rng, colour) for k in labels])
    labels = labels.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels, tuple(SHAPE_CLASSES)
