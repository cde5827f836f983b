"""The app's current run: trained in the app (TrainingThread) or opened from disk (RunFollower).

`RunSession` owns the worker or follower of the one run the window shows, turns their output
into `run_changed` / `update` / `state_changed` signals for the panels, and readable `message`s
for the window (errors never escape as exceptions). States: idle, starting, running, paused,
stopping, following.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from gan_studio.engine.rundir import RunDir
from gan_studio.engine.trainer import Trainer
from gan_studio.errors import GanStudioError, RunError
from gan_studio.ui.follow import RunFollower
from gan_studio.ui.workers import TrainingThread

ACTIVE_STATES = ("starting", "running", "paused", "stopping")
STOP_TIMEOUT_S = 2.0


class RunSession(QObject):
    """Starts, controls, follows and closes the current run."""

    run_changed = Signal(object)  # Path or None
    update = Signal(object)  # every update dict of the current run
    state_changed = Signal(str)
    message = Signal(str, str)  # (level: "info" | "warning" | "error", text)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_path: Path | None = None
        self.state = "idle"
        self.total_steps = 0
        self.worker: TrainingThread | None = None
        self.follower: RunFollower | None = None

    # starting -------------------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        return self.state in ACTIVE_STATES

    def start_new(self, model_name: str, model_config, train_config, workspace: str | Path, dataset=None) -> None:
        """Train a new run in a new folder of `workspace` (same Trainer and run directory as the CLI).

        `dataset`: an already loaded Dataset to train on (benchmarks); by default the trainer loads it.
        """
        self._launch(lambda: Trainer.new(model_name, model_config, train_config, workspace=workspace, dataset=dataset))

    def resume(self, run_path: str | Path, overrides: dict[str, Any] | None = None) -> None:
        """Continue a stopped run from its last checkpoint."""
        run_path = Path(run_path)
        run = RunDir(run_path)
        if not run.last_checkpoint.exists():
            self._say("error", f"{run_path.name} has no checkpoint to resume from")
            return
        self._launch(lambda: Trainer.resume(run_path, overrides))

    def _launch(self, make_trainer) -> None:
        if self.training:
            self._say("warning", "a training is already running: stop it first")
            return
        self._close_follower()
        worker = TrainingThread(make_trainer, self)
        worker.update.connect(self._on_worker_update)
        worker.error.connect(self._on_worker_error)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        self._set_state("starting")
        worker.start()

    # opening ---------------------------------------------------------------------------------------
    def open_run(self, run_path: str | Path) -> bool:
        """Show a run from disk and follow it live if another process still writes it."""
        run_path = Path(run_path)
        if self.training:
            self._say("warning", "stop the current training before opening another run")
            return False
        try:
            info = RunDir(run_path).read_info()
        except RunError as exc:
            self._say("error", str(exc))
            return False
        self._close_follower()
        follower = RunFollower(run_path, self)
        follower.update.connect(self._on_follower_update)
        self.follower = follower
        self.total_steps = int(info.get("steps_total") or 0)
        follower.start()  # before the panels read the run, so nothing written meanwhile is lost
        self._set_run(run_path)
        status = str(info.get("status", "?"))
        self._set_state("following")
        self._say("info", f"opened {run_path.name} ({status})")
        return True

    def close_run(self) -> None:
        if self.training:
            self._say("warning", "stop the current training before closing its run")
            return
        self._close_follower()
        self._set_state("idle")
        self._set_run(None)

    def _close_follower(self) -> None:
        if self.follower is not None:
            self.follower.stop()
            self.follower.deleteLater()
            self.follower = None

    # controls ------------------------------------------------------------------------------------------
    def pause(self) -> None:
        if self.worker is not None and self.state in ("starting", "running"):
            self.worker.pause()

    def resume_training(self) -> None:
        if self.worker is not None and self.state in ("starting", "paused"):
            self.worker.resume_training()

    def single_step(self) -> None:
        if self.worker is not None and self.state == "paused":
            self.worker.single_step()

    def stop(self) -> None:
        if self.worker is not None and self.training:
            self.worker.stop()
            self._set_state("stopping")

    def set_hparams(self, **changes: Any) -> bool:
        """Change live hyperparameters of the running training; problems become messages."""
        if self.worker is None or not self.training:
            return False
        try:
            self.worker.set_hparams(**changes)
        except GanStudioError as exc:
            self._say("error", str(exc))
            return False
        return True

    def shutdown(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop training (a checkpoint is written, so the run can be resumed); True when it ended in time."""
        self._close_follower()
        worker = self.worker
        if worker is None or not worker.isRunning():
            return True
        worker.stop()
        return worker.wait(int(timeout_s * 1000))

    # worker and follower output --------------------------------------------------------------------
    def _on_worker_update(self, update: dict) -> None:
        kind = update.get("kind")
        if kind == "started":
            self.total_steps = int(update.get("total_steps") or 0)
            self._set_run(Path(update["run"]))
            if self.state == "starting":
                self._set_state("running")
        elif kind == "paused":
            self._set_state("paused")
        elif kind == "resumed":
            self._set_state("running")
        self.update.emit(update)
        self._announce(update)

    def _on_follower_update(self, update: dict) -> None:
        if update.get("kind") == "started" and update.get("total_steps"):
            self.total_steps = int(update["total_steps"])
        self.update.emit(update)

    def _announce(self, update: dict) -> None:
        kind = update.get("kind")
        if kind == "finished":
            self._say("info", f"training {update.get('status', 'finished')} at step {update.get('step')}")
        elif kind == "diverged":
            self._say("error", f"training diverged: {update.get('message', 'a loss became NaN or inf')}")
        elif kind == "failed":
            self._say("error", f"training failed: {update.get('message', 'unknown error')}")
        elif kind == "event" and update.get("type") == "hparam":
            self._say("info", f"{update['name']}: {update['old']:g} -> {update['new']:g} from step {update['step']}")

    def _on_worker_error(self, message: str) -> None:
        self._say("error", f"training could not run: {message}")

    def _on_worker_finished(self) -> None:
        worker = self.sender() if isinstance(self.sender(), TrainingThread) else self.worker
        if worker is not None and worker is self.worker:
            self.worker = None
            worker.deleteLater()
        self._set_state("idle")
        if self.run_path is not None and RunDir(self.run_path).exists():
            follower = RunFollower(self.run_path, self)  # a later headless resume shows up too
            follower.update.connect(self._on_follower_update)
            self.follower = follower
            follower.start()

    # helpers ---------------------------------------------------------------------------------------------
    def _set_run(self, run_path: Path | None) -> None:
        self.run_path = run_path
        self.run_changed.emit(run_path)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def _say(self, level: str, text: str) -> None:
        self.message.emit(level, text)
