"""Reading runs from disk for the window: at once when small, in a background thread when large.

A run with a hundred thousand metric records takes seconds to read (parsing its JSON lines and
filling the series); read in the UI thread, the window froze meanwhile. `RunReader.read` hands a
small run to its callback at once and reads a large one in a `TaskThread`, calling back from the UI
thread when it is done. A newer reading for the same purpose (opening another run while one is
read) makes the older one moot: it is told to stop and its result is dropped. `stop_all` ends every
reading before the window closes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject

from gan_studio.errors import GanStudioError
from gan_studio.state.run_state import RunState
from gan_studio.store.rundir import RunDir
from gan_studio.ui.workers import TaskThread

BACKGROUND_BYTES = 4 * 2**20  # metrics files larger than this (about 20,000 records, ~0.5 s) are read in the background


def metrics_bytes(run_path: Path) -> int:
    """The size of a run's metrics file (0 when it has none or it cannot be seen)."""
    try:
        return os.stat(RunDir(run_path).metrics_file).st_size
    except (OSError, ValueError):
        return 0


class RunReader(QObject):
    """Reads RunStates for the window without blocking it; one pending reading per purpose."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pending: dict[str, TaskThread] = {}
        self._finishing: set[TaskThread] = set()  # stopped readings still running: kept alive until they end

    def reading(self, purpose: str) -> bool:
        return purpose in self._pending

    def read(self, run_path: Path, purpose: str, done: Callable[[RunState], None], failed: Callable[[str], None],
             wait: bool = False) -> bool:  # fmt: skip
        """Read `run_path` and call `done(state)` or `failed(message)`; True when it went to the background
        (the callback comes later), False when the callback has been called already."""
        self.stop(purpose)
        if wait or metrics_bytes(run_path) <= BACKGROUND_BYTES:
            try:
                state = RunState.load(run_path)
            except GanStudioError as exc:
                failed(str(exc))
            else:
                done(state)
            return False
        thread = TaskThread(lambda report: RunState.load(run_path, stop=thread.cancel_event), self)
        thread.succeeded.connect(lambda state: self._settle(purpose, thread, lambda: done(state)))
        thread.failed.connect(lambda message: self._settle(purpose, thread, lambda: failed(message)))
        thread.finished.connect(lambda: self._forget(thread))
        self._pending[purpose] = thread
        thread.start()
        return True

    def stop(self, purpose: str) -> None:
        """Drop the pending reading for `purpose` (its thread stops at its next few thousand records)."""
        thread = self._pending.pop(purpose, None)
        if thread is not None:
            thread.cancel()
            self._finishing.add(thread)

    def stop_all(self, timeout_s: float = 2.0) -> None:
        """Stop every reading and wait for their threads (a QThread destroyed while running aborts the app)."""
        for purpose in list(self._pending):
            self.stop(purpose)
        for thread in list(self._finishing):
            thread.wait(int(timeout_s * 1000))

    def _settle(self, purpose: str, thread: TaskThread, callback: Callable[[], None]) -> None:
        if self._pending.get(purpose) is thread:
            del self._pending[purpose]
            callback()

    def _forget(self, thread: TaskThread) -> None:
        self._finishing.discard(thread)
        if thread not in self._pending.values():
            thread.deleteLater()
