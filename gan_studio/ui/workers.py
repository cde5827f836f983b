"""Background threads of the app: training (the CLI's Trainer in a QThread) and one-off tasks.

Only the UI thread touches widgets: workers report through Qt signals, which are queued to the
UI thread. `TrainingThread` builds the Trainer in the background too (loading a dataset can take a
while) and forwards its events. `TaskThread` runs one function (download,
export, ...) and returns its result, its progress or its error message as signals.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal

from gan_studio.errors import GanStudioError
from gan_studio.events import Failed


def describe_error(exc: BaseException) -> str:
    """A one-line message for a person: bad input as is, anything else with its type."""
    if isinstance(exc, GanStudioError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller batch size or model)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class TrainingThread(QThread):
    """Iterates a Trainer in the background and emits every event it yields on `event`.

    `make_trainer` is called in the thread (Trainer.new or Trainer.from_checkpoint, with the
    session's Controls, through which pause, stop and live edits reach the trainer). Construction
    errors and exceptions during training come back on `error` with a readable message; a failure
    the trainer reports itself arrives as a Failed event first.
    """

    event = Signal(object)  # the trainer's typed events (gan_studio.events)
    error = Signal(str)  # the training could not start or crashed

    def __init__(self, make_trainer: Callable[[], Any], parent=None):
        super().__init__(parent)
        self._make_trainer = make_trainer
        self.trainer = None
        self.failure: str | None = None
        self.failed_setting: str | None = None  # the config field a refused start was about (e.g. batch_size)

    @property
    def run_path(self) -> Path | None:
        return self.trainer.run.path if self.trainer is not None else None

    def run(self) -> None:  # the worker thread
        try:
            self.trainer = self._make_trainer()
        except Exception as exc:  # noqa: BLE001 - every construction error is shown to the user
            self._report(exc)
            return
        reported_failure = False
        try:
            for event in self.trainer:
                reported_failure = reported_failure or isinstance(event, Failed)
                self.event.emit(event)
        except Exception as exc:  # noqa: BLE001 - never let a training crash take the app down
            if reported_failure:  # the window says it; a terminal the app was started from gets one line, as the CLI
                self.failure = describe_error(exc)
                if isinstance(exc, GanStudioError):
                    print(f"gan-studio: training failed: {self.failure}", file=sys.stderr)
                else:
                    traceback.print_exc(file=sys.stderr)  # a bug: its traceback is what a report needs
            else:
                self._report(exc)

    def _report(self, exc: BaseException) -> None:
        self.failure = describe_error(exc)
        self.failed_setting = getattr(exc, "setting", None)
        if not isinstance(exc, GanStudioError):
            traceback.print_exc(file=sys.stderr)
        self.error.emit(self.failure)


class TaskThread(QThread):
    """Runs `function(report)` in the background: `report(done, total)` emits `progress`.

    The result arrives on `succeeded`, a failure as a readable message on `failed`. A
    `threading.Event` in `cancel_event` lets the function stop early when the user cancels.
    """

    progress = Signal(object, object)  # (done, total or 0 when unknown)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, function: Callable[..., Any], parent=None):
        super().__init__(parent)
        self._function = function
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:  # the worker thread
        try:
            result = self._function(self._report_progress)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never raised across threads
            if not isinstance(exc, GanStudioError):
                traceback.print_exc(file=sys.stderr)
            self.failed.emit(describe_error(exc))
            return
        self.succeeded.emit(result)

    def _report_progress(self, done: int, total: int) -> None:
        self.progress.emit(int(done), int(total))
