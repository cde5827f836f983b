"""The Trainer: drives any registered model, writes the run directory, and obeys controls.

Plain Python and iterable: `for update in trainer:` runs training and yields dicts with a
"kind" ("started", "metrics", "sample", "event", "paused", "finished"). Controls (pause, resume,
single step, stop, hyperparameter changes) are thread-safe requests applied at step boundaries,
so the desktop app can drive it from a worker thread and the CLI from the main thread.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

import gan_studio
from gan_studio.config import apply_values, param, problems, to_dict
from gan_studio.data import Dataset, load_dataset
from gan_studio.engine import checkpoint as ckpt
from gan_studio.engine import distributed as dist_utils
from gan_studio.engine.grids import GRID_COLUMNS_DEFAULT as GRID_COLUMNS
from gan_studio.engine.grids import samples_picture, save_png
from gan_studio.engine.rundir import RunDir
from gan_studio.engine.steps import gan_step, vae_step
from gan_studio.errors import ConfigError, GanStudioError, RunError
from gan_studio.models import DataInfo, create_model, get_spec
from gan_studio.models.base import one_hot
from gan_studio.paths import default_workspace

HPARAMS_LIVE = ("lr_g", "lr_d", "lr", "d_steps", "beta")  # may change while training
GRID_SAMPLES = 64  # samples in the fixed-noise grid of unconditional image models
POINT_SAMPLES = 2500  # generated points drawn for 2D scatter plots


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
    sync_batchnorm: bool = param(False, "SyncBatchNorm across processes under torchrun", advanced=True)


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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every RNG the training touches, as tensors and plain values (weights_only-safe)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},  # fmt: skip
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class BatchStream:
    """Shuffled batches over an in-memory dataset, resumable from (epoch, position).

    Uses a DistributedSampler (one replica when not distributed), so each epoch's order is a
    function of (seed, epoch) alone and each process of a torchrun job sees its own shard.
    """

    def __init__(self, x, y, num_classes, batch_size, seed, rank=0, world_size=1, epoch=0, position=0):
        self.x, self.y, self.num_classes = x, y, num_classes
        self.batch_size = batch_size
        self.sampler = DistributedSampler(range(len(x)), num_replicas=world_size, rank=rank, shuffle=True,
                                          seed=seed, drop_last=True)  # fmt: skip
        self.batches_per_epoch = len(self.sampler) // batch_size
        if self.batches_per_epoch == 0:
            raise ConfigError(
                f"batch size {batch_size} x {world_size} process(es) is larger than the dataset ({len(x)} samples)"
            )
        self.epoch, self.position = epoch, position
        self._order: torch.Tensor | None = None

    def _epoch_order(self) -> torch.Tensor:
        if self._order is None:
            self.sampler.set_epoch(self.epoch)
            self._order = torch.tensor(list(iter(self.sampler)), dtype=torch.long, device=self.x.device)
        return self._order

    def __call__(self):
        if self.position >= self.batches_per_epoch:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        start = self.position * self.batch_size
        idx = self._epoch_order()[start : start + self.batch_size]
        self.position += 1
        y = one_hot(self.y[idx], self.num_classes) if self.num_classes else None
        return self.x[idx], y

    @property
    def epoch_progress(self) -> float:
        return self.epoch + self.position / self.batches_per_epoch

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}


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
        self.run = RunDir(run_dir)
        self._lock = threading.Condition()
        self._paused = False
        self._single_steps = 0
        self._stop_requested = False
        self._pending_hparams: list[dict[str, Any]] = []
        self.step = 0
        self.elapsed = 0.0  # training seconds, pauses excluded, across resumes
        self.status = "running"

        seed_everything(train_config.seed + self.dist.rank)
        family_range = (-1.0, 1.0) if self.spec.family == "gan" else (0.0, 1.0)
        image_size = getattr(model_config, "image_size", 32)
        self.dataset = dataset or load_dataset(train_config.data, image_size=image_size, value_range=family_range,
                                               seed=train_config.seed)  # fmt: skip
        self.data_info = DataInfo.from_dataset(self.dataset)
        if checkpoint is not None:
            saved_info = DataInfo.from_dict(checkpoint["data_info"])
            if saved_info.shape != self.data_info.shape or saved_info.num_classes != self.data_info.num_classes:
                raise ConfigError(
                    f"the dataset now gives shape {self.data_info.shape} with {self.data_info.num_classes} classes, "
                    f"but the run was trained on {saved_info.shape} with {saved_info.num_classes}"
                )
        self.model = create_model(model_name, model_config, self.data_info).to(self.device)
        if self.dist.enabled and train_config.sync_batchnorm:
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self._build_optimizers()
        self._wrap_distributed()

        x = self.dataset.x.to(self.device) if self.dataset.x.numel() * 4 < 2**31 else self.dataset.x
        y = self.dataset.y.to(x.device) if self.dataset.y is not None else None
        if self.spec.conditional and y is None:
            raise ConfigError(f"{model_name} needs a labelled dataset; '{train_config.data}' has no labels")
        self.stream = BatchStream(x, y, self.model.num_classes, train_config.batch_size, train_config.seed,
                                  self.dist.rank, self.dist.world_size)  # fmt: skip
        self.total_steps = self._total_steps()
        self.fixed_z, self.fixed_y = self._fixed_inputs()
        self._first_bad_step = torch.full((), -1, dtype=torch.long, device=self.device)
        self._first_bad_values: torch.Tensor | None = None
        if checkpoint is not None:
            self._restore(checkpoint)

    # construction ------------------------------------------------------------------------------
    @classmethod
    def new(cls, model_name: str, model_config, train_config: TrainConfig, out: str | Path | None = None,
            workspace: str | Path | None = None, dataset: Dataset | None = None) -> "Trainer":  # fmt: skip
        """A fresh run in `out`, or in a new folder of `workspace` named model-data-time."""
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
        if (out / "run.json").exists():
            raise RunError("already holds a run; resume it with --resume, or choose another --out", out)
        trainer = cls(model_name, model_config, train_config, out, dataset=dataset)
        if trainer.dist.is_main:
            trainer._create_run_dir()
        return trainer

    @classmethod
    def resume(cls, run_path: str | Path, overrides: dict[str, Any] | None = None,
               dataset: Dataset | None = None) -> "Trainer":  # fmt: skip
        """Continue a run from checkpoints/last.pt; `overrides` may change steps and cadences."""
        run = RunDir(Path(run_path))
        info = run.read_info()
        data = ckpt.load_checkpoint(run.last_checkpoint)
        spec = get_spec(data["model_name"])
        model_config = apply_values(spec.config_cls(), data["model_config"], strict=False)
        train_config = apply_values(TrainConfig(), data["train_config"], strict=False)
        overrides = dict(overrides or {})
        model_overrides = {k: overrides.pop(k) for k in list(overrides) if k in HPARAMS_LIVE and k != "steps"}
        if "epochs" not in overrides and "steps" in overrides:
            overrides["epochs"] = 0.0
        train_config = apply_values(train_config, overrides)
        model_config = apply_values(model_config, model_overrides)
        trainer = cls(data["model_name"], model_config, train_config, run.path, dataset=dataset, checkpoint=data)
        if trainer.dist.is_main:
            run.truncate_metrics_after(trainer.step)
            run.set_status("running", steps_total=trainer.total_steps, world_size=trainer.dist.world_size,
                           device=str(trainer.device))  # fmt: skip
            run.append_event({"type": "resume", "step": trainer.step, "from": str(run.last_checkpoint),
                              "previous_status": info.get("status")})  # fmt: skip
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
            columns = GRID_COLUMNS
            z_cols = torch.randn(columns, self.model.latent_dim, generator=gen)
            z = z_cols.repeat(k, 1)  # same noise in every row, so rows differ by class only
            y = torch.arange(k).repeat_interleave(columns)
            return z.to(self.device), one_hot(y, k).to(self.device)
        else:
            n, y = GRID_SAMPLES, None
        z = torch.randn(n, self.model.latent_dim, generator=gen)
        return z.to(self.device), (one_hot(y, k).to(self.device) if y is not None else None)

    def _create_run_dir(self) -> None:
        self.run.create()
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
        }
        self.run.write_info(info)
        self._save_real_batch()

    def _save_real_batch(self) -> None:
        """samples/real.png: a batch of training data to compare the grids with."""
        x = self.dataset.x
        gen = torch.Generator().manual_seed(self.train_config.seed)
        if self.data_info.kind == "points":
            idx = torch.randperm(len(x), generator=gen)[:POINT_SAMPLES]
            picture = samples_picture(x[idx], None, GRID_COLUMNS)
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
        with self._lock:
            self._paused = True
            self._lock.notify_all()

    def resume_training(self) -> None:
        with self._lock:
            self._paused = False
            self._lock.notify_all()

    def single_step(self) -> None:
        """While paused, run exactly one more step."""
        with self._lock:
            self._single_steps += 1
            self._lock.notify_all()

    def stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            self._lock.notify_all()

    def set_hparams(self, **changes: Any) -> None:
        """Change lr_g / lr_d / lr / d_steps / beta from the next step on (validated now)."""
        unknown = [k for k in changes if k not in HPARAMS_LIVE or not hasattr(self.model_config, k)]
        if unknown:
            raise ConfigError(f"cannot change {', '.join(unknown)} while training {self.model_name}")
        apply_values(self.model_config, changes)  # raises ConfigError for bad values
        with self._lock:
            self._pending_hparams.append(dict(changes))
            self._lock.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    # the loop -----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.run_iter()

    def run_iter(self) -> Iterator[dict[str, Any]]:
        main = self.dist.is_main
        if main:
            self.run.append_event({"type": "start", "step": self.step, "total_steps": self.total_steps})
        yield {"kind": "started", "step": self.step, "total_steps": self.total_steps, "run": str(self.run.path)}
        interval_start, interval_steps = time.perf_counter(), 0
        try:
            while self.step < self.total_steps:
                forced_log = False
                for update in self._apply_controls():
                    yield update
                if self._stop_requested:
                    break
                if self._single_steps and self._paused:
                    with self._lock:
                        self._single_steps -= 1
                    forced_log = True
                    interval_start, interval_steps = time.perf_counter(), 0
                t0 = time.perf_counter()
                losses = self._one_step()
                self.step += 1
                interval_steps += 1
                self.elapsed += time.perf_counter() - t0
                self._track_finite(losses)
                boundary = self.step % self.train_config.log_every == 0 or self.step == self.total_steps
                if boundary or forced_log:
                    if self._diverged():
                        yield from self._on_diverged()
                        return
                    record = self._metrics_record(losses, interval_steps, time.perf_counter() - interval_start)
                    interval_start, interval_steps = time.perf_counter(), 0
                    if main:
                        self.run.append_metrics(record)
                    yield {"kind": "metrics", **record}
                if self.train_config.eval_every and self.step % self.train_config.eval_every == 0 and main:
                    yield from self._evaluate_live()
                if self.train_config.sample_every and self.step % self.train_config.sample_every == 0 and main:
                    yield self._write_sample()
                if self.train_config.checkpoint_every and self.step % self.train_config.checkpoint_every == 0:
                    if self._diverged():
                        yield from self._on_diverged()
                        return
                    self._save_checkpoint()
        except Exception as exc:
            yield from self._on_failure(exc)
            raise
        if self._diverged():
            yield from self._on_diverged()
            return
        yield from self._finish()

    def _apply_controls(self) -> Iterator[dict[str, Any]]:
        """Apply hyperparameter changes; block while paused (until resume, single step or stop)."""
        announced = False
        while True:
            with self._lock:
                pending, self._pending_hparams = self._pending_hparams, []
                paused, stop, single = self._paused, self._stop_requested, self._single_steps
            for changes in pending:
                yield from self._change_hparams(changes)
            if stop or not paused or single:
                if announced and not stop:
                    self._set_status("running")
                    self._event({"type": "resume", "step": self.step})
                    yield {"kind": "resumed", "step": self.step}
                return
            if not announced:
                announced = True
                self._set_status("paused")
                self._event({"type": "pause", "step": self.step})
                yield {"kind": "paused", "step": self.step}
                continue
            with self._lock:
                if self._paused and not self._stop_requested and not self._single_steps and not self._pending_hparams:
                    self._lock.wait(timeout=0.5)

    def _change_hparams(self, changes: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for name, value in changes.items():
            old = getattr(self.model_config, name)
            self.model_config = apply_values(self.model_config, {name: value})
            new = getattr(self.model_config, name)
            if name == "lr_g":
                self._set_lr(self.opt_g, new)
            elif name == "lr_d":
                self._set_lr(self.opt_d, new)
            elif name == "lr":
                self._set_lr(self.opt, new)
            event = {"type": "hparam", "name": name, "old": old, "new": new, "step": self.step}
            self._event(event)
            yield {"kind": "event", **event}

    @staticmethod
    def _set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
        for group in opt.param_groups:
            group["lr"] = lr

    def _one_step(self) -> dict[str, torch.Tensor]:
        self.model.train()
        c = self.model_config
        if self.spec.family == "gan":
            return gan_step(self.train_g, self.train_d, self.opt_g, self.opt_d, self.stream, c.latent_dim,
                            c.d_steps, c.g_loss)  # fmt: skip
        return vae_step(self.train_vae, self.opt, self.stream, c.beta)

    def _track_finite(self, losses: dict[str, torch.Tensor]) -> None:
        """Remember (without a device sync) the first step whose loss was NaN or inf."""
        values = torch.stack([v.float() for v in losses.values()])
        bad = ~torch.isfinite(values).all()
        first = (self._first_bad_step < 0) & bad
        self._first_bad_step = torch.where(first, torch.full_like(self._first_bad_step, self.step),
                                           self._first_bad_step)  # fmt: skip
        if self._first_bad_values is None:
            self._first_bad_values = torch.zeros_like(values)
            self._loss_names = list(losses)
        self._first_bad_values = torch.where(first, values, self._first_bad_values)

    def _diverged(self) -> bool:
        return bool(self._first_bad_step.item() >= 0)

    def _metrics_record(self, losses, steps: int, seconds: float) -> dict[str, Any]:
        per_step = self.train_config.batch_size * self.dist.world_size
        if self.spec.family == "gan":
            per_step *= self.model_config.d_steps
        record = {
            "step": self.step,
            "epoch": round(self.stream.epoch_progress, 4),
            "time": round(self.elapsed, 3),
            "samples_per_s": round(per_step * steps / seconds, 1) if seconds > 0 else 0.0,
        }
        record.update({k: float(v.item()) for k, v in losses.items()})
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
        real = None
        if self.data_info.kind == "points":
            real = self.dataset.x[:POINT_SAMPLES].numpy()
        picture = samples_picture(samples, self.model.output_range, GRID_COLUMNS, real)
        path = self.run.sample_path(self.step)
        save_png(picture, path)
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

    def checkpoint_state(self) -> dict[str, Any]:
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
            self.stream.epoch = int(data["stream"]["epoch"])
            self.stream.position = int(data["stream"]["position"])
            self.fixed_z = data["fixed_z"].to(self.device)
            if data.get("fixed_y") is not None:
                self.fixed_y = data["fixed_y"].to(self.device)
            set_rng_state(data["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ckpt.CheckpointError(f"checkpoint is incomplete or inconsistent ({exc})",
                                       self.run.last_checkpoint) from None  # fmt: skip
        for name in ("lr_g", "lr_d", "lr"):
            if hasattr(self.model_config, name):
                opt = {"lr_g": getattr(self, "opt_g", None), "lr_d": getattr(self, "opt_d", None),
                       "lr": getattr(self, "opt", None)}[name]  # fmt: skip
                if opt is not None:
                    self._set_lr(opt, getattr(self.model_config, name))

    # endings --------------------------------------------------------------------------------------
    def _set_status(self, status: str, **extra) -> None:
        self.status = status
        if self.dist.is_main and self.run.exists():
            self.run.set_status(status, step=self.step, **extra)

    def _event(self, event: dict[str, Any]) -> None:
        if self.dist.is_main and self.run.exists():
            self.run.append_event(event)

    def _finish(self) -> Iterator[dict[str, Any]]:
        stopped = self._stop_requested and self.step < self.total_steps
        digests = dist_utils.sync_buffers_and_check(self.model, self.dist)
        self._save_checkpoint()
        if self.dist.is_main:
            yield self._write_sample()
        status = "stopped" if stopped else "finished"
        extra = {}
        if self.dist.enabled:
            extra = {"rank_digests": digests, "ranks_in_sync": len(set(digests)) == 1}
        self._event({"type": "stop" if stopped else "finish", "step": self.step, **extra})
        self._set_status(status, **extra)
        dist_utils.barrier(self.dist)
        yield {"kind": "finished", "status": status, "step": self.step, **extra}

    def _on_diverged(self) -> Iterator[dict[str, Any]]:
        step = int(self._first_bad_step.item())
        values = self._first_bad_values.tolist()
        bad = {n: v for n, v in zip(self._loss_names, values) if not math.isfinite(v)}
        name, value = next(iter(bad.items())) if bad else (self._loss_names[0], float("nan"))
        event = {"type": "diverged", "step": step, "loss": name, "value": value,
                 "message": f"{name} became {value} at step {step}; the last good checkpoint is kept"}  # fmt: skip
        self._event(event)
        self._set_status("diverged", diverged_step=step)
        yield {"kind": "diverged", **event}

    def _on_failure(self, exc: BaseException) -> Iterator[dict[str, Any]]:
        message = str(exc) if isinstance(exc, GanStudioError) else f"{type(exc).__name__}: {exc}"
        self._event({"type": "error", "step": self.step, "message": message})
        self._set_status("failed", error=message)
        yield {"kind": "failed", "step": self.step, "message": message}
