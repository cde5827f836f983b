"""The app's current run: trained in the app (a TrainingThread) or opened from disk and followed live.

`RunSession` owns the one RunState the window shows and feeds it: events from the training thread
(queued to the UI thread through a Qt signal) or new events of the run folder (polled with a timer,
`RunTail`). Panels subscribe to the RunState; run controls and live edits call the session's
methods directly, which file requests with the trainer's thread-safe Controls. Problems come back
as readable `message`s (never as exceptions). States: idle, starting, running, paused, stopping,
following.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from gan_studio.data.left_out import left_out_lines
from gan_studio.engine.controls import Controls
from gan_studio.engine.trainer import Trainer, check_live_change
from gan_studio.errors import GanStudioError
from gan_studio.evaluate.callbacks import default_callbacks
from gan_studio.events import (
    ACTIVE_STATUSES,
    Advice,
    Diverged,
    Event,
    Failed,
    Finished,
    HParamChanged,
    Paused,
    Resumed,
    Started,
)
from gan_studio.models import MODELS
from gan_studio.state.follow import RunTail
from gan_studio.state.run_state import RunState
from gan_studio.store.lock import abandoned_here, holder_of
from gan_studio.ui.run_reader import RunReader, metrics_bytes
from gan_studio.ui.workers import TrainingThread

ACTIVE_STATES = ("starting", "running", "paused", "stopping")
STOP_TIMEOUT_S = 2.0
FOLLOW_POLL_MS = 500  # how often a followed run's folder is checked for new events
LIVENESS_POLLS = 6  # every this many polls, whether the followed run's trainer is still there
APP_WRITER = "the GAN Studio app"
TRAINING_RUNS = "a training is already running: stop it first"  # why a start or resume is refused now


class RunSession(QObject):
    """Starts, controls, follows and closes the current run."""

    run_changed = Signal(object)  # RunState or None
    state_changed = Signal(str)
    message = Signal(str, str)  # (level: "info" | "warning" | "error", text)
    refused = Signal(str)  # a request refused because a training runs ("stop it first"): moot once it stops
    setting_refused = Signal(str, str)  # (config field, why): a start the trainer refused because of that setting
    data_progress = Signal(object, object)  # (done, total or 0): downloading or preparing the data, before step 0
    run_opened = Signal(object)  # RunState: a run read from disk is on view (open_run, at once or later)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run: RunState | None = None
        self.state = "idle"
        self.controls: Controls | None = None  # of the training running in the app
        self.worker: TrainingThread | None = None
        self._data_cancel: threading.Event | None = None  # set by Stop while the data is still being prepared
        self._viewed_before: tuple[RunState, RunTail | None, str] | None = None  # (run, tail, state) on view before
        # a new run's start: back on view if no run comes of it
        self._model_name = ""
        self._model_config = None
        self._tail: RunTail | None = None
        self._polls = 0  # of the followed run's folder
        self._follow_timer = QTimer(self)
        self._follow_timer.setInterval(FOLLOW_POLL_MS)
        self._follow_timer.timeout.connect(self.poll)
        self.reader = RunReader(self)  # reads runs from disk, a large one in the background

    @property
    def run_path(self) -> Path | None:
        return self.run.path if self.run is not None else None

    @property
    def following(self) -> bool:
        """Whether the current run's folder is being watched for new events (written by another process)."""
        return self._tail is not None

    @property
    def training(self) -> bool:
        return self.state in ACTIVE_STATES

    # starting -------------------------------------------------------------------------------------
    def start_new(self, model_name: str, model_config, train_config, workspace: str | Path, dataset=None) -> None:
        """Train a new run in a new folder of `workspace` (same Trainer and run directory as the CLI).

        `dataset`: an already loaded Dataset to train on (benchmarks); by default the trainer loads it.
        """
        self._model_name, self._model_config = model_name, model_config
        self._launch(lambda options: Trainer.new(model_name, model_config, train_config, workspace=workspace,
                                                 dataset=dataset, **options), new_run=True)  # fmt: skip

    def continue_run(self, run_path: str | Path, overrides: dict[str, Any] | None = None,
                     start_from: str | None = None) -> None:  # fmt: skip
        """Continue a stopped run from its last checkpoint (or a kept one: `start_from`)."""
        run_path = Path(run_path)
        holder = holder_of(run_path)
        if holder:
            self._say("error", f"{run_path.name} is being trained by {holder}: it cannot be resumed here")
            return
        self._launch(lambda options: Trainer.from_checkpoint(run_path, overrides, start_from=start_from, **options))

    def _launch(self, make_trainer, new_run: bool = False) -> None:
        if self.training:
            self.refused.emit(TRAINING_RUNS)
            return
        if new_run and (self.run is not None or self.following):
            self._viewed_before = (self.run, self._tail, self.state) if self.run is not None else None
            self.close_run()  # the run on view is not the one starting: its curves, grid and advice go (review s13V)
        if self.reader.reading("open"):  # the training's run is the one on view now
            self.reader.stop("open")
            self._set_run(None)  # (the Plots said they were reading it)
        self._stop_following()
        controls, cancel = Controls(), threading.Event()
        options = {"controls": controls, "callbacks": default_callbacks(), "who": APP_WRITER,
                   "data_progress": self._data_progress_reporter(), "data_cancel": cancel}  # fmt: skip
        worker = TrainingThread(lambda: make_trainer(options), self)
        worker.event.connect(self._on_training_event)
        worker.error.connect(self._on_worker_error)
        worker.finished.connect(self._on_worker_finished)
        self.worker, self.controls, self._data_cancel = worker, controls, cancel
        self._set_state("starting")
        worker.start()

    # opening ---------------------------------------------------------------------------------------
    def open_run(self, run_path: str | Path, wait: bool = False) -> bool:
        """Show a run from disk and follow it live if another process still writes it. A run with a large
        metrics file is read in the background (unless `wait`): the window shows no run meanwhile, and
        `run_opened` says when it is there. False when it cannot be opened (the message says why)."""
        run_path = Path(run_path)
        if self.training:
            self.refused.emit("stop the current training before opening another run")
            return False
        tail = RunTail(run_path)
        tail.skip_existing()  # before loading, so nothing written meanwhile is lost (duplicates are ignored)
        outcome = []

        def opened(state: RunState) -> None:
            outcome.append(True)
            self._follow(state, tail)
            size = metrics_bytes(run_path)
            if size and not state.series:  # a metrics file of garbage (not JSON lines) showed empty plots, unsaid
                self._say("warning", f"opened {run_path.name} ({state.status}), but its metrics.jsonl ({size:,} bytes) "
                          "holds no readable record: the plots stay empty")  # fmt: skip
            else:
                self._say("info", f"opened {run_path.name} ({state.status})")
            self.run_opened.emit(state)

        def failed(message: str) -> None:
            outcome.append(False)
            self._say("error", message)

        if self.reader.read(run_path, "open", opened, failed, wait=wait):
            self._stop_following()
            self._set_state("idle")
            self._set_run(None)
            self._say("info", f"reading {run_path.name} ({metrics_bytes(run_path) / 2**20:,.0f} MB of metrics)…")
            return True
        return outcome == [True]

    def close_run(self) -> None:
        if self.training:
            self.refused.emit("stop the current training before closing its run")
            return
        self.reader.stop("open")
        self._stop_following()
        self._set_state("idle")
        self._set_run(None)

    def _follow(self, state: RunState, tail: RunTail) -> None:
        self._tail = tail
        self._set_run(state)
        self._set_state("following")
        self._follow_timer.start()

    def _stop_following(self) -> None:
        self._follow_timer.stop()
        self._tail = None

    def poll(self) -> None:
        """Apply the followed run's new events (the timer calls this; public for tests)."""
        if self._tail is None or self.run is None:
            return
        self._apply_new_events()
        self._polls += 1
        if self._polls % LIVENESS_POLLS == 0:
            self.check_followed_trainer()

    def _apply_new_events(self) -> None:
        for event in self._tail.read_new():
            self.run.apply(event)

    def _trainer_gone(self, run: RunState) -> bool:
        if not abandoned_here(run.path):
            return False
        self._apply_new_events()  # a trainer records its end before it lets go of the run: read on
        return run.status in ACTIVE_STATUSES

    def check_followed_trainer(self) -> None:
        """A followed run whose folder went, or whose trainer died without recording its end (kill -9, a
        lost node), is said so once, and no longer followed: its view had frozen at its last step with an
        ETA that never came."""
        run = self.run
        if run is None or run.path is None or self._tail is None:
            return
        if not run.path.is_dir():
            self._stop_following()
            self._set_state("idle")
            when = " while it trained" if run.status in ACTIVE_STATUSES else ""
            self._say("warning", f"{run.name} was moved or deleted{when}: what is shown is what was read before; "
                      "open it where it is now")  # fmt: skip
        elif run.status in ACTIVE_STATUSES and self._trainer_gone(run):
            run.status = "interrupted"
            self._stop_following()
            self._set_state("idle")
            self._say("warning", f"the training of {run.name} stopped at step {run.step:,} without finishing (its "
                      "process is gone): Resume continues it from its last checkpoint")  # fmt: skip

    # controls ------------------------------------------------------------------------------------------
    def pause(self) -> None:
        if self.controls is not None and self.state in ("starting", "running"):
            self.controls.pause()

    def resume_training(self) -> None:
        """Un-pause the training in the app."""
        if self.controls is not None and self.state in ("starting", "paused"):
            self.controls.resume()

    def toggle_pause(self) -> None:
        if self.state == "paused":
            self.resume_training()
        else:
            self.pause()

    def single_step(self) -> None:
        if self.controls is not None and self.state == "paused":
            self.controls.single_step()

    def stop(self) -> None:
        """Stop the training after this step (saving a checkpoint); while the data is prepared, cancel that."""
        if self.controls is not None and self.training:
            if self.state == "starting" and self._data_cancel is not None:
                self._data_cancel.set()  # no run folder exists yet: the preparation stops at its next chunk
            self.controls.stop()
            self._set_state("stopping")

    def _data_progress_reporter(self):
        """progress(done, total) for the data loaders (called in the training thread): at most ~10 signals a second."""
        last = [0.0]

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.1 or (total and done >= total):
                last[0] = now
                self.data_progress.emit(done, total)

        return report

    def set_hparams(self, **changes: Any) -> bool:
        """Change live hyperparameters of the running training; problems become messages."""
        if self.controls is None or not self.training:
            return False
        try:
            check_live_change(self._model_name or (self.run.model_name if self.run else ""),
                              self._current_model_config(), changes)  # fmt: skip
        except GanStudioError as exc:
            self._say("error", str(exc))
            return False
        self.controls.change_hparams(changes)
        return True

    def _current_model_config(self):
        trainer = self.worker.trainer if self.worker is not None else None
        return trainer.model_config if trainer is not None else self._model_config

    def shutdown(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop training (a checkpoint is written, so the run can be resumed); True when it ended in time."""
        self.reader.stop_all()
        self._stop_following()
        worker = self.worker
        if worker is None or not worker.isRunning():
            return True
        if self.controls is not None:
            self.controls.stop()
        return worker.wait(int(timeout_s * 1000))

    # the training thread's output ---------------------------------------------------------------------
    def _on_training_event(self, event: Event) -> None:
        if isinstance(event, Started):
            path = self.worker.run_path if self.worker is not None else None
            if path is not None and (self.run is None or self.run.path != path):
                try:
                    state = RunState.load(path)
                except GanStudioError as exc:
                    self._say("error", str(exc))
                else:
                    state.trained_here = True
                    self._set_run(state)
            elif self.run is not None:
                self.run.trained_here = True
            if self.state == "starting":
                self._set_state("running")
        elif isinstance(event, Paused):
            self._set_state("paused")
        elif isinstance(event, Resumed):
            self._set_state("running")
        if self.run is not None:
            self.run.apply(event)
        self._announce(event)

    def _announce(self, event: Event) -> None:
        if isinstance(event, Started) and self.run is not None:
            uses_classes = getattr(MODELS.get(str(self.run.info.get("model"))), "conditional", True)
            for line in (*event.notes, *left_out_lines(self.run.info.get("dataset"), uses_classes)):  # a resume's
                self._say("info", line)  # repairs; bad files, other formats
        elif isinstance(event, Finished):
            self._say("info", f"training {event.status} at step {event.step}")
        elif isinstance(event, Diverged):
            self._say("error", f"training diverged: {event.message}")
        elif isinstance(event, Failed):
            self._say("error", f"training failed: {event.message}")
        elif isinstance(event, Advice):
            headline = event.message.split(":", 1)[0]  # the advisor starts each message with its condition
            self._say("info", f"advice at step {event.step}: {headline} (details under Run controls → Health)")
        elif isinstance(event, HParamChanged):
            self._say("info", f"{event.name}: {event.old:g} → {event.new:g} from step {event.step:,}")

    def _on_worker_error(self, message: str) -> None:
        if self._data_cancel is not None and self._data_cancel.is_set() and "cancelled" in message:
            self._say("info", "stopped while preparing the data: no run was created")
            return
        self._say("error", f"training could not run: {message}")
        setting = self.worker.failed_setting if self.worker is not None else None
        if setting:
            self.setting_refused.emit(setting, message)

    def _on_worker_finished(self) -> None:
        worker = self.sender() if isinstance(self.sender(), TrainingThread) else self.worker
        if worker is not None and worker is self.worker:
            self.worker, self.controls, self._data_cancel = None, None, None
            worker.deleteLater()
        viewed_before, self._viewed_before = self._viewed_before, None
        if viewed_before is not None and self.run is None and getattr(worker, "trainer", None) is None:
            self._view_again(*viewed_before)  # no run came of the start (refused, cancelled): the last one is back
            return
        self._set_state("idle")
        if self.run is not None and self.run.path is not None:  # a later headless resume shows up too
            self._tail = RunTail(self.run.path)
            self._tail.skip_existing()
            self._follow_timer.start()

    def _view_again(self, run: RunState, tail: RunTail | None, state: str) -> None:
        """The run on view before a start that made no run, as it was (its curves, grid; followed again, reading
        what was written meanwhile): a refused start closed it ("No model open", review s16Z #7)."""
        self._set_run(run)
        if tail is not None:
            self._tail = tail
            self._apply_new_events()
            self._follow_timer.start()
        self._set_state(state if state in ("idle", "following") else "idle")

    # helpers ---------------------------------------------------------------------------------------------
    def _set_run(self, state: RunState | None) -> None:
        self.run = state
        self.run_changed.emit(state)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def _say(self, level: str, text: str) -> None:
        self.message.emit(level, text)
