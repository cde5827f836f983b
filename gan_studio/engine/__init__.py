"""Training engine: the Trainer, run directories, checkpoints and sample grids (no Qt)."""

from gan_studio.engine.rundir import RunDir, list_runs, summarise_run
from gan_studio.engine.trainer import TrainConfig, Trainer, resolve_device

__all__ = ["RunDir", "TrainConfig", "Trainer", "list_runs", "resolve_device", "summarise_run"]
