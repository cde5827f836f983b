"""Tiny trained runs for the tests (helpers, no tests here): the one factory every test file uses.

`make_trainer(out, model, **settings)` builds a Trainer with tiny model sizes (TINY_MODELS) and a
short training on the CPU (or on GAN_STUDIO_TEST_DEVICE, e.g. cuda: benchmarks/gpu_session.sh);
`train_tiny_run` runs it to the end. The `tiny_run` fixture in conftest.py calls it in the test's tmp_path. For the export and inference tests, `exported(name)` trains each
of TINY_RUNS (every model type, on small in-memory data, so BatchNorm statistics are no longer
the defaults and folding them is really tested) and exports it, once per test session.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import torch

from gan_studio.data import Dataset, image_dataset, points_dataset
from gan_studio.engine.recipes import recipe_for
from gan_studio.engine.settings import configs_from_values
from gan_studio.engine.trainer import Trainer
from gan_studio.events import Diverged, Failed
from gan_studio.models import get_spec

# model sizes that train in milliseconds on one CPU thread
TINY_MODELS = {
    "gan": {"g_hidden": 16, "d_hidden": 16, "latent_dim": 4, "g_layers": 2, "d_layers": 2},
    "cgan": {"g_hidden": 16, "d_hidden": 16, "latent_dim": 4, "g_layers": 2, "d_layers": 2},
    "vae": {"hidden": 16, "latent_dim": 2},
    "cvae": {"hidden": 16, "latent_dim": 2},
    "dcgan": {"ngf": 4, "ndf": 4, "latent_dim": 8},
    "cdcgan": {"ngf": 4, "ndf": 4, "latent_dim": 8, "label_embed_dim": 4},
}
TEST_DEVICE = os.environ.get("GAN_STUDIO_TEST_DEVICE", "cpu")
TINY_TRAINING = {"steps": 3, "batch_size": 16, "log_every": 1, "sample_every": 0, "checkpoint_every": 0,
                 "device": TEST_DEVICE, "deterministic": TEST_DEVICE != "cpu"}  # fmt: skip


def make_trainer(out: Path, model: str = "gan", dataset: Dataset | None = None, **settings) -> Trainer:
    """A new Trainer of a tiny `model` into `out`; `settings` are any train or model settings (flags' names).

    The data defaults to ring8 (moons for VAEs); model sizes default to TINY_MODELS[model].
    """
    data = "moons" if "vae" in model else "ring8"
    values = {"data": data, **TINY_TRAINING, **TINY_MODELS[model], **settings}
    trainer_options = {k: values.pop(k) for k in ("controls", "callbacks", "workspace") if k in values}
    _, train_config, model_config = configs_from_values(model, values)
    return Trainer.new(model, model_config, train_config, out=out, dataset=dataset, **trainer_options)


def train_tiny_run(out: Path, model: str = "gan", dataset: Dataset | None = None, **settings) -> Trainer:
    """`make_trainer`, trained to the end (a failure or divergence fails the test); returns the Trainer."""
    trainer = make_trainer(out, model, dataset, **settings)
    for event in trainer:
        assert not isinstance(event, (Failed, Diverged)), event
    return trainer


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


def trained_run_path(out: Path, model: str, data: str, steps: int = 3, **settings) -> Path:
    """A few steps of tiny `model` on `data` into `out`; returns the run's path."""
    return train_tiny_run(out, model, data=data, steps=steps, **settings).run.path


def train_export_run(folder: Path, name: str, steps: int = 3) -> Path:
    """Train run `name` of TINY_RUNS for a few CPU steps into folder/name; returns the run path."""
    model_name, values, kind, channels, size = TINY_RUNS[name]
    spec = get_spec(model_name)
    is_gan = spec.family == "gan"
    # a large learning rate moves the weights far from their tiny initialisation in 3 steps, so the
    # samples clearly depend on z (a grid comparison then means something)
    fast = {"lr_g": FAST_LR, "lr_d": FAST_LR} if is_gan else {"lr": FAST_LR}
    family_range = recipe_for(spec).value_range
    dataset = tiny_dataset(kind, channels, size, family_range)
    train_tiny_run(folder / name, model_name, dataset, data=dataset.name, steps=steps, **values, **fast)
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
            train_export_run(shared_folder(), name)
        _SHARED[key] = (run, export_run(run, part=part))
    return _SHARED[key]
