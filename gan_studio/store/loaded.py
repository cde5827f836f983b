"""A trained model loaded from a run directory (or one of its checkpoints), ready for inference.

`load_run` is what `gan-studio sample`, export, evaluation and the explorer use. When the run
trained with an exponential moving average of G's weights, the averaged generator is the one
loaded (it is what the run's sample grids show).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gan_studio.config import config_from_saved
from gan_studio.errors import CheckpointError, ConfigError, RunError
from gan_studio.events import ACTIVE_STATUSES
from gan_studio.models import DataInfo, create_model, get_spec
from gan_studio.store.checkpoint import (
    check_compatible,
    load_checkpoint,
    mismatch_error,
    numbered_checkpoints,
    run_mismatch,
)
from gan_studio.store.rundir import RunDir, looks_whole


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

    @torch.no_grad()
    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Samples for latents z (and one-hot y), on the CPU."""
        device = next(self.model.parameters()).device
        return self.model.generate(z.to(device), None if y is None else y.to(device)).cpu()


def resolve_checkpoint(run: RunDir, checkpoint: str | Path | None) -> Path:
    """The checkpoint file to load: last.pt, a file, or a kept one named 'step-N' or 'last'."""
    if checkpoint is None:
        return run.last_checkpoint
    text = str(checkpoint)
    if text == "last" or text.startswith("step-"):
        name = text if text.endswith(".pt") else f"{text}.pt"
        if text.startswith("step-"):
            number = text.removeprefix("step-").removesuffix(".pt")
            if not re.fullmatch(r"[0-9]{1,12}", number):
                raise ConfigError(f"--from must be 'last' or step-N, got '{text[:60]}'")
            name = f"step-{int(number):07d}.pt"
        path = run.checkpoints_dir / name
        if not path.exists() and not path.is_symlink():
            kept = [f"step-{s}" for s, _ in numbered_checkpoints(run.checkpoints_dir)]
            raise RunError(f"the run has no checkpoint {text} (kept: {', '.join(kept) or 'none'}, last)",
                           run.path)  # fmt: skip
        return path
    if isinstance(checkpoint, str):  # what a person typed (--from): only the run's own kept checkpoints
        raise ConfigError(f"--from must be 'last' or step-N (see `gan-studio fork RUN --list`), got '{text[:60]}'")
    return Path(checkpoint)


STARTS_AGAIN = "the run has no checkpoint: it starts again from step 0 with the settings run.json records"


def resume_record(run: RunDir, info: dict, start_from: str | None) -> tuple[dict, Path, bool]:
    """What a resume continues from: (the checkpoint's contents, its path, True), or for a run stopped
    before its first checkpoint (killed, or failed while starting: none kept either, not finished or
    stopped) the settings run.json records, to start it again from step 0: (those, last.pt's path, False)."""
    path = resolve_checkpoint(run, start_from)
    if path.exists():
        data = load_run_checkpoint(run, path)
        if start_from is None:
            _refuse_to_go_back(run, data["step"])
        return data, path, True
    if (start_from is None and isinstance(info.get("model"), str) and info.get("status") not in ("finished", "stopped")
            and not numbered_checkpoints(run.checkpoints_dir)):  # fmt: skip
        record = {"model_name": info["model"], "model_config": info.get("model_config") or {},
                  "train_config": info.get("train_config") or {}, "data_info": info.get("data_info") or {}}  # fmt: skip
        return record, path, False
    raise missing_checkpoint(run, info)


def _refuse_to_go_back(run: RunDir, step: int) -> None:
    """A plain resume continues from last.pt, and drops what the run saved after its step. When a kept checkpoint is
    newer than last.pt (an older last.pt put back by a backup or a sync tool), that would delete the newer one and
    retrain from the older one without a word: refused, with both ways on."""
    newer = [kept for kept, other in numbered_checkpoints(run.checkpoints_dir) if kept > step and looks_whole(other)]
    if newer:
        raise RunError(f"checkpoints/last.pt holds step {step:,}, but the run keeps step-{newer[-1]}, which is newer "
                       f"(was an older last.pt put back?): resume with --from step-{newer[-1]} to go on from there, or "
                       f"--from last to go back to step {step:,}, which removes the later checkpoints and history (in the "
                       "app, Fork… offers every checkpoint)", run.path)  # fmt: skip


def load_run_checkpoint(run: RunDir, path: Path) -> dict:
    """load_checkpoint of one of a run's checkpoints; when it is damaged (truncated, a flipped byte, NaN, not a
    regular file), the message names the run's other kept checkpoints and how to use one."""
    try:
        return load_checkpoint(path)
    except CheckpointError as exc:
        kept = [(step, other) for step, other in numbered_checkpoints(run.checkpoints_dir) if other != path]
        if not kept or not os.path.lexists(path):
            raise
        whole = [f"step-{step}" for step, other in kept if looks_whole(other)]
        if not whole:
            raise CheckpointError(f"{exc.reason}; the run's other checkpoints ({', '.join(f'step-{s}' for s, _ in kept[-5:])}) "
                                  "are damaged too: it can only be trained again from its start", exc.path) from None  # fmt: skip
        raise CheckpointError(f"{exc.reason}; the run keeps {', '.join(whole[-5:])}: sample, export, resume or "
                              "fork from one (--from step-N; in the app, Fork… offers them)", exc.path) from None  # fmt: skip


def missing_checkpoint(run: RunDir, info: dict) -> RunError:
    """What to say of a run without checkpoints/last.pt: none yet (a run that has just started), or gone."""
    kept = [f"step-{step}" for step, _ in numbered_checkpoints(run.checkpoints_dir)]
    if not kept and info.get("status") in ACTIVE_STATUSES and not info.get("step"):
        return RunError("the run has no checkpoint yet (it saves one every --checkpoint-every steps)", run.path)
    recorded = f" (the run recorded step {info['step']:,})" if isinstance(info.get("step"), int) else ""
    keeps = f"; it keeps {', '.join(kept)}: fork or resume one with --from step-N" if kept else ""
    return RunError(f"the run's checkpoints/last.pt is missing{recorded}: deleted or moved{keeps}", run.path)


def model_from_checkpoint(data: dict, path: Path) -> tuple[str, torch.nn.Module, DataInfo]:
    """Build the model a loaded checkpoint describes and put its weights in (its EMA generator included)."""
    spec = get_spec(data["model_name"])
    try:
        config = config_from_saved(spec.config_cls, data["model_config"])
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint holds an invalid config ({exc})", path) from None
    data_info = DataInfo.from_dict(data["data_info"])
    with torch.device("meta"):  # shapes only: a config or data shape that asks for gigabytes allocates nothing
        check_compatible(data, spec.name, create_model(spec.name, config, data_info), path)
    model = create_model(spec.name, config, data_info)  # now no bigger than the weights the file holds
    model.load_state_dict(data["model"])
    return spec.name, model, data_info


def load_run(
    run_path: str | Path, device: str | torch.device = "cpu", checkpoint: str | Path | None = None
) -> LoadedRun:
    """Load the model of a run (checkpoints/last.pt unless `checkpoint` names another file or kept step)."""
    run = RunDir(Path(run_path))
    if not run.path.is_dir():
        raise RunError("no such run directory", run.path)
    run.check_layout()
    info = run.read_info() if run.exists() else {}
    ckpt_path = resolve_checkpoint(run, checkpoint)
    if not ckpt_path.exists() and not ckpt_path.is_symlink():
        if not run.exists():
            raise RunError("not a run directory (no run.json, no checkpoint)", run.path)
        raise missing_checkpoint(run, info)
    data = load_run_checkpoint(run, ckpt_path)
    mismatch = run_mismatch(data, info)
    if mismatch:
        raise mismatch_error(ckpt_path, info, mismatch, f"the checkpoint does not belong to this run: {mismatch}")
    name, model, data_info = model_from_checkpoint(data, ckpt_path)
    model.to(device).eval()
    return LoadedRun(run.path, name, model, data_info, int(data["step"]), info)
