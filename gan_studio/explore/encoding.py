"""VAE encoding for the explorer: an image from the run's dataset or an image file -> z and its
reconstruction, so the user can edit a real image's code with the sliders.

Also loads the run's training data (cached), which the KL ordering and the live 2D view use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_studio.data import Dataset, load_dataset
from gan_studio.data.budgets import MAX_IMAGE_FILE_BYTES
from gan_studio.data.decode import BadImage, decode_square
from gan_studio.errors import ConfigError, DataError
from gan_studio.explore.latent import one_hot_vector
from gan_studio.user_files import RefusedFile, os_reason, read_user_file

_DATASETS: dict[tuple, Dataset] = {}  # (spec, size, channels, range, seed) -> dataset; a few at most
_CACHE_SIZE = 2


@dataclass
class Encoding:
    """An input, its code and what the decoder makes of the code."""

    input: np.ndarray  # (C, H, W) in [0, 1], or (D,) for points
    mu: np.ndarray  # (latent,) mean of q(z|x): the z put into the sliders
    sigma: np.ndarray  # (latent,) standard deviation of q(z|x)
    reconstruction: np.ndarray  # decoder output for z = mu, same shape as input
    label: int | None = None


def run_dataset(info: dict, sample_shape: tuple[int, ...], value_range: tuple[float, float],
                download: bool = False) -> Dataset:  # fmt: skip
    """The dataset a run was trained on (from run.json), in the model's shape and value range."""
    train = info.get("train_config") or {}
    spec = train.get("data") or (info.get("dataset") or {}).get("source") or (info.get("dataset") or {}).get("name")
    if not spec:
        raise DataError("the run does not record its dataset (run.json has no train_config.data)")
    seed = int(train.get("seed", info.get("seed", 0)) or 0)
    image_size = int(sample_shape[-1]) if len(sample_shape) == 3 else 32
    channels = int(sample_shape[0]) if len(sample_shape) == 3 else None
    lo, hi = value_range
    if not (np.isfinite(lo) and np.isfinite(hi)):
        lo, hi = 0.0, 1.0  # points have no range; images of a VAE are in [0, 1]
    key = (str(spec), image_size, channels, (lo, hi), seed)
    if key not in _DATASETS:
        dataset = load_dataset(str(spec), image_size=image_size, channels=channels, value_range=(lo, hi), seed=seed,
                               download=download, skip_bad_files=bool(train.get("skip_bad_files", False)))  # fmt: skip
        while len(_DATASETS) >= _CACHE_SIZE:
            _DATASETS.pop(next(iter(_DATASETS)))
        _DATASETS[key] = dataset
    return _DATASETS[key]


def load_image_file(path: str | Path, sample_shape: tuple[int, ...]) -> np.ndarray:
    """An image file as float (C, H, W) in [0, 1], in the model's channels and size, decoded as the
    training images are (centre square, resized, upright); files the data loaders would refuse (too
    large, a FIFO, a decompression bomb) are refused with a DataError naming the file."""
    path = Path(path)
    if len(sample_shape) != 3:
        raise ConfigError("this model works on 2D points, not images")
    channels, size = int(sample_shape[0]), int(sample_shape[-1])
    try:
        data = read_user_file(path, MAX_IMAGE_FILE_BYTES)
    except FileNotFoundError:
        raise DataError("no such image file", path) from None
    except RefusedFile as exc:
        raise DataError(str(exc), path) from None
    except OSError as exc:
        raise DataError(f"cannot read this image: {os_reason(exc)}", path) from None
    try:
        rgb = decode_square(data, size).astype(np.float32) / 255.0  # (size, size, 3)
    except BadImage as exc:
        raise DataError(str(exc), path) from None
    if channels == 1:
        rgb = (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[:, :, None]  # as Pillow's "L"
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def encode(source, x: np.ndarray, label: int | None = None) -> Encoding:
    """Encode one input (C, H, W) in [0, 1] or a point (D,) with the VAE of `source` (an
    ExplorerSource); `label` is the class for a cVAE. The reconstruction decodes z = mu."""
    if source.encoder is None:
        if source.family != "vae":
            raise ConfigError("only VAEs have an encoder: a GAN cannot map an image back to z")
        raise ConfigError(
            "this export has no encoder beside it: export the run again (File → Export to ONNX writes both; "
            "`gan-studio export RUN --part encoder`), or open the run directory"
        )
    x = np.asarray(x, dtype=np.float32)
    if x.shape != tuple(source.sample_shape):
        raise DataError(f"the input has shape {x.shape}, this model takes {tuple(source.sample_shape)}")
    y = None
    if source.num_classes:
        if label is None:
            raise ConfigError("a conditional VAE encodes with a class: pick one")
        y = one_hot_vector(label, source.num_classes)[None]
    mu, logvar = source.encoder(x[None], y)
    recon = source.backend.generate(np.asarray(mu, np.float32), y)
    return Encoding(
        input=x,
        mu=np.asarray(mu[0], dtype=np.float32),
        sigma=np.exp(0.5 * np.asarray(logvar[0], dtype=np.float32)),
        reconstruction=np.asarray(recon[0], dtype=np.float32),
        label=label,
    )
