"""Sampling shared by `gan-studio sample`, the explorer and exported models.

The same seed gives the same latents and labels whether the generator runs in torch or in
ONNX Runtime, so a run and its exported file draw the same grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gan_studio.config import apply_values
from gan_studio.engine.checkpoint import check_compatible, load_checkpoint
from gan_studio.engine.grids import GRID_COLUMNS_DEFAULT, samples_picture
from gan_studio.engine.rundir import RunDir
from gan_studio.errors import ConfigError, RunError
from gan_studio.models import DataInfo, create_model, get_spec
from gan_studio.models.base import one_hot


@dataclass
class LoadedRun:
    """A trained model from a run directory, ready for inference (eval mode, CPU by default)."""

    path: Path
    model_name: str
    model: torch.nn.Module
    data_info: DataInfo
    step: int
    info: dict = field(default_factory=dict)

    @property
    def family(self) -> str:
        return self.model.family

    @property
    def num_classes(self) -> int:
        return self.model.num_classes

    @property
    def class_names(self) -> list[str]:
        return self.data_info.class_names if self.num_classes else []

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim


def load_run(
    run_path: str | Path, device: str | torch.device = "cpu", checkpoint: str | Path | None = None
) -> LoadedRun:
    """Load the model of a run (checkpoints/last.pt unless `checkpoint` names another file)."""
    run = RunDir(Path(run_path))
    if not run.path.is_dir():
        raise RunError("no such run directory", run.path)
    info = run.read_info() if run.exists() else {}
    ckpt_path = Path(checkpoint) if checkpoint else run.last_checkpoint
    if not ckpt_path.exists():
        raise RunError("the run has no checkpoint yet (it saves one every --checkpoint-every steps)", run.path)
    data = load_checkpoint(ckpt_path)
    spec = get_spec(data["model_name"])
    config = apply_values(spec.config_cls(), data["model_config"], strict=False)
    data_info = DataInfo.from_dict(data["data_info"])
    model = create_model(spec.name, config, data_info)
    check_compatible(data, spec.name, model, ckpt_path)
    model.load_state_dict(data["model"])
    model.to(device).eval()
    return LoadedRun(run.path, spec.name, model, data_info, int(data["step"]), info)


def sample_inputs(n: int, latent_dim: int, seed: int, num_classes: int = 0, label: int | None = None,
                  class_names: list[str] | None = None):  # fmt: skip
    """Latents z (n, latent_dim) from `seed` and one-hot labels: all `label`, or one row per class."""
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    if label is not None:
        if not num_classes:
            raise ConfigError("--label is only for conditional models (cgan, cdcgan, cvae)")
        if not 0 <= label < num_classes:
            names = f" ({', '.join(class_names)})" if class_names else ""
            raise ConfigError(f"--label must be between 0 and {num_classes - 1}{names}, got {label}")
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    if not num_classes:
        return z, None
    if label is not None:
        labels = torch.full((n,), label, dtype=torch.long)
    else:
        labels = torch.arange(n) // grid_columns(n, num_classes)
        labels = labels.clamp(max=num_classes - 1)
    return z, one_hot(labels, num_classes)


def grid_columns(n: int, num_classes: int = 0, label: int | None = None) -> int:
    """Columns of a sample grid: 8 (or sqrt n), or n / classes so each row is one class."""
    if num_classes and label is None:
        return max(1, math.ceil(n / num_classes))
    return max(1, min(GRID_COLUMNS_DEFAULT, math.ceil(math.sqrt(n)))) if n < 64 else GRID_COLUMNS_DEFAULT


@torch.no_grad()
def generate(loaded: LoadedRun, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    device = next(loaded.model.parameters()).device
    return loaded.model.generate(z.to(device), None if y is None else y.to(device)).cpu()


def grid_picture(samples: torch.Tensor | np.ndarray, value_range, n: int, num_classes: int = 0,
                 label: int | None = None) -> np.ndarray:  # fmt: skip
    """The PNG-ready picture of generated samples (image grid or 2D scatter)."""
    if isinstance(samples, np.ndarray):
        samples = torch.from_numpy(samples)
    return samples_picture(samples, value_range, grid_columns(n, num_classes, label))
