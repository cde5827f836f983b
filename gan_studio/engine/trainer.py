"""The Trainer: drives any registered model, writes the run directory, and obeys controls.

Plain Python and iterable: `for update in trainer:` runs training and yields dicts with a "kind":
"started", "metrics", "sample", "checkpoint", "event", "paused", "resumed", "diverged", "failed",
"finished".
Controls (pause, resume, single step, stop, hyperparameter changes) are thread-safe requests
applied at step boundaries, so the desktop app drives it from a worker thread and the CLI from
the main thread. Under torchrun every rank runs the same loop; rank 0 alone writes the run dir.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

import gan_studio
from gan_studio.config import apply_values, param, problems, to_dict
from gan_studio.data import Dataset, load_dataset
from gan_studio.engine import checkpoint as ckpt
from gan_studio.engine import distributed as dist_utils
from gan_studio.engine.batches import BatchStream
from gan_studio.engine.controls import Controls
from gan_studio.engine.ema import update_ema
from gan_studio.engine.grids import GRID_COLUMNS_DEFAULT as GRID_COLUMNS
from gan_studio.engine.grids import samples_picture, save_png, scatter_plot
from gan_studio.engine.rng import rng_state, seed_everything, set_rng_state
from gan_studio.engine.rundir import RunDir
from gan_studio.engine.steps import gan_step, vae_step
from gan_studio.errors import CheckpointError, ConfigError, GanStudioError, RunError
from gan_studio.models import DataInfo, create_model, get_spec
from gan_studio.models.base import one_hot
from gan_studio.paths import default_workspace

HPARAMS_LIVE = ("lr_g", "lr_d", "lr", "d_steps", "beta")  # may change while training (and on resume)
GRID_SAMPLES = 64  # samples in the fixed-noise grid of unconditional image models
POINT_SAMPLES = 2500  # generated points drawn for 2D scatter plots
MAX_UNCHECKED_STEPS = 256  # losses are checked for NaN/inf at least this often (one device sync each)
PAUSE_POLL_S = 0.5  # how often a paused loop wakes up on its own
RATE_OPTIMIZERS = {"lr_g": "g", "lr_d": "d", "lr": "vae"}  # learning-rate setting -> optimizer name


@dataclass
class TrainConfig:
    """How to train: data, length, batch, seed, device and logging cadence."""

    data: str = param("shapes", "dataset: a built-in name or a path (IDX folder, image folder, .npz)")
    steps: int = param(2000, "training steps (generator updates for GANs)", low=1, high=10**9)
    epochs: float = param(0.0, "train for this many passes over the data instead of steps (0 = use steps)",
                          low=0.0, high=1e6)  # fmt: skip
    batch_size: int = param(64, "samples per batch (per process under torchrun)", low=1, high=65536)
    seed: int = param(0, "random seed: same seed, same CPU run", low=0, high=2**31 - 1)
    device: str = param("auto", "where to train", choices=("auto", "cpu", "cuda", "mps"))
    log_every: int = param(10, "steps between logged metrics", low=1, high=10**6)
    sample_every: int = param(200, "steps between saved sample grids (0 = only at the end)", low=0, high=10**9)
    checkpoint_every: int = param(500, "steps between checkpoints (0 = only at the end)", low=0, high=10**9)
    keep_checkpoints: int = param(3, "numbered checkpoints kept besides last.pt", low=0, high=1000, advanced=True)
    eval_every: int = param(0, "steps between quality metrics during training (0 = off)", low=0, high=10**9,
                            advanced=True)  # fmt: skip
    sync_batchnorm: bool = param(False, "SyncBatchNorm across processes under torchrun (CUDA)", advanced=True)


def resolve_device(choice: str) -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then CPU; an unavailable explicit choice is an error."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if choice == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if choice == "cuda" and not cuda:
        raise ConfigError("device 'cuda' requested but torch sees no CUDA GPU (is a CUDA build of torch installed?)")
    if choice == "mps" and not mps:
        raise ConfigError("device 'mps' requested but Apple MPS is not available")
    return torch.device(choice)


class Trainer:
    """Trains one model into one run directory. Construct with `Trainer.new` or `Trainer.resume`."""

    def __init__(self, model_name: str, model_config, train_config: TrainConfig, run_dir: Path,
                 *, dataset: Dataset | None = None, checkpoint: dict | None = None):  # fmt: skip
        self.spec = get_spec(model_name)
        self.model_name = model_name
        self.model_config = model_config
        self.train_config = train_config
        issues = problems(model_config) + problems(train_config)
        if issues:
            raise ConfigError("; ".join(issues))
        if self.spec.family == "gan" and train_config.batch_size % model_config.pack:
            raise ConfigError(f"batch_size {train_config.batch_size} must be a multiple of pack {model_config.pack}")
        self.device = resolve_device(train_config.device)
        self.dist = dist_utils.init_distributed(self.device)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)
        if self.dist.enabled and train_config.sync_batchnorm and self.device.type != "cuda":
            raise ConfigError("sync_batchnorm needs CUDA devices (torch's SyncBatchNorm does not run on CPU)")
        self.run = RunDir(run_dir)
        self.controls = Controls()
        self.step = 0
        self.elapsed = 0.0  # training seconds (pauses, samples and checkpoints excluded), across resumes
        self.status = "running"
        self.resumed_from: str | None = None
        self._unchecked: list[dict[str, torch.Tensor]] = []  # losses of steps not yet checked for NaN/inf
        self._last_losses: dict[str, float] = {}
        self._divergence: dict[str, Any] | None = None
        self._checkpoint_step = -1
        self._sample_step = -1

        seed_everything(train_config.seed + self.dist.rank)
        family_range = (-1.0, 1.0) if self.spec.family == "gan" else (0.0, 1.0)
        image_size = getattr(model_config, "image_size", 32)
        with dist_utils.local_main_first(self.dist):  # one download per machine under torchrun
            if dataset is None:
                dataset = load_dataset(train_config.data, image_size=image_size, value_range=family_range,
                                       seed=train_config.seed)  # fmt: skip
        self.dataset = dataset
        self.data_info = DataInfo.from_dataset(self.dataset)
        if checkpoint is not None:
            saved = DataInfo.from_dict(checkpoint["data_info"])
            if saved.shape != self.data_info.shape or saved.num_classes != self.data_info.num_classes:
                raise ConfigError(
                    f"the dataset now gives shape {self.data_info.shape} with {self.data_info.num_classes} classes, "
                    f"but the run was trained on {saved.shape} with {saved.num_classes}"
                )
        if self.spec.conditional and self.dataset.y is None:
            raise ConfigError(f"{model_name} needs a labelled dataset; '{train_config.data}' has no labels")
        self.model = create_model(model_name, model_config, self.data_info).to(self.device)
        if self.dist.enabled and train_config.sync_batchnorm:
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self._build_optimizers()
        self._wrap_distributed()

        x = self.dataset.x.to(self.device) if self.dataset.x.numel() * 4 < 2**31 else self.dataset.x
        y = self.dataset.y.to(x.device) if self.dataset.y is not None else None
        self.stream = BatchStream(x, y, self.model.num_classes, train_config.batch_size, train_config.seed,
                                  self.dist.rank, self.dist.world_size)  # fmt: skip
        self.total_steps = self._total_steps()
        self.fixed_z, self.fixed_y = self._fixed_inputs()
        if checkpoint is not None:
            self._restore(checkpoint)
        # the global RNGs as training must find them: other code may draw numbers before iteration starts
        self._rng_at_start = rng_state()

    # construction ------------------------------------------------------------------------------
    @classmethod
    def new(cls, model_name: str, model_config, train_config: TrainConfig, out: str | Path | None = None,
            workspace: str | Path | None = None, dataset: Dataset | None = None) -> Trainer:  # fmt: skip
        """A fresh run in `out`, or in a new folder of `workspace` named model-data-time.

        Nothing is written until the data loaded and the model was built, so bad input leaves no
        run directory behind.
        """
        if out is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            data_name = Path(train_config.data).name or "data"
            base = Path(workspace) if workspace else default_workspace()
            out = base / f"{model_name}-{data_name}-{stamp}"
            suffix = 1
            while out.exists():
                suffix += 1
                out = base / f"{model_name}-{data_name}-{stamp}-{suffix}"
        out = Path(out)
        if dist_utils.launch_rank() == 0 and (out / "run.json").exists():
            raise RunError("already holds a run; resume it with --resume, or choose another --out", out)
        trainer = cls(model_name, model_config, train_config, out, dataset=dataset)
        if trainer.dist.is_main:
            trainer._create_run_dir()
        return trainer

    @classmethod
    def resume(cls, run_path: str | Path, overrides: dict[str, Any] | None = None,
               dataset: Dataset | None = None) -> Trainer:  # fmt: skip
        """Continue a run from checkpoints/last.pt; `overrides` may change steps, cadences and rates.

        Metrics logged after that checkpoint (by a run that was killed) are dropped, so the
        resumed run's records follow on from the checkpoint's step.
        """
        run = RunDir(Path(run_path))
        info = run.read_info()
        if dist_utils.launch_rank() == 0 and info.get("status") in ("running", "paused") and _alive_here(info):
            raise RunError(f"the run is still being trained by process {info['pid']} (stop it first)", run.path)
        if not run.last_checkpoint.is_file():
            raise RunError("the run has no checkpoint to resume from (checkpoints/last.pt)", run.path)
        data = ckpt.load_checkpoint(run.last_checkpoint)
        if info.get("model") not in (None, data["model_name"]):
            raise CheckpointError(
                f"checkpoint is for model '{data['model_name']}' but the run is a '{info.get('model')}' run",
                run.last_checkpoint,
            )
        spec = get_spec(data["model_name"])
        try:
            model_config = apply_values(spec.config_cls(), data["model_config"], strict=False)
            train_config = apply_values(TrainConfig(), data.get("train_config", {}), strict=False)
        except ConfigError as exc:
            raise CheckpointError(f"checkpoint holds an invalid config ({exc})", run.last_checkpoint) from None
        overrides = dict(overrides or {})
        model_overrides = {k: overrides.pop(k) for k in list(overrides) if k in HPARAMS_LIVE}
        if "steps" in overrides and "epochs" not in overrides:
            overrides["epochs"] = 0.0
        train_config = apply_values(train_config, overrides)
        model_config = apply_values(model_config, model_overrides)
        trainer = cls(data["model_name"], model_config, train_config, run.path, dataset=dataset, checkpoint=data)
        trainer.resumed_from = str(run.last_checkpoint)
        if trainer.dist.is_main:
            ckpt.remove_stale_temp_files(run.checkpoints_dir)
            run.truncate_metrics_after(trainer.step)
            run.set_status("running", step=trainer.step, steps_total=trainer.total_steps, **_this_process(),
                           world_size=trainer.dist.world_size, device=str(trainer.device),
                           train_config=to_dict(train_config), model_config=to_dict(model_config))  # fmt: skip
        return trainer

    def _build_optimizers(self) -> None:
        c = self.model_config
        if self.spec.family == "gan":
            betas = (c.beta1, c.beta2)
            self.opt_g = torch.optim.Adam(self.model.generator.parameters(), lr=c.lr_g, betas=betas)
            self.opt_d = torch.optim.Adam(self.model.discriminator.parameters(), lr=c.lr_d, betas=betas)
            self.optimizers = {"g": self.opt_g, "d": self.opt_d}
        else:
            self.opt = torch.optim.Adam(self.model.parameters(), lr=c.lr)
            self.optimizers = {"vae": self.opt}

    def _optimizer_for(self, hparam: str) -> torch.optim.Optimizer | None:
        """The optimizer whose learning rate `hparam` sets (None for other settings)."""
        key = RATE_OPTIMIZERS.get(hparam)
        return self.optimizers.get(key) if key else None

    def _wrap_distributed(self) -> None:
        """G and D (or the VAE) as the step functions see them: DDP-wrapped under torchrun."""
        ids = [self.device.index] if self.device.type == "cuda" else None
        if self.spec.family == "gan":
            g, d = self.model.generator, self.model.discriminator
            if self.dist.enabled:
                g = DistributedDataParallel(g, device_ids=ids)
                d = DistributedDataParallel(d, device_ids=ids)
            self.train_g, self.train_d = g, d
        else:
            self.train_vae = DistributedDataParallel(self.model, device_ids=ids) if self.dist.enabled else self.model

    def _total_steps(self) -> int:
        c = self.train_config
        if c.epochs > 0:
            per_step = self.model_config.d_steps if self.spec.family == "gan" else 1
            return max(1, math.ceil(c.epochs * self.stream.batches_per_epoch / per_step))
        return c.steps

    def _fixed_inputs(self):
        """The run's fixed noise (and labels: one row per class) used for every sample grid."""
        gen = torch.Generator().manual_seed(self.train_config.seed + 7919)
        k = self.model.num_classes
        if self.data_info.kind == "points":
            n = POINT_SAMPLES
            y = torch.arange(n) % k if k else None
        elif k:
            z_cols = torch.randn(GRID_COLUMNS, self.model.latent_dim, generator=gen)
            z = z_cols.repeat(k, 1)  # same noise in every row, so rows differ by class only
            y = torch.arange(k).repeat_interleave(GRID_COLUMNS)
            return z.to(self.device), one_hot(y, k).to(self.device)
        else:
            n, y = GRID_SAMPLES, None
        z = torch.randn(n, self.model.latent_dim, generator=gen)
        return z.to(self.device), (one_hot(y, k).to(self.device) if y is not None else None)

    def _create_run_dir(self) -> None:
        try:
            self.run.create()
        except OSError as exc:
            raise RunError(f"cannot create the run directory ({exc.strerror or exc})", self.run.path) from None
        info = {
            "model": self.model_name,
            "model_config": to_dict(self.model_config),
            "train_config": to_dict(self.train_config),
            "dataset": self.dataset.describe(),
            "data_info": self.data_info.to_dict(),
            "seed": self.train_config.seed,
            "world_size": self.dist.world_size,
            "device": str(self.device),
            "steps_total": self.total_steps,
            "batches_per_epoch": self.stream.batches_per_epoch,
            "versions": {"gan_studio": gan_studio.__version__, "torch": torch.__version__, "numpy": np.__version__},
            "created": time.time(),
            "status": "running",
            "step": 0,
            **_this_process(),
        }
        self.run.write_info(info)
        self._save_real_batch()

    def _save_real_batch(self) -> None:
        """samples/real.png: a batch of training data to compare the grids with."""
        x = self.dataset.x
        gen = torch.Generator().manual_seed(self.train_config.seed)
        if self.data_info.kind == "points":
            idx = torch.randperm(len(x), generator=gen)[:POINT_SAMPLES]
            picture = scatter_plot(np.empty((0, 2)), x[idx].numpy())  # real points only, in grey
        elif self.dataset.y is not None and self.model.num_classes:
            rows = []
            for k in range(self.model.num_classes):
                members = torch.nonzero(self.dataset.y == k).flatten()
                rows.append(members[torch.randperm(len(members), generator=gen)[:GRID_COLUMNS]])
            picture = samples_picture(x[torch.cat(rows)], self.dataset.value_range, GRID_COLUMNS)
        else:
            idx = torch.randperm(len(x), generator=gen)[:GRID_SAMPLES]
            picture = samples_picture(x[idx], self.dataset.value_range, GRID_COLUMNS)
        save_png(picture, self.run.samples_dir / "real.png")

    # controls (thread-safe; applied at the next step boundary) --------------------------------
    def pause(self) -> None:
        self.controls.pause()

    def resume_training(self) -> None:
        self.controls.resume()

    def single_step(self) -> None:
        """Run exactly one more step (its metrics are logged), then stay paused."""
        self.controls.single_step()

    def stop(self) -> None:
        """Stop after the current step: a checkpoint is saved and the status becomes 'stopped'."""
        self.controls.stop()

    def set_hparams(self, **changes: Any) -> None:
        """Change lr_g / lr_d / lr / d_steps / beta from the next step on (validated now)."""
        unknown = [k for k in changes if k not in HPARAMS_LIVE or not hasattr(self.model_config, k)]
        if unknown:
            raise ConfigError(f"cannot change {', '.join(unknown)} while training {self.model_name}")
        apply_values(self.model_config, changes)  # raises ConfigError for bad values
        self.controls.change_hparams(changes)

    @property
    def paused(self) -> bool:
        return self.controls.paused

    # the loop -----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.run_iter()

    def run_iter(self) -> Iterator[dict[str, Any]]:
        start: dict[str, Any] = {"type": "start", "step": self.step, "total_steps": self.total_steps}
        if self.resumed_from:
            start["resumed_from"] = self.resumed_from
        self._event(start)
        yield {"kind": "started", "step": self.step, "total_steps": self.total_steps, "run": str(self.run.path)}
        try:
            yield from self._loop()
        except GanStudioError as exc:
            yield from self._on_failure(exc)
            raise
        except torch.OutOfMemoryError:
            error = RunError(f"out of memory at step {self.step}: try a smaller --batch-size or model", self.run.path)
            yield from self._on_failure(error)
            raise error from None
        except Exception as exc:
            yield from self._on_failure(exc)
            raise
        except (KeyboardInterrupt, GeneratorExit):
            # the consumer gave up (Ctrl-C twice, or stopped iterating): the run ends here, unsaved
            if self.status not in ("finished", "stopped", "diverged", "failed"):
                self._event({"type": "stop", "step": self.step, "reason": "interrupted"})
                self._set_status("stopped")
            raise

    def _loop(self) -> Iterator[dict[str, Any]]:
        c = self.train_config
        interval_steps, interval_seconds = 0, 0.0
        set_rng_state(self._rng_at_start)
        self.model.train()
        while self.step < self.total_steps:
            yield from self._apply_controls()
            if self._stop_agreed():
                break
            single = self.controls.paused and self.controls.take_single_step()
            t0 = time.perf_counter()
            losses = self._one_step()
            self.step += 1
            self._unchecked.append(losses)
            log_now = single or self.step % c.log_every == 0 or self.step == self.total_steps
            sample_now = bool(c.sample_every) and self.step % c.sample_every == 0
            checkpoint_now = bool(c.checkpoint_every) and self.step % c.checkpoint_every == 0
            eval_now = bool(c.eval_every) and self.step % c.eval_every == 0
            if log_now or sample_now or checkpoint_now or eval_now or len(self._unchecked) >= MAX_UNCHECKED_STEPS:
                self._check_losses()  # one device sync; timed as training, like the plain loop's .item()
            seconds = time.perf_counter() - t0
            interval_steps, interval_seconds = interval_steps + 1, interval_seconds + seconds
            self.elapsed += seconds
            if self._divergence:
                yield from self._on_diverged()
                return
            if log_now:
                record = self._metrics_record(interval_steps, interval_seconds)
                interval_steps, interval_seconds = 0, 0.0
                if self.dist.is_main:
                    self.run.append_metrics(record)
                yield {"kind": "metrics", **record}
            if eval_now and self.dist.is_main:
                yield from self._evaluate_live()
            if sample_now and self.dist.is_main:
                yield self._write_sample()
            if checkpoint_now:
                self._save_checkpoint()
                if self.dist.is_main:
                    yield {"kind": "checkpoint", "step": self.step, "path": str(self.run.last_checkpoint)}
        self._check_losses()
        if self._divergence:
            yield from self._on_diverged()
            return
        yield from self._finish()

    def _apply_controls(self) -> Iterator[dict[str, Any]]:
        """Apply hyperparameter changes; block while paused (until resume, a single step or stop)."""
        while True:
            for changes in self.controls.take_hparams():
                yield from self._change_hparams(changes)
            if self.controls.stop_requested:
                return
            if not self.controls.paused:
                if self.status == "paused":
                    self._set_status("running")
                    self._event({"type": "resume", "step": self.step})
                    yield {"kind": "resumed", "step": self.step}
                return
            if self.status != "paused":
                self._set_status("paused")
                self._event({"type": "pause", "step": self.step})
                yield {"kind": "paused", "step": self.step}
                continue  # a single step may already be waiting
            if self.controls.single_step_waiting:
                return  # the loop takes it and runs one logged step
            self.controls.wait(PAUSE_POLL_S)

    def _stop_agreed(self) -> bool:
        """Whether to stop now; under torchrun every rank stops at the same step."""
        return bool(dist_utils.max_over_ranks(self.dist, int(self.controls.stop_requested), self.device))

    def _change_hparams(self, changes: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for name, value in changes.items():
            old = getattr(self.model_config, name)
            self.model_config = apply_values(self.model_config, {name: value})
            new = getattr(self.model_config, name)
            opt = self._optimizer_for(name)
            if opt is not None:
                _set_lr(opt, new)
            event = {"type": "hparam", "name": name, "old": old, "new": new, "step": self.step}
            self._event(event)
            yield {"kind": "event", **event}

    def _one_step(self) -> dict[str, torch.Tensor]:
        c = self.model_config
        if self.spec.family == "gan":
            losses = gan_step(self.train_g, self.train_d, self.opt_g, self.opt_d, self.stream, c, self.step)
            if self.model.generator_ema is not None:
                update_ema(self.model, c.ema_decay, self.step + 1, self.train_config.batch_size)
            return losses
        return vae_step(self.train_vae, self.opt, self.stream, c.beta)

    def _check_losses(self) -> None:
        """Look at the losses of the steps since the last check (one device sync for all of them).

        Records the newest values for the metrics, and the first step whose loss was NaN or inf.
        Under torchrun the ranks agree: if any rank diverged, all of them stop at the same step.
        """
        if not self._unchecked:
            return
        names = list(self._unchecked[0])
        flat = [value for losses in self._unchecked for value in losses.values()]
        values = torch.stack(flat).float().view(len(self._unchecked), len(names)).cpu()
        first = self.step - len(self._unchecked) + 1
        self._unchecked = []
        self._last_losses = dict(zip(names, values[-1].tolist(), strict=True))
        bad_rows = (~torch.isfinite(values).all(dim=1)).nonzero().flatten().tolist()
        local = None
        if bad_rows:
            row = values[bad_rows[0]].tolist()
            name, value = next((n, v) for n, v in zip(names, row, strict=True) if not math.isfinite(v))
            local = {"step": first + bad_rows[0], "loss": name, "value": value}
        if self.dist.enabled and dist_utils.max_over_ranks(self.dist, int(local is not None), self.device):
            found = [d for d in dist_utils.gather_objects(self.dist, local) if d]
            local = min(found, key=lambda d: d["step"])
        self._divergence = local

    def _metrics_record(self, steps: int, seconds: float) -> dict[str, Any]:
        per_step = self.train_config.batch_size * self.dist.world_size
        if self.spec.family == "gan":
            per_step *= self.model_config.d_steps
        record = {
            "step": self.step,
            "epoch": round(self.stream.epoch_progress, 4),
            "time": round(self.elapsed, 3),
            "samples_per_s": round(per_step * steps / seconds, 1) if seconds > 0 else 0.0,
        }
        record.update(self._last_losses)
        return record

    def generate_fixed(self) -> torch.Tensor:
        """The fixed-noise samples in eval mode (what every sample grid shows)."""
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            out = self.model.generate(self.fixed_z, self.fixed_y)
        self.model.train(was_training)
        return out

    def _write_sample(self) -> dict[str, Any]:
        samples = self.generate_fixed()
        real = self.dataset.x[:POINT_SAMPLES].numpy() if self.data_info.kind == "points" else None
        picture = samples_picture(samples, self.model.output_range, GRID_COLUMNS, real)
        path = self.run.sample_path(self.step)
        save_png(picture, path)
        self._sample_step = self.step
        return {"kind": "sample", "step": self.step, "path": str(path)}

    def _evaluate_live(self) -> Iterator[dict[str, Any]]:
        """Quality metrics during training (mode coverage on 2D toys), appended to metrics.jsonl."""
        try:
            from gan_studio.evaluate.live import live_metrics
        except ImportError:
            return
        values = live_metrics(self)
        if values:
            record = {"step": self.step, "epoch": round(self.stream.epoch_progress, 4),
                      "time": round(self.elapsed, 3), **values}  # fmt: skip
            self.run.append_metrics(record)
            yield {"kind": "metrics", **record}

    # checkpoints --------------------------------------------------------------------------------
    def checkpoint_state(self) -> dict[str, Any]:
        """Everything a resume needs, as tensors and plain values (loads with weights_only=True)."""
        return {
            "format": ckpt.CHECKPOINT_FORMAT,
            "version": ckpt.CHECKPOINT_VERSION,
            "model_name": self.model_name,
            "model_config": to_dict(self.model_config),
            "train_config": to_dict(self.train_config),
            "data_info": self.data_info.to_dict(),
            "step": self.step,
            "elapsed": self.elapsed,
            "stream": self.stream.state(),
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "rng": rng_state(),
            "fixed_z": self.fixed_z.cpu(),
            "fixed_y": self.fixed_y.cpu() if self.fixed_y is not None else None,
            "gan_studio": gan_studio.__version__,
        }

    def _save_checkpoint(self) -> None:
        self._checkpoint_step = self.step
        if not self.dist.is_main:
            return
        state = self.checkpoint_state()
        ckpt.atomic_torch_save(state, self.run.last_checkpoint)
        if self.train_config.keep_checkpoints:
            ckpt.atomic_torch_save(state, self.run.checkpoints_dir / f"step-{self.step:07d}.pt")
            ckpt.prune_checkpoints(self.run.checkpoints_dir, self.train_config.keep_checkpoints)
        self.run.append_event({"type": "checkpoint", "step": self.step})

    def _restore(self, data: dict[str, Any]) -> None:
        ckpt.check_compatible(data, self.model_name, self.model, self.run.last_checkpoint)
        try:
            self.model.load_state_dict(data["model"])
            for name, opt in self.optimizers.items():
                opt.load_state_dict(data["optimizers"][name])
            self.step = int(data["step"])
            self.elapsed = float(data.get("elapsed", 0.0))
            self.stream.restore(data["stream"])
            self.fixed_z = data["fixed_z"].to(self.device)
            if data.get("fixed_y") is not None:
                self.fixed_y = data["fixed_y"].to(self.device)
            set_rng_state(data["rng"])
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
            raise CheckpointError(f"checkpoint is incomplete or inconsistent ({exc})",
                                  self.run.last_checkpoint) from None  # fmt: skip
        for name in RATE_OPTIMIZERS:  # rates changed by a resume override win over the saved ones
            opt = self._optimizer_for(name)
            if opt is not None:
                _set_lr(opt, getattr(self.model_config, name))
        self._checkpoint_step = self.step

    # endings --------------------------------------------------------------------------------------
    def _set_status(self, status: str, **extra) -> None:
        self.status = status
        if self.dist.is_main and self.run.exists():
            self.run.set_status(status, step=self.step, **extra)

    def _event(self, event: dict[str, Any]) -> None:
        if self.dist.is_main and self.run.exists():
            self.run.append_event(event)

    def _finish(self) -> Iterator[dict[str, Any]]:
        stopped = self.controls.stop_requested and self.step < self.total_steps
        digests = dist_utils.sync_buffers_and_check(self.model, self.dist)
        if self._checkpoint_step != self.step:
            self._save_checkpoint()
        if self.dist.is_main and self._sample_step != self.step:
            yield self._write_sample()
        status = "stopped" if stopped else "finished"
        extra: dict[str, Any] = {}
        if self.dist.enabled:
            extra = {"rank_digests": digests, "ranks_in_sync": len(set(digests)) == 1}
        self._event({"type": "stop" if stopped else "finish", "step": self.step, **extra})
        self._set_status(status, **extra)
        dist_utils.barrier(self.dist)
        yield {"kind": "finished", "status": status, "step": self.step, **extra}

    def _on_diverged(self) -> Iterator[dict[str, Any]]:
        d = self._divergence
        event = {"type": "diverged", "step": d["step"], "loss": d["loss"], "value": d["value"],
                 "message": f"{d['loss']} became {d['value']} at step {d['step']}; "
                            f"the last good checkpoint (step {max(self._checkpoint_step, 0)}) is kept"}  # fmt: skip
        self._event(event)
        self._set_status("diverged", diverged_step=d["step"])
        yield {"kind": "diverged", **event}

    def _on_failure(self, exc: BaseException) -> Iterator[dict[str, Any]]:
        message = str(exc) if isinstance(exc, GanStudioError) else f"{type(exc).__name__}: {exc}"
        self._event({"type": "error", "step": self.step, "message": message})
        self._set_status("failed", error=message)
        yield {"kind": "failed", "step": self.step, "message": message}


def _set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def _this_process() -> dict[str, Any]:
    """Who writes the run (so a second process does not resume a run that is still training)."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _alive_here(info: dict[str, Any]) -> bool:
    """Whether the process recorded in run.json is alive on this machine (and is not this one)."""
    pid = info.get("pid")
    if sys.platform == "win32":
        return False  # os.kill(pid, 0) would terminate the process there
    if info.get("host") != socket.gethostname() or not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    except OSError:
        return False
    return True
