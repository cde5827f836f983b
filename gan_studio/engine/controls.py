"""Thread-safe control requests (pause, resume, single step, stop, hyperparameter changes).

The app's UI thread or the CLI's signal handler files requests; the training loop takes them at
step boundaries, so a request never interrupts a step halfway.
"""

from __future__ import annotations

import threading
from typing import Any


class Controls:
    """Requests waiting for the next step boundary."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stop = False
        self._single_steps = 0
        self._hparams: list[dict[str, Any]] = []

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stop_requested(self) -> bool:
        return self._stop

    @property
    def single_step_waiting(self) -> bool:
        return self._single_steps > 0

    def pause(self) -> None:
        self._update(paused=True)

    def resume(self) -> None:
        self._update(paused=False)

    def single_step(self) -> None:
        """Run one more step, then stay (or become) paused."""
        with self._cond:
            self._paused = True
            self._single_steps += 1
            self._cond.notify_all()

    def stop(self) -> None:
        self._update(stop=True)

    def change_hparams(self, changes: dict[str, Any]) -> None:
        with self._cond:
            self._hparams.append(dict(changes))
            self._cond.notify_all()

    def take_hparams(self) -> list[dict[str, Any]]:
        """The queued hyperparameter changes, oldest first (the queue is emptied)."""
        with self._cond:
            taken, self._hparams = self._hparams, []
        return taken

    def take_single_step(self) -> bool:
        """True (and one request used) when a single step was asked for."""
        with self._cond:
            if self._single_steps:
                self._single_steps -= 1
                return True
        return False

    def wait(self, timeout: float) -> None:
        """Block while paused and nothing new was requested (at most `timeout` seconds)."""
        with self._cond:
            if self._paused and not self._stop and not self._single_steps and not self._hparams:
                self._cond.wait(timeout)

    def _update(self, paused: bool | None = None, stop: bool | None = None) -> None:
        with self._cond:
            if paused is not None:
                self._paused = paused
            if stop is not None:
                self._stop = stop
            self._cond.notify_all()
