"""The Trainer: the training loop of every model, as an iterator of the typed events of gan_studio.events, which are
what the run directory records (engine/recorder.py). What differs per model family lives in engine/recipes.py; live
metrics and advice come from callbacks (engine/callbacks.py). Controls (pause, resume, single step, stop, live
settings) are thread-safe requests applied at step boundaries, so the app drives a Trainer from a worker thread and
the CLI from the main thread. Under torchrun every rank runs the same loop; rank 0 alone writes the run directory."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

import gan_studio
from gan_studio.config import apply_values, problems, to_dict
from gan_studio.data import Dataset, load_training_data
from gan_studio.data.loading import absolute_data_spec
from gan_studio.engine import distributed as dist_utils
from gan_studio.engine.batches import BatchStream
from gan_studio.engine.callbacks import TrainerCallback
from gan_studio.engine.controls import Controls
from gan_studio.engine.divergence import LossWatch
from gan_studio.engine.failures import readable_failure
from gan_studio.engine.recipes import recipe_for
from gan_studio.engine.recorder import RunRecorder
from gan_studio.engine.rng import (
    rank_rng_states,
    restore_process_rng,
    rng_state,
    seed_everything,
    set_rng_state,
    use_deterministic_kernels,
)
from gan_studio.engine.sample_grids import fixed_inputs, fixed_noise_picture, real_batch_picture
from gan_studio.engine.settings import (
    TrainConfig,
    check_live_change,
    check_same_data,
    checked_data_record,
    configs_to_continue,
    resolve_device,  # fmt: skip
)
from gan_studio.errors import CheckpointError, ConfigError, GanStudioError, NothingToTrain
from gan_studio.events import (
    Checkpoint,
    Diverged,
    Event,
    Failed,
    Finished,
    HParamChanged,
    Metrics,
    Paused,
    Resumed,
    Sample,  # fmt: skip
    Started,
)
from gan_studio.models import DataInfo, create_model, get_spec
from gan_studio.paths import default_workspace
from gan_studio.store import checkpoint as ckpt
from gan_studio.store.loaded import STARTS_AGAIN, resume_record
from gan_studio.store.lock import RunLock
from gan_studio.store.pictures import save_png
from gan_studio.store.rundir import RunDir, new_run_folder_claim

PAUSE_POLL_S = 0.5  # how often a paused loop wakes up on its own


class Trainer:
    """Trains one model into one run directory. Construct with `Trainer.new` or `Trainer.from_checkpoint`."""

    def __init__(self, model_name: str, model_config, train_config: TrainConfig, run_dir: Path, *,
                 dataset: Dataset | None = None, checkpoint: dict | None = None, controls: Controls | None = None,
                 callbacks: Iterable[TrainerCallback] = (), who: str = "gan-studio train", data_progress=None,
                 data_cancel=None):  # fmt: skip
        self.spec = get_spec(model_name)
        self.model_name, self.model_config, self.train_config = model_name, model_config, train_config
        recipe_class = recipe_for(self.spec)
        issues = problems(model_config) + problems(train_config) + recipe_class.problems(model_config, train_config)
        if issues:
            raise ConfigError("; ".join(issues))
        self.device, self.dist = dist_utils.join(resolve_device(train_config.device), train_config.sync_batchnorm)
        self.run = RunDir(run_dir)
        self.recorder = RunRecorder(self.run, enabled=self.dist.is_main)
        self.lock = RunLock(self.run.path, who)
        self.controls = controls or Controls()
        self.callbacks = list(callbacks) if self.dist.is_main else []
        self.step = 0
        self.elapsed = 0.0  # training seconds (pauses, samples and checkpoints excluded), across resumes
        self.status = "starting"
        self.resumed_from, self.resume_notes = None, ()  # the checkpoint a resume goes on from; what it dropped
        self._checkpoint_step: int | None = None  # step of the newest verified checkpoint on disk
        self._sample_step = -1

        seed_everything(train_config.seed + self.dist.rank)
        if train_config.deterministic:
            use_deterministic_kernels(self.device)
        with dist_utils.local_main_first(self.dist):  # one download and one prepared file per machine
            if dataset is None:
                dataset = load_training_data(train_config.data, image_size=getattr(model_config, "image_size", 32),
                                             value_range=recipe_class.value_range, seed=train_config.seed,
                                             skip_bad_files=train_config.skip_bad_files, cancel=data_cancel,
                                             progress=data_progress, hold_out=train_config.hold_out)  # fmt: skip
        self.dataset = dataset
        self.data_info = DataInfo.from_dataset(dataset)
        if checkpoint is not None:
            saved = DataInfo.from_dict(checkpoint["data_info"])
            check_same_data(saved, self.data_info, self.run.last_checkpoint, self.spec.conditional, dataset.source)
            self.data_info = saved  # the standardisation the weights were trained with, even if the file changed
        if self.spec.conditional:
            dataset.require_labels(model_name, train_config.data)
        self.model = create_model(model_name, model_config, self.data_info).to(self.device)
        if self.dist.enabled and train_config.sync_batchnorm:
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self.recipe = recipe_class(self.model, model_config, train_config, self.dist, self.device)
        self.losses = LossWatch(self.dist, self.device)

        self.stream = BatchStream(dataset, self.model.num_classes, train_config.batch_size, train_config.seed,
                                  self.dist.rank, self.dist.world_size, self.device, train_config.flip)  # fmt: skip
        c = train_config
        self.total_steps = (
            self.recipe.steps_for_epochs(c.epochs, self.stream.batches_per_epoch) if c.epochs else c.steps
        )
        z, y = fixed_inputs(self.model.latent_dim, self.model.num_classes, self.data_info.kind == "points",
                            train_config.seed)  # fmt: skip
        self.fixed_z, self.fixed_y = z.to(self.device), None if y is None else y.to(self.device)
        if checkpoint is not None:
            self._restore(checkpoint)
        self._rng_at_start = rng_state()  # other code may draw random numbers before iteration starts

    # construction ------------------------------------------------------------------------------
    @classmethod
    def new(cls, model_name: str, model_config, train_config: TrainConfig, out: str | Path | None = None,
            workspace: str | Path | None = None, **options) -> Trainer:  # fmt: skip
        """A fresh run in `out`, or in a new folder of `workspace` named model-data-time.

        Nothing is written until the data loaded and the model was built, so bad input leaves no
        run directory behind. `options`: dataset, controls, callbacks, who, data_progress, data_cancel
        (see __init__).
        """
        workspace = workspace or default_workspace()
        train_config = dataclasses.replace(train_config, data=absolute_data_spec(train_config.data))
        writer = dist_utils.launch_rank() == 0
        with new_run_folder_claim(out, model_name, train_config.data, workspace, writer) as out:
            trainer = cls(model_name, model_config, train_config, out, **options)
            if trainer.dist.is_main:
                trainer.recorder.create(trainer._run_info(), trainer.lock)
                trainer._save_real_batch()
        return trainer

    def _save_real_batch(self) -> None:
        """samples/real.png; a failure is recorded in the run (status failed: it can be started again)."""
        try:
            picture = real_batch_picture(self.dataset, self.model.num_classes, self.train_config.seed)
            self.run.write_picture(picture, self.run.samples_dir / "real.png")
        except BaseException as exc:
            self._record_quietly(Failed(self.step, message=str(exc)))
            self.lock.release()
            raise

    @classmethod
    def from_checkpoint(cls, run_path: str | Path, overrides: dict[str, Any] | None = None,
                        start_from: str | None = None, **options) -> Trainer:  # fmt: skip
        """Continue a run from checkpoints/last.pt (or `start_from`: 'last', 'step-N' or a file).

        `overrides` may change steps, cadences, device and the live rates. Metrics logged after that
        checkpoint (by a run that was killed) are dropped, so the records follow on from its step.
        """
        run = RunDir(Path(run_path))
        run.check_layout(writing=True)
        info = run.read_info()
        lock = RunLock(run.path, options.get("who", "gan-studio train"))
        if dist_utils.launch_rank() == 0:
            lock.acquire()  # before anything is read for training or truncated
        try:
            data, path, from_file = resume_record(run, info, start_from)
            model_config, train_config, live_changes = configs_to_continue(data, info, overrides or {}, path)
            trainer = cls(data["model_name"], model_config, train_config, run.path,
                          checkpoint=data if from_file else None, **options)  # fmt: skip
            data_fields = checked_data_record(info, trainer.dataset, train_config.data)
            trainer.set_hparams(**live_changes)  # before the first step, recorded as changes (as a live edit is)
            if trainer.step >= trainer.total_steps:  # nothing to train: the run is left as it was, no start or finish
                raise NothingToTrain(trainer.step, trainer.total_steps)
        except BaseException:
            lock.release()
            raise
        trainer.lock = lock
        trainer.resumed_from = run.relative(path) if from_file else None
        if trainer.dist.is_main:
            dropped = tuple(run.rewind(trainer.step, path if from_file else None))
            trainer.resume_notes = dropped if from_file else (STARTS_AGAIN, *dropped)
            if not from_file:
                trainer._save_real_batch()
            trainer.recorder.reopen(step=trainer.step, steps_total=trainer.total_steps,
                                    world_size=trainer.dist.world_size, device=str(trainer.device),
                                    precision=trainer.recipe.amp.name, train_config=to_dict(train_config), model_config=to_dict(model_config),
                                    **data_fields)  # fmt: skip
        return trainer

    def _run_info(self) -> dict[str, Any]:
        """What run.json records about a new run."""
        return {"model": self.model_name, "model_config": to_dict(self.model_config),
                "train_config": to_dict(self.train_config), "dataset": self.dataset.describe(),
                "data_info": self.data_info.to_dict(), "seed": self.train_config.seed,
                "world_size": self.dist.world_size, "device": str(self.device), "precision": self.recipe.amp.name,
                "steps_total": self.total_steps, "batches_per_epoch": self.stream.batches_per_epoch}  # fmt: skip

    # controls (thread-safe; applied at the next step boundary) --------------------------------
    def stop(self) -> None:
        """Stop after the current step: a checkpoint is saved and the status becomes 'stopped'."""
        self.controls.stop()

    def set_hparams(self, **changes: Any) -> None:
        """Change live settings (param(live=True): lr_g, lr_d, lr, d_steps, beta) from the next step on (validated now)."""
        check_live_change(self.model_name, self.model_config, changes)
        self.controls.change_hparams(changes)

    # the loop -----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Event]:
        try:
            yield from self._emit(Started(self.step, total_steps=self.total_steps, model=self.model_name, notes=self.resume_notes,
                                          resumed_from=self.resumed_from, world_size=self.dist.world_size))  # fmt: skip
            self.status = "running"
            yield from self._loop()
        except Exception as exc:  # a GanStudioError as it is (a full disk naming where to resume), or explained
            error = readable_failure(exc, self.step, self._checkpoint_step, self.dist.enabled, self.run.path)
            yield from self._fail(error or exc)
            if error is None:
                raise
            raise error from None
        except (KeyboardInterrupt, GeneratorExit):
            # the consumer gave up (Ctrl-C twice, or stopped iterating): the run ends here, unsaved. It is
            # "stopped" only when its last step is saved; else it reads as interrupted and resumes from last.pt
            if self.status not in ("finished", "stopped", "diverged", "failed") and self._checkpoint_step == self.step:
                self.status = "stopped"
                self._record_quietly(Finished(self.step, status="stopped", reason="interrupted"))
            raise
        finally:
            self.lock.release()

    def _loop(self) -> Iterator[Event]:
        c = self.train_config
        interval_steps, interval_seconds = 0, 0.0
        set_rng_state(self._rng_at_start)
        self.model.train()
        while self.step < self.total_steps:
            yield from self._apply_controls()
            if self.status == "diverged":  # found by a checkpoint saved while paused
                return
            if self._stop_agreed():
                break
            single = self.controls.paused and self.controls.take_single_step()
            t0 = time.perf_counter()
            self.losses.add(self.recipe.step(self.stream, self.step))
            self.step += 1
            log_now = single or self.step % c.log_every == 0 or self.step == self.total_steps
            sample_now = bool(c.sample_every) and self.step % c.sample_every == 0
            checkpoint_now = bool(c.checkpoint_every) and self.step % c.checkpoint_every == 0
            if log_now or sample_now or checkpoint_now or self.losses.due:
                self.losses.check(self.step)  # one device sync; timed as training, like the plain loop's .item()
            seconds = time.perf_counter() - t0
            interval_steps, interval_seconds = interval_steps + 1, interval_seconds + seconds
            self.elapsed += seconds
            if self.losses.found:
                yield from self._emit(self._diverged())
                return
            if log_now:
                yield from self._emit(self._metrics(interval_steps, interval_seconds))
                interval_steps, interval_seconds = 0, 0.0
            for callback in self.callbacks:
                for event in callback.on_step(self) or ():
                    yield from self._emit(event)
            if sample_now and self.dist.is_main:
                yield from self._emit(self._write_sample())
            if checkpoint_now:
                yield from self._checkpoint()
                if self.status == "diverged":
                    return
        self.losses.check(self.step)
        if self.losses.found:
            yield from self._emit(self._diverged())
            return
        yield from self._finish()

    def _apply_controls(self) -> Iterator[Event]:
        """Apply changes; block while paused (until resume, a single step or stop), saving the paused weights."""
        while self.status != "diverged":  # which a checkpoint saved while paused may find
            for changes in self.controls.take_hparams():
                yield from self._change_hparams(changes)
            if self.controls.stop_requested:
                return
            if not self.controls.paused:
                if self.status == "paused":
                    self.status = "running"
                    yield from self._emit(Resumed(self.step))
                return
            if self.status != "paused":
                self.status = "paused"
                yield from self._emit(Paused(self.step))
                continue  # a single step may already be waiting
            if self.controls.single_step_waiting:
                return  # the loop takes it and runs one logged step
            if self._checkpoint_step != self.step and self.step and not self.dist.enabled:
                yield from self._checkpoint(kept=False)  # for the Explorer: no kept copy (pauses evicted them)
                continue
            self.controls.wait(PAUSE_POLL_S)

    def _stop_agreed(self) -> bool:
        """Whether to stop now; under torchrun every rank stops at the same step."""
        return bool(dist_utils.max_over_ranks(self.dist, int(self.controls.stop_requested), self.device))

    def _change_hparams(self, changes: dict[str, Any]) -> Iterator[Event]:
        for name, value in changes.items():
            old = getattr(self.model_config, name)
            self.model_config = apply_values(self.model_config, {name: value})
            self.recipe.set_config(self.model_config)
            yield from self._emit(HParamChanged(self.step, name=name, old=old, new=getattr(self.model_config, name)))

    def _metrics(self, steps: int, seconds: float) -> Metrics:
        per_step = self.train_config.batch_size * self.dist.world_size * self.recipe.batches_per_step
        values = {
            "epoch": round(self.stream.epoch_progress, 4),
            "time": round(self.elapsed, 3),
            "samples_per_s": round(per_step * steps / seconds, 1) if seconds > 0 else 0.0,
            **self.losses.last,
        }
        for callback in self.callbacks:
            values.update(callback.extra_metrics(self))
        return Metrics(self.step, values=values)

    def generate_fixed(self) -> torch.Tensor:
        """The fixed-noise samples in eval mode (what every sample grid shows)."""
        return self.recipe.generate(self.fixed_z, self.fixed_y)

    def _write_sample(self) -> Sample:
        picture = fixed_noise_picture(self.generate_fixed(), self.model.output_range, self.dataset, self.fixed_y)
        ckpt.check_run_still_there(self.run.path, f"the sample grid of step {self.step}")
        path = save_png(picture, self.run.sample_path(self.step))
        self._sample_step = self.step
        return Sample(self.step, path=self.run.relative(path))

    # events ---------------------------------------------------------------------------------------
    def _emit(self, event: Event, depth: int = 0) -> Iterator[Event]:
        """Record the event (rank 0), let the callbacks see it (what they write, e.g. a Sample's 2D-view frame, is
        on disk before anyone hears of the event), yield it, then the events the callbacks answered with."""
        self.recorder.record(event)
        answers = [a for callback in self.callbacks for a in callback.on_event(self, event) or ()] if depth < 2 else []
        yield event
        for answer in answers:
            yield from self._emit(answer, depth + 1)

    def _record_quietly(self, event: Event) -> None:
        """Record an ending while the run is already failing (or the interpreter exits): never raises."""
        try:
            self.recorder.record(event)
        except Exception:  # noqa: BLE001 - the original error is the one to report
            pass

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
            **self.recipe.state_dict(),
            **rank_rng_states(dist_utils.gather_objects(self.dist, rng_state())),  # each process's own noise
            "fixed_z": self.fixed_z.cpu(),
            "fixed_y": self.fixed_y.cpu() if self.fixed_y is not None else None,
            "gan_studio": gan_studio.__version__,
        }

    def _checkpoint(self, kept: bool = True) -> Iterator[Event]:
        if (event := self._save_checkpoint(kept)) is not None:
            yield from self._emit(event)

    def _save_checkpoint(self, kept: bool = True) -> Checkpoint | Diverged | None:
        """Save last.pt (and, when `kept`, step-N.pt) after checking every weight and optimizer value is finite.

        A state that is not finite is never saved: the run diverges and the last verified checkpoint
        stays as it was. Every rank takes part in the decision; rank 0 writes.
        """
        state = self.checkpoint_state()
        bad = ckpt.nonfinite_entry(state)
        bad = self.losses.agree({"step": self.step, "loss": bad, "value": "non-finite"} if bad else None)
        if bad:
            self.losses.found = bad
            return self._diverged()
        if self.dist.is_main:
            keep = self.train_config.keep_checkpoints if kept else 0  # a pause's copy is last.pt alone
            ckpt.save_run_checkpoint(state, self.run.path, keep, self._checkpoint_step)
        self._checkpoint_step = self.step
        return Checkpoint(self.step, path=self.run.relative(self.run.last_checkpoint)) if self.dist.is_main else None

    def _restore(self, data: dict[str, Any]) -> None:
        ckpt.check_compatible(data, self.model_name, self.model, self.run.last_checkpoint)
        try:
            self.model.load_state_dict(data["model"])
            self.recipe.load_state_dict(data)
            self.step = int(data["step"])
            self.elapsed = float(data.get("elapsed", 0.0))
            self.stream.restore(data["stream"])
            self.fixed_z = data["fixed_z"].to(self.device)
            if data.get("fixed_y") is not None:
                self.fixed_y = data["fixed_y"].to(self.device)
            restore_process_rng(data, self.dist.rank, self.dist.world_size, self.train_config.seed)
        except (KeyError, IndexError, TypeError, ValueError, OverflowError, RuntimeError, AttributeError) as exc:
            raise CheckpointError(f"checkpoint is incomplete or inconsistent ({exc})",
                                  self.run.last_checkpoint) from None  # fmt: skip
        self._checkpoint_step = self.step

    # endings --------------------------------------------------------------------------------------
    def _finish(self) -> Iterator[Event]:
        stopped = self.controls.stop_requested and self.step < self.total_steps
        digests = dist_utils.sync_buffers_and_check(self.model, self.dist)
        if self._checkpoint_step != self.step:
            yield from self._checkpoint(kept=not stopped)  # a stop's is last.pt alone, as a pause's (s14W)
            if self.status == "diverged":
                return
        if self.dist.is_main and self._sample_step != self.step:
            yield from self._emit(self._write_sample())
        extra: dict[str, Any] = {}
        if self.dist.enabled:
            extra = {"rank_digests": tuple(digests), "ranks_in_sync": len(set(digests)) == 1}
        self.status = "stopped" if stopped else "finished"
        yield from self._emit(Finished(self.step, status=self.status, **extra))
        dist_utils.barrier(self.dist)

    def _diverged(self) -> Diverged:
        self.status = "diverged"
        return self.losses.diverged_event(self._checkpoint_step)

    def _fail(self, exc: BaseException) -> Iterator[Event]:
        message = str(exc) if isinstance(exc, GanStudioError) else f"{type(exc).__name__}: {exc}"
        self.status = "failed"
        event = Failed(self.step, message=message)
        self._record_quietly(event)
        yield event
