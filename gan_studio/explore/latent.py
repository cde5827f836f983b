"""Latent-space math for the explorer: seeds, neighbours, interpolation, vector arithmetic, condition
mixing, and z as text (copy/paste).

Everything works on float32 numpy vectors (latent_dim,) or batches (N, latent_dim), the format
both inference backends take.
"""

from __future__ import annotations

import json
import re

import numpy as np

from gan_studio.errors import ConfigError
from gan_studio.models.latents import sample_inputs
from gan_studio.store.pictures import grid_classes

INTERPOLATION_MODES = ("linear", "spherical")
MAX_PATH_STEPS = 10_000  # latents in one interpolation path (a strip, an animation)
MAX_LATENT_VALUE = 1e4  # |z| of a pasted or loaded latent; z ~ N(0, 1), and norms of larger ones overflow float32


def seed_latent(seed: int, latent_dim: int) -> np.ndarray:
    """z for `seed`: the latent of `gan-studio sample --n 1 --seed SEED`, so both show the same image."""
    z, _ = sample_inputs(1, latent_dim, int(seed))
    return z[0].numpy().astype(np.float32)


def neighbours(z: np.ndarray, count: int, radius: float = 0.5, seed: int = 0) -> np.ndarray:
    """`count` latents near z: z plus Gaussian noise of std `radius` per dimension (fixed per seed)."""
    steps = np.random.default_rng(seed).standard_normal((count, z.shape[-1]))
    return (z[None, :] + radius * steps).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Linear interpolation: a at t=0, b at t=1."""
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation (White 2016): follows the great circle, keeping norms Gaussian-typical.

    Falls back to lerp when a and b are (anti)parallel or zero, where the arc is undefined.
    """
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na < 1e-8 or nb < 1e-8:
        return lerp(a, b, t)
    cos = float(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    omega = float(np.arccos(cos))
    sin = float(np.sin(omega))
    if sin < 1e-6:
        return lerp(a, b, t)
    return ((np.sin((1.0 - t) * omega) / sin) * a + (np.sin(t * omega) / sin) * b).astype(np.float32)


def interpolation_path(a: np.ndarray, b: np.ndarray, steps: int, mode: str = "linear") -> np.ndarray:
    """`steps` latents from a to b inclusive, (steps, latent_dim); the ends are exactly a and b."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or not 2 <= steps <= MAX_PATH_STEPS:
        raise ConfigError(f"an interpolation needs a whole number of steps from 2 to {MAX_PATH_STEPS}, got {steps}")
    if mode not in INTERPOLATION_MODES:
        raise ConfigError(f"unknown interpolation '{mode}' (choose {' or '.join(INTERPOLATION_MODES)})")
    if a.shape != b.shape:
        raise ConfigError(f"cannot interpolate between latents of sizes {a.shape[-1]} and {b.shape[-1]}")
    step = lerp if mode == "linear" else slerp
    path = np.stack([step(a, b, float(t)) for t in np.linspace(0.0, 1.0, steps)])
    path[0], path[-1] = a, b
    return path.astype(np.float32)


def group_mean(group: list[np.ndarray] | np.ndarray, name: str) -> np.ndarray:
    """The average of a group of latents (the DCGAN paper averages 3 samples per concept)."""
    if len(group) == 0:
        raise ConfigError(f"group {name} is empty: add at least one sample to it")
    sizes = {np.shape(z) for z in group}
    if len(sizes) > 1:
        raise ConfigError(f"group {name} mixes latents of different sizes: {sorted(s[-1] if s else 0 for s in sizes)}")
    return np.mean(np.stack(list(group)), axis=0).astype(np.float32)


def arithmetic(group_a, group_b, group_c) -> np.ndarray:
    """mean(A) - mean(B) + mean(C), e.g. smiling woman - neutral woman + neutral man (Radford et al.)."""
    means = [group_mean(group, name) for group, name in ((group_a, "A"), (group_b, "B"), (group_c, "C"))]
    if len({m.shape for m in means}) > 1:
        raise ConfigError(f"the groups hold latents of different sizes: {[m.shape[-1] for m in means]}")
    return (means[0] - means[1] + means[2]).astype(np.float32)


def one_hot_vector(label: int, num_classes: int) -> np.ndarray:
    if not 0 <= label < num_classes:
        raise ConfigError(f"class must be between 0 and {num_classes - 1}, got {label}")
    y = np.zeros(num_classes, dtype=np.float32)
    y[label] = 1.0
    return y


def mix_condition(weights, num_classes: int) -> np.ndarray:
    """A soft condition vector from one weight per class, normalised to sum 1 (0.5 "3" + 0.5 "8").

    `weights` is a sequence of num_classes weights or a {class index: weight} dict; negative
    weights are refused, and all-zero weights are an error (there is no class to draw).
    """
    w = np.zeros(num_classes, dtype=np.float64)
    try:
        if isinstance(weights, dict):
            for k, v in weights.items():
                if not 0 <= int(k) < num_classes:
                    raise ConfigError(f"class must be between 0 and {num_classes - 1}, got {k}")
                w[int(k)] = float(v)
        else:
            values = np.asarray(weights, dtype=np.float64).ravel()
            if values.size != num_classes:
                raise ConfigError(f"expected {num_classes} class weights, got {values.size}")
            w[:] = values
    except (TypeError, ValueError, OverflowError):
        raise ConfigError("class weights must be numbers, one per class (or {class: weight})") from None
    if (w < 0).any() or not np.isfinite(w).all():
        raise ConfigError("class weights must be finite and not negative")
    if w.max() <= 0:
        raise ConfigError("give at least one class a weight above 0")
    w = w / w.max()  # first: a sum of huge weights would overflow
    return (w / w.sum()).astype(np.float32)


def describe_condition(y: np.ndarray | None, class_names: list[str]) -> str:
    """'3' for a one-hot y, '0.5 3 + 0.5 8' for a mixture, '' for unconditional."""
    if y is None:
        return ""
    parts = [(float(w), class_names[i] if i < len(class_names) else str(i)) for i, w in enumerate(y) if w > 1e-4]
    if len(parts) == 1 and parts[0][0] > 0.9999:
        return parts[0][1]
    return " + ".join(f"{w:.2g} {name}" for w, name in parts)


def z_to_text(z: np.ndarray, y: np.ndarray | None = None) -> str:
    """z (and y) as one line of JSON that `z_from_text` reads back: {"z": [...], "y": [...]}."""
    data = {"z": [round(float(v), 6) for v in np.asarray(z).ravel()]}
    if y is not None:
        data["y"] = [round(float(v), 6) for v in np.asarray(y).ravel()]
    return json.dumps(data, separators=(",", ":"))


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)", re.IGNORECASE)


def z_from_text(text: str, latent_dim: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Read z (and y when present) from pasted text: the JSON of `z_to_text`, a saved latent file's
    content, or just numbers separated by commas or spaces. Raises ConfigError with what is wrong."""
    text = text.strip()
    if not text:
        raise ConfigError("the clipboard holds no latent vector (it is empty)")
    y = None
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"the pasted latent is not valid JSON ({exc.msg})") from None
        except (ValueError, RecursionError):  # a number of thousands of digits; absurdly deep nesting
            raise ConfigError("the pasted latent is not a latent (a number too long, or nesting too deep)") from None
        if not isinstance(data, dict) or "z" not in data:
            raise ConfigError('the pasted JSON has no "z" list')
        values = _float_list(data["z"], "z")
        if data.get("y") is not None:
            with np.errstate(over="ignore"):  # beyond float32: inf, refused just below
                y = np.asarray(_float_list(data["y"], "y"), dtype=np.float32)
            if not np.isfinite(y).all() or (y < 0).any() or not y.any():
                raise ConfigError('the pasted latent\'s "y" must be class weights: finite, not negative, not all 0')
    else:
        text = text.strip("[]()")
        tokens = [t for t in re.split(r"[\s,;]+", text) if t]
        bad = [t for t in tokens if not _NUMBER.fullmatch(t)]
        if bad:
            raise ConfigError(f"the pasted latent has a non-number: '{bad[0][:40]}'")
        values = [float(t) for t in tokens]
    with np.errstate(over="ignore"):  # beyond float32: inf, refused below
        z = np.asarray(values, dtype=np.float32)
    if z.size != latent_dim:
        raise ConfigError(f"the pasted latent has {z.size} numbers but this model's z has {latent_dim}")
    if not np.isfinite(z).all():
        raise ConfigError("the pasted latent holds NaN or infinite values")
    if np.abs(z).max(initial=0.0) > MAX_LATENT_VALUE:
        raise ConfigError(f"the pasted latent holds values beyond ±{MAX_LATENT_VALUE:g} (z is drawn from N(0, 1))")
    return z, y


def _float_list(value, name: str) -> list[float]:
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise ConfigError(f'"{name}" must be a list of numbers')
    try:
        return [float(v) for v in value]
    except OverflowError:  # an integer of hundreds of digits
        raise ConfigError(f'"{name}" holds a number too large for a latent') from None


def class_seed_inputs(seeds: list[int], num_classes: int, latent_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs of a class x seed grid: a row per class of `grid_classes` (all, or 32 spread evenly), column j
    is seed j (the same z down a column)."""
    if not num_classes:
        raise ConfigError("a class x seed grid needs a conditional model")
    if not seeds:
        raise ConfigError("a class x seed grid needs at least one seed")
    z_cols = np.stack([seed_latent(s, latent_dim) for s in seeds])  # (S, latent)
    rows = grid_classes(num_classes)
    z = np.tile(z_cols, (len(rows), 1))  # (R * S, latent), row-major: class, then seed
    y = np.repeat(np.eye(num_classes, dtype=np.float32)[rows], len(seeds), axis=0)  # (R * S, K)
    return z.astype(np.float32), y
