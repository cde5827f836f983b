"""Tiny trained runs of every model type for the export and inference tests (helpers, no tests here).

Each run trains a few steps on a small in-memory dataset so BatchNorm running statistics are no
longer the defaults (folding them is then really tested) while the whole file set stays fast.
Runs and exports are made once per test session (`exported`) and shared by the test files.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import torch

from gan_studio.config import apply_values
from gan_studio.data import Dataset, image_dataset, points_dataset
from gan_studio.engine import TrainConfig, Trainer
from gan_studio.models import default_config

CLASS_NAMES = ["circle", "square", "triangle"]
FAST_LR = 0.05

# name -> (model, model config values, data kind, channels, image size)
TINY_RUNS = {
    "gan-points": ("gan", {"latent_dim": 4, "g_hidden": 16, "d_hidden": 16, "g_layers": 2, "d_layers": 2}, "points", 0, 0),
    "cgan-images": ("cgan", {"latent_dim": 6, "image_size": 12, "g_hidden": 24, "d_hidden": 24, "g_layers": 2,
                             "d_layers": 1}, "images", 1, 12),
    "dcgan-32": ("dcgan", {"latent_dim": 8, "image_size": 32, "ngf": 4, "ndf": 4}, "images", 3, 32),
    "dcgan-64": ("dcgan", {"latent_dim": 8, "image_size": 64, "ngf": 4, "ndf": 4}, "images", 1, 64),
    "cdcgan-32": ("cdcgan", {"latent_dim": 8, "image_size": 32, "ngf": 4, "ndf": 4, "label_embed_dim": 3},
                  "images", 1, 32),
    "vae-images": ("vae", {"latent_dim": 4, "image_size": 32, "channels": 4}, "images", 1, 32),
    "vae-points": ("vae", {"latent_dim": 2, "hidden": 16, "layers": 2}, "points", 0, 0),
    "cvae-images": ("cvae", {"latent_dim": 4, "image_size": 32, "channels": 4}, "images", 1, 32),
}  # fmt: skip


def tiny_dataset(kind: str, channels: int, size: int, value_range: tuple[float, float], n: int = 48) -> Dataset:
    """Random labelled images (N, C, S, S) in `value_range`, or 2D points, with 3 classes."""
    gen = torch.Generator().manual_seed(1)
    y = torch.arange(n) % len(CLASS_NAMES)
    if kind == "points":
        x = torch.randn(n, 2, generator=gen) + y[:, None].float()
        return points_dataset("tiny-points", x.numpy(), y.numpy(), list(CLASS_NAMES), "tiny-points")
    pixels = torch.randint(0, 256, (n, channels, size, size), generator=gen, dtype=torch.uint8)
    return image_dataset("tiny-images", pixels.numpy(), y.numpy(), list(CLASS_NAMES), value_range)


def train_tiny_run(folder: Path, name: str, steps: int = 3) -> Path:
    """Train run `name` of TINY_RUNS for a few CPU steps into folder/name; returns the run path."""
    model_name, values, kind, channels, size = TINY_RUNS[name]
    is_gan = model_name.endswith("gan")
    # a large learning rate moves the weights far from their tiny initialisation in 3 steps, so the
    # samples clearly depend on z (a grid comparison then means something)
    fast = {"lr_g": FAST_LR, "lr_d": FAST_LR} if is_gan else {"lr": FAST_LR}
    config = apply_values(default_config(model_name), {**values, **fast})
    family_range = (-1.0, 1.0) if is_gan else (0.0, 1.0)
    dataset = tiny_dataset(kind, channels, size, family_range)
    train = TrainConfig(data=dataset.name, steps=steps, batch_size=16, device="cpu", log_every=1,
                        sample_every=0, checkpoint_every=0)  # fmt: skip
    trainer = Trainer.new(model_name, config, train, out=folder / name, dataset=dataset)
    for update in trainer:
        assert update["kind"] not in ("failed", "diverged"), update
    return folder / name


_SHARED: dict[tuple[str, str], tuple[Path, object]] = {}
_FOLDER: list[Path] = []


def shared_folder() -> Path:
    """One temporary folder for the session's shared runs, removed at exit."""
    if not _FOLDER:
        _FOLDER.append(Path(tempfile.mkdtemp(prefix="gan-studio-export-tests-")))
        atexit.register(shutil.rmtree, _FOLDER[0], ignore_errors=True)
    return _FOLDER[0]


def exported(name: str, part: str = "generator"):
    """(run path, ExportReport) of tiny run `name` exported once per session (the export is the test)."""
    from gan_studio.export.onnx_export import export_run

    key = (name, part)
    if key not in _SHARED:
        run = shared_folder() / name
        if not run.exists():
            train_tiny_run(shared_folder(), name)
        _SHARED[key] = (run, export_run(run, part=part))
    return _SHARED[key]
